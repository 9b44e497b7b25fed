-- The warehouse's rules. Each rule counts the rows that break it, twice:
--   `-- name: rule`  over the warehouse as a whole: `huunghi doctor` (warehouse/doctor.py) runs these;
--   `-- run: rule`   over the rows one run wrote or removed and the rows that refer to them: the load runs these
--                    inside its transaction, before COMMIT (warehouse/write.py: audit_table; write, audit, publish),
--                    so the audit costs what the run's rows cost, whatever the warehouse holds.
-- A run's keys are temp tables the load fills before its audit (write.py: run_keys): run_articles (the articles
-- it wrote, rewrote or deleted, and the article ids of any row it inserted into a per-article table), run_article_rows
-- (the rows of `articles` with those ids, article_id and duplicate_of: one scan of the key column), run_paragraphs
-- (their paragraphs' rowid, article_id and kind: one scan of the key column for the rules that read paragraphs),
-- run_stories, run_sources (pages and quarantine), run_urls (frontier), run_ids (runs). A rule a run can break through rows it
-- did not write names those too (a duplicate pointing at an article the run rewrote, a page of a deleted article).
-- Both counts are checked by expectations/warehouse.json, which requires every one to be 0: a run whose rows
-- disagree with the warehouse is rolled back and the warehouse keeps its snapshot.
-- The name is the column the suite checks; both queries of a rule have it.
-- A run query checks a CTE of the run's rows against the warehouse with an ANTI JOIN on a MATERIALIZED CTE, not a
-- correlated NOT EXISTS over it: inside the load's transaction DuckDB planned that as a join of the CTE with itself
-- (pages_without_their_article: +2.5 GB and 4 s at 5,000 pages, killed by the OOM killer at 20,000).

-- name: articles_duplicate_ids
SELECT count(*) - count(DISTINCT article_id) FROM articles;
-- run: articles_duplicate_ids
SELECT count(*) - count(DISTINCT article_id) FROM run_article_rows;

-- name: canonical_articles_without_body
SELECT count(*) FROM articles a WHERE a.duplicate_of IS NULL
   AND NOT EXISTS (SELECT 1 FROM paragraphs p WHERE p.article_id = a.article_id AND p.kind = 'body');
-- run: canonical_articles_without_body
SELECT count(*) FROM run_article_rows a WHERE a.duplicate_of IS NULL
   AND a.article_id NOT IN (SELECT article_id FROM run_paragraphs WHERE kind = 'body');

-- name: duplicates_of_missing_articles
SELECT count(*) FROM articles a WHERE a.duplicate_of IS NOT NULL
   AND NOT EXISTS (SELECT 1 FROM articles c WHERE c.article_id = a.duplicate_of AND c.duplicate_of IS NULL);
-- run: duplicates_of_missing_articles
WITH d AS MATERIALIZED (SELECT duplicate_of FROM run_article_rows WHERE duplicate_of IS NOT NULL
                        UNION ALL SELECT duplicate_of FROM articles WHERE duplicate_of IN (SELECT article_id FROM run_articles)
                                             AND article_id NOT IN (SELECT article_id FROM run_articles))
SELECT count(*) FROM d ANTI JOIN (SELECT article_id FROM articles WHERE duplicate_of IS NULL
                                    AND article_id IN (SELECT duplicate_of FROM d)) c ON c.article_id = d.duplicate_of;

-- name: paragraphs_without_article
SELECT count(*) FROM paragraphs p WHERE NOT EXISTS (SELECT 1 FROM articles a WHERE a.article_id = p.article_id);
-- run: paragraphs_without_article
SELECT count(*) FROM run_paragraphs p
 WHERE p.article_id NOT IN (SELECT article_id FROM run_article_rows);

-- name: mentions_off_their_text
SELECT count(*) FROM mentions m LEFT JOIN paragraphs p
    ON p.article_id = m.article_id AND p.position = m.paragraph_position
 WHERE p.text IS NULL OR substring(p.text, m.start_char + 1, m.end_char - m.start_char) <> m.surface;
-- run: mentions_off_their_text
-- (the run's paragraphs by rowid, found on the key column first: filtered by article_id alone, the scan read the
-- text of every stored paragraph, +200 MB at 10^5 articles)
SELECT count(*) FROM (SELECT * FROM mentions WHERE article_id IN (SELECT article_id FROM run_articles)) m
  LEFT JOIN (SELECT * FROM paragraphs WHERE rowid IN (SELECT r FROM run_paragraphs)) p
    ON p.article_id = m.article_id AND p.position = m.paragraph_position
 WHERE p.text IS NULL OR substring(p.text, m.start_char + 1, m.end_char - m.start_char) <> m.surface;

-- name: mentions_of_unknown_entities
SELECT count(*) FROM mentions m WHERE NOT EXISTS (SELECT 1 FROM entities e WHERE e.entity_id = m.entity_id);
-- run: mentions_of_unknown_entities
WITH m AS MATERIALIZED (SELECT entity_id FROM mentions WHERE article_id IN (SELECT article_id FROM run_articles))
SELECT count(*) FROM m ANTI JOIN (SELECT entity_id FROM entities WHERE entity_id IN (SELECT entity_id FROM m)) e
    ON e.entity_id = m.entity_id;

-- name: appearances_without_story
SELECT count(*) FROM story_appearances s WHERE NOT EXISTS (SELECT 1 FROM stories t WHERE t.story_id = s.story_id);
-- run: appearances_without_story
WITH s AS MATERIALIZED (SELECT story_id FROM story_appearances WHERE article_id IN (SELECT article_id FROM run_articles))
SELECT count(*) FROM s ANTI JOIN (SELECT story_id FROM stories WHERE story_id IN (SELECT story_id FROM s)) t
    ON t.story_id = s.story_id;

-- name: appearances_without_article
SELECT count(*) FROM story_appearances s WHERE NOT EXISTS (SELECT 1 FROM articles a WHERE a.article_id = s.article_id);
-- run: appearances_without_article
SELECT count(*) FROM story_appearances s WHERE s.article_id IN (SELECT article_id FROM run_articles)
   AND s.article_id NOT IN (SELECT article_id FROM run_article_rows);

-- name: stories_duplicate_ids
SELECT count(*) - count(DISTINCT story_id) FROM stories;
-- run: stories_duplicate_ids
SELECT count(*) - count(DISTINCT story_id) FROM stories
 WHERE story_id IN (SELECT story_id FROM run_stories);

-- name: enrichment_without_article
SELECT (SELECT count(*) FROM people x WHERE NOT EXISTS (SELECT 1 FROM articles a WHERE a.article_id = x.article_id))
     + (SELECT count(*) FROM partnerships x WHERE NOT EXISTS (SELECT 1 FROM articles a WHERE a.article_id = x.article_id))
     + (SELECT count(*) FROM amounts x WHERE NOT EXISTS (SELECT 1 FROM articles a WHERE a.article_id = x.article_id));
-- run: enrichment_without_article
SELECT (SELECT count(*) FROM people x WHERE x.article_id IN (SELECT article_id FROM run_articles)
           AND x.article_id NOT IN (SELECT article_id FROM run_article_rows))
     + (SELECT count(*) FROM partnerships x WHERE x.article_id IN (SELECT article_id FROM run_articles)
           AND x.article_id NOT IN (SELECT article_id FROM run_article_rows))
     + (SELECT count(*) FROM amounts x WHERE x.article_id IN (SELECT article_id FROM run_articles)
           AND x.article_id NOT IN (SELECT article_id FROM run_article_rows));

-- name: partnerships_not_vietnam_laos
SELECT count(*) FROM partnerships WHERE vn_entity_id NOT LIKE 'VN-%' OR la_entity_id NOT LIKE 'LA-%';
-- run: partnerships_not_vietnam_laos
SELECT count(*) FROM partnerships WHERE article_id IN (SELECT article_id FROM run_articles)
   AND (vn_entity_id NOT LIKE 'VN-%' OR la_entity_id NOT LIKE 'LA-%');

-- name: pages_duplicate_sources
SELECT count(*) - count(DISTINCT source_uri) FROM pages;
-- run: pages_duplicate_sources
SELECT count(*) - count(DISTINCT source_uri) FROM pages
 WHERE source_uri IN (SELECT source_uri FROM run_sources);

-- name: pages_without_their_article
SELECT count(*) FROM pages p WHERE p.outcome IN ('article', 'duplicate')
   AND NOT EXISTS (SELECT 1 FROM articles a WHERE a.article_id = p.article_id);
-- run: pages_without_their_article
WITH p AS MATERIALIZED (SELECT source_uri, article_id, outcome FROM pages WHERE source_uri IN (SELECT source_uri FROM run_sources)
                        UNION SELECT source_uri, article_id, outcome FROM pages WHERE article_id IN (SELECT article_id FROM run_articles))
SELECT count(*) FROM (SELECT article_id FROM p WHERE outcome IN ('article', 'duplicate')) p
  ANTI JOIN (SELECT article_id FROM articles WHERE article_id IN (SELECT article_id FROM p)) a ON a.article_id = p.article_id;

-- name: quarantined_pages_without_reason
SELECT count(*) FROM pages p WHERE p.outcome = 'quarantine'
   AND NOT EXISTS (SELECT 1 FROM quarantine q WHERE q.source_uri = p.source_uri);
-- run: quarantined_pages_without_reason
SELECT count(*) FROM pages p WHERE p.outcome = 'quarantine'
   AND p.source_uri IN (SELECT source_uri FROM run_sources)
   AND p.source_uri NOT IN (SELECT q.source_uri FROM quarantine q WHERE q.source_uri IN (SELECT source_uri FROM run_sources));

-- name: quarantine_rows_of_loaded_pages
SELECT count(*) FROM quarantine q JOIN pages p USING (source_uri) WHERE p.outcome <> 'quarantine';
-- run: quarantine_rows_of_loaded_pages
SELECT count(*) FROM (SELECT source_uri FROM quarantine WHERE source_uri IN (SELECT source_uri FROM run_sources)) q
  JOIN (SELECT source_uri, outcome FROM pages WHERE source_uri IN (SELECT source_uri FROM run_sources)) p USING (source_uri)
 WHERE p.outcome <> 'quarantine';

-- name: runs_duplicate_ids
SELECT count(*) - count(DISTINCT run_id) FROM runs;
-- run: runs_duplicate_ids
SELECT count(*) - count(DISTINCT run_id) FROM runs WHERE run_id IN (SELECT run_id FROM run_ids);

-- name: frontier_duplicate_urls
SELECT count(*) - count(DISTINCT url) FROM frontier;
-- run: frontier_duplicate_urls
SELECT count(*) - count(DISTINCT url) FROM frontier WHERE url IN (SELECT url FROM run_urls);

-- name: frontier_refused_without_reason
SELECT count(*) FROM frontier WHERE state NOT IN ('fetched', 'waiting') AND reason IS NULL;
-- run: frontier_refused_without_reason
SELECT count(*) FROM frontier WHERE url IN (SELECT url FROM run_urls)
   AND state NOT IN ('fetched', 'waiting') AND reason IS NULL;
