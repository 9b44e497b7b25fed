"""Deduplication: one row per story however often it repeats, and repeated articles marked.

Stories: sidebar and teaser stories repeat within a page and across pages; each becomes one `stories`
row and every sighting a `story_appearances` row. Titles are compared in key form (case, punctuation,
quotes, spacing ignored); titles that differ by one letter in one long word ("Bolikhamxay"/"Bolikhamxai") or by a
missing space are one story, while titles that differ in a number ("Giá lúa gạo ngày (11/5)" and
"(5/5)") stay apart. `story_aliases` remembers every key seen, so later runs map to the same story.

Articles: the same text saved twice (equal content hash) is kept once; the same article republished
with other furniture and small edits is found with MinHash LSH (datasketch) on word shingles. The copy
is marked `duplicate_of` and keeps no paragraphs, mentions or appearances of its own.

Every choice is made on sorted keys, so input order and batching never change the outcome; what is
already in the warehouse stays canonical.
"""
