-- The warehouse as a whole, audited inside the load transaction before COMMIT (write, audit, publish).
-- Each query counts the rows that break one rule; expectations/warehouse.json requires every count to be 0,
-- so a run whose tables disagree with each other is rolled back and the warehouse keeps its snapshot.
-- A query is named by the `-- name:` line above it; the name is the column the suite checks.

-- name: articles_duplicate_ids
SELECT count(*) - count(DISTINCT article_id) FROM articles;

-- name: canonical_articles_without_body
SELECT count(*) FROM articles a WHERE a.duplicate_of IS NULL
   AND NOT EXISTS (SELECT 1 FROM paragraphs p WHERE p.article_id = a.article_id AND p.kind = 'body');

-- name: duplicates_of_missing_articles
SELECT count(*) FROM articles a WHERE a.duplicate_of IS NOT NULL
   AND NOT EXISTS (SELECT 1 FROM articles c WHERE c.article_id = a.duplicate_of AND c.duplicate_of IS NULL);

-- name: paragraphs_without_article
SELECT count(*) FROM paragraphs p WHERE NOT EXISTS (SELECT 1 FROM articles a WHERE a.article_id = p.article_id);

-- name: mentions_off_their_text
SELECT count(*) FROM mentions m LEFT JOIN paragraphs p
    ON p.article_id = m.article_id AND p.position = m.paragraph_position
 WHERE p.text IS NULL OR substring(p.text, m.start_char + 1, m.end_char - m.start_char) <> m.surface;

-- name: mentions_of_unknown_entities
SELECT count(*) FROM mentions m WHERE NOT EXISTS (SELECT 1 FROM entities e WHERE e.entity_id = m.entity_id);

-- name: appearances_without_story
SELECT count(*) FROM story_appearances s WHERE NOT EXISTS (SELECT 1 FROM stories t WHERE t.story_id = s.story_id);

-- name: appearances_without_article
SELECT count(*) FROM story_appearances s WHERE NOT EXISTS (SELECT 1 FROM articles a WHERE a.article_id = s.article_id);

-- name: stories_duplicate_ids
SELECT count(*) - count(DISTINCT story_id) FROM stories;

-- name: enrichment_without_article
SELECT (SELECT count(*) FROM people x WHERE NOT EXISTS (SELECT 1 FROM articles a WHERE a.article_id = x.article_id))
     + (SELECT count(*) FROM partnerships x WHERE NOT EXISTS (SELECT 1 FROM articles a WHERE a.article_id = x.article_id))
     + (SELECT count(*) FROM amounts x WHERE NOT EXISTS (SELECT 1 FROM articles a WHERE a.article_id = x.article_id));

-- name: partnerships_not_vietnam_laos
SELECT count(*) FROM partnerships WHERE vn_entity_id NOT LIKE 'VN-%' OR la_entity_id NOT LIKE 'LA-%';

-- name: pages_duplicate_sources
SELECT count(*) - count(DISTINCT source_uri) FROM pages;

-- name: pages_without_their_article
SELECT count(*) FROM pages p WHERE p.outcome IN ('article', 'duplicate')
   AND NOT EXISTS (SELECT 1 FROM articles a WHERE a.article_id = p.article_id);

-- name: quarantined_pages_without_reason
SELECT count(*) FROM pages p WHERE p.outcome = 'quarantine'
   AND NOT EXISTS (SELECT 1 FROM quarantine q WHERE q.source_uri = p.source_uri);

-- name: quarantine_rows_of_loaded_pages
SELECT count(*) FROM quarantine q JOIN pages p USING (source_uri) WHERE p.outcome <> 'quarantine';

-- name: runs_duplicate_ids
SELECT count(*) - count(DISTINCT run_id) FROM runs;

-- name: frontier_duplicate_urls
SELECT count(*) - count(DISTINCT url) FROM frontier;

-- name: frontier_refused_without_reason
SELECT count(*) FROM frontier WHERE state NOT IN ('fetched', 'waiting') AND reason IS NULL;
