"""Boilerplate removal against the generator's ground truth: every line's label, every field."""

from __future__ import annotations

from datetime import datetime

from huunghi.corpus import read_truth
from tasks.clean import parse_page


def test_every_line_labelled_as_generated(small_corpus):
    truth = read_truth(small_corpus)
    assert len(truth) == 120
    mismatches = []
    for page in truth:
        parsed = parse_page((small_corpus / page["file"]).read_text(encoding="utf-8"))
        assert len(parsed.labels) == len(page["labels"])
        mismatches += [
            (page["file"], i + 1, want, got)
            for i, (want, got) in enumerate(zip(page["labels"], parsed.labels, strict=True))
            if want != got
        ]
    assert mismatches == []


def test_article_fields_match_truth(small_corpus):
    for page in read_truth(small_corpus):
        parsed = parse_page((small_corpus / page["file"]).read_text(encoding="utf-8"))
        assert parsed.title == page["title"]
        assert parsed.published_at == datetime.fromisoformat(page["published_at"])
        assert parsed.author == page["author"]
        assert parsed.lead == page["lead"]
        assert [t for k, t in parsed.paragraphs if k == "body"] == page["body"]
        assert [t for k, t in parsed.paragraphs if k == "caption"] == page["captions"]
        assert [[s.block, s.title, s.summary] for s in parsed.stories] == page["stories"]


def test_generator_is_deterministic_and_prefix_stable(tmp_path):
    from huunghi.corpus import generate

    a = read_truth(generate(tmp_path / "a", 30, seed=5))
    b = read_truth(generate(tmp_path / "b", 60, seed=5))
    assert a == b[:30]
    assert any("same_as" in page for page in b), "the corpus carries exact duplicates for dedup"
