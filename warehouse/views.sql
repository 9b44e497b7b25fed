-- Views for the questions users ask most; created (or replaced) by every run, in the same commit.
-- The lines "--   column: meaning" under a view's title document its columns (huunghi schema, SCHEMA.md).

-- View latest_articles: canonical articles (copies left out), newest first.
--   published_at: publication time
--   title: headline
--   author: byline
--   section: breadcrumb sections
--   url: web address when known
--   article_id: the article
CREATE OR REPLACE VIEW latest_articles AS
SELECT published_at, title, author, section, url, article_id
FROM articles WHERE duplicate_of IS NULL
ORDER BY published_at DESC NULLS LAST, article_id;

-- View partnerships_by_year: Vietnamese × Lao province pairs per year, under today's and the historical names.
--   year: year of the event (else of publication)
--   vietnamese_province: today's unit (since 1 July 2025)
--   vietnamese_province_then: the province as it was named then
--   lao_province: the Lao province
--   articles: articles about the pair that year
--   signings: of which about a signing
CREATE OR REPLACE VIEW partnerships_by_year AS
SELECT year(coalesce(p.event_date, a.published_at)) AS year, vn.name_2025 AS vietnamese_province,
       vn.name AS vietnamese_province_then, la.name AS lao_province, count(DISTINCT p.article_id) AS articles,
       count(DISTINCT p.article_id) FILTER (WHERE p.event_type = 'signing') AS signings
FROM partnerships p JOIN articles a USING (article_id)
JOIN entities vn ON vn.entity_id = p.vn_entity_id JOIN entities la ON la.entity_id = p.la_entity_id
GROUP BY ALL ORDER BY year, vietnamese_province, lao_province;

-- View top_sidebar_stories: the stories most linked from sidebars and boxes (inline teasers left out).
--   title: the story's title
--   url: its link (HTML pages)
--   sightings: times shown in a sidebar or box
--   pages: distinct pages showing it
--   story_id: the story
CREATE OR REPLACE VIEW top_sidebar_stories AS
SELECT s.title, s.url, count(*) AS sightings, count(DISTINCT a.article_id) AS pages, s.story_id
FROM story_appearances a JOIN stories s USING (story_id)
WHERE a.block <> 'inline'
GROUP BY ALL ORDER BY sightings DESC, s.title;

-- View people_meetings: a Vietnamese and a Lao official named in the same articles.
--   vietnamese_official: name
--   vietnamese_role: post as written
--   vietnamese_province: province of the post
--   lao_official: name
--   lao_role: post as written
--   lao_province: province of the post
--   meetings: articles naming both
--   last_met: publication time of the latest of them
CREATE OR REPLACE VIEW people_meetings AS
SELECT v.name AS vietnamese_official, any_value(v.role) AS vietnamese_role, ve.name AS vietnamese_province,
       l.name AS lao_official, any_value(l.role) AS lao_role, le.name AS lao_province,
       count(DISTINCT v.article_id) AS meetings, max(a.published_at) AS last_met
FROM people v JOIN people l ON l.article_id = v.article_id
JOIN entities ve ON ve.entity_id = v.province_entity_id AND ve.country = 'VN'
JOIN entities le ON le.entity_id = l.province_entity_id AND le.country = 'LA'
JOIN articles a ON a.article_id = v.article_id
GROUP BY v.name, ve.name, l.name, le.name ORDER BY meetings DESC, vietnamese_official, lao_official;

-- View amounts_by_province: money named in articles about a Vietnamese province, by year.
--   province_today: today's unit (since 1 July 2025)
--   province_then: the province as it was named then
--   year: year of publication
--   amounts: amounts named
--   value_vnd: their sum in đồng, at each year's reference rate
CREATE OR REPLACE VIEW amounts_by_province AS
SELECT vn.name_2025 AS province_today, vn.name AS province_then, year(a.published_at) AS year,
       count(*) AS amounts, sum(m.value_vnd) AS value_vnd
FROM amounts m JOIN articles a USING (article_id)
JOIN (SELECT DISTINCT article_id, vn_entity_id FROM partnerships) p USING (article_id)
JOIN entities vn ON vn.entity_id = p.vn_entity_id
GROUP BY ALL ORDER BY province_today, year;

-- View articles_to_review: canonical articles the parser is not sure of (parse_confidence below 0.7), least sure first.
--   parse_confidence: 0–1, how sure the parser is
--   parse_doubts: why not sure
--   title: headline
--   source_uri: where the page was read
--   published_at: publication time
--   article_id: the article
CREATE OR REPLACE VIEW articles_to_review AS
SELECT parse_confidence, parse_doubts, title, source_uri, published_at, article_id
FROM articles WHERE duplicate_of IS NULL AND parse_confidence < 0.7
ORDER BY parse_confidence, article_id;
