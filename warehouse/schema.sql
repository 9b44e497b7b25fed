-- The warehouse tables (DuckLake: Parquet data files + a catalog). One run = one commit = one snapshot.
-- DuckLake has no primary keys: the load step keeps the keys named in each comment unique.

-- One row per page read as an article; key article_id (derived from source_uri).
CREATE TABLE IF NOT EXISTS articles (
    article_id    VARCHAR NOT NULL,      -- hash of source_uri: the article's id
    source_uri    VARCHAR NOT NULL,      -- where the page was read: file:// path, http(s) URL, or WARC file # record id
    url           VARCHAR,               -- the page's web address when known
    title         VARCHAR NOT NULL,      -- headline
    published_at  TIMESTAMPTZ,           -- publication time from the page (NULL when it cannot be read)
    section       VARCHAR,               -- breadcrumb sections, e.g. Hữu nghị › Bốn phương kết bạn
    author        VARCHAR,               -- byline as written
    lead          VARCHAR,               -- the first paragraph (sapo)
    body          VARCHAR,          -- body paragraphs joined by blank lines (no lead, no captions)
    duplicate_of  VARCHAR,          -- article_id of the article this one repeats, else NULL
    content_hash  VARCHAR NOT NULL, -- hash of title, lead and body, furniture excluded
    sha256        VARCHAR NOT NULL, -- of the raw input bytes
    run_id        VARCHAR NOT NULL, -- run that last wrote the row
    extractor     VARCHAR,          -- layout (the section's rules, text or HTML) | trafilatura (other HTML layouts)
    kicker        VARCHAR,          -- the rubric line above the title ("Nhìn lại một năm"), never the title itself
    parse_confidence DOUBLE,        -- 0–1: how sure the parser is of this page (below 0.7: articles_to_review)
    parse_doubts  VARCHAR[],        -- why not sure: no_breadcrumb, no_date, unaccented_run, headline_in_body, …
    language      VARCHAR           -- vi | lo (the Lao edition) | zh (the Chinese edition) | en | und, by script
);

-- Lead, body paragraphs and captions in page order; key (article_id, position).
CREATE TABLE IF NOT EXISTS paragraphs (
    article_id  VARCHAR NOT NULL,        -- the article
    position    INTEGER NOT NULL,        -- order in the page, the lead first (0)
    kind        VARCHAR NOT NULL,  -- lead | body | caption
    text        VARCHAR NOT NULL         -- the paragraph's text
);

-- Teaser and sidebar stories, each once; key story_id (from the normalized title).
CREATE TABLE IF NOT EXISTS stories (
    story_id      VARCHAR NOT NULL,      -- hash of the story's first title key
    title         VARCHAR NOT NULL,      -- the most frequent spelling of the title
    summary       VARCHAR,               -- the longest summary seen with it
    url           VARCHAR,          -- the link most pages give the story (HTML pages), else NULL
    first_run_id  VARCHAR NOT NULL       -- run that first saw the story
);

-- Every title key ever seen and the story it belongs to (near-identical titles share one); key title_key.
CREATE TABLE IF NOT EXISTS story_aliases (
    title_key  VARCHAR NOT NULL,         -- a title in comparison form (case, punctuation, spacing ignored)
    story_id   VARCHAR NOT NULL          -- the story it belongs to
);

-- Each sighting of a story on a page; key (article_id, position).
CREATE TABLE IF NOT EXISTS story_appearances (
    story_id    VARCHAR NOT NULL,        -- the story shown
    article_id  VARCHAR NOT NULL,        -- the page showing it
    block       VARCHAR NOT NULL,  -- inline | related | other | most_read | multimedia | video | latest | sidebar
    position    INTEGER NOT NULL,        -- order among the page's stories
    url         VARCHAR            -- the link of the sighting (HTML pages), else NULL
);

-- Reference entities: provinces of Viet Nam and Laos, countries, provincial and national organizations;
-- key entity_id.
CREATE TABLE IF NOT EXISTS entities (
    entity_id      VARCHAR NOT NULL,  -- ISO 3166-2 (VN-25), ISO 3166-1 (LA), or ORG-<type>-<province> / ORG-<name>
    kind           VARCHAR NOT NULL,  -- province | country | organization
    name           VARCHAR NOT NULL,     -- name (Vietnamese provinces: official name before July 2025)
    iso_code       VARCHAR,              -- ISO 3166-2 (provinces) or ISO 3166-1 (countries), NULL for organizations
    country        VARCHAR NOT NULL,  -- VN | LA | … (ISO 3166-1)
    level          VARCHAR,           -- province | municipality | capital; provincial | national (organizations)
    name_2025      VARCHAR,           -- the provincial unit it belongs to since 1 July 2025 (VN)
    iso_code_2025  VARCHAR               -- ISO 3166-2 code of that unit
);

-- Entities named in an article's lead and body; key (article_id, entity_id, paragraph_position, start_char).
CREATE TABLE IF NOT EXISTS mentions (
    article_id          VARCHAR NOT NULL,  -- the article
    entity_id           VARCHAR NOT NULL,  -- the entity named (entities.entity_id)
    surface             VARCHAR NOT NULL,  -- the text as written
    paragraph_position  INTEGER NOT NULL,  -- paragraphs.position of the paragraph
    start_char          INTEGER NOT NULL,  -- character offset in the paragraph
    end_char            INTEGER NOT NULL,  -- character offset after the mention
    place               VARCHAR            -- the city, district or border gate named instead of the province
);

-- Officials named with a post in an article's lead and body, once per name; key (article_id, name).
CREATE TABLE IF NOT EXISTS people (
    article_id              VARCHAR NOT NULL,  -- the article
    name                    VARCHAR NOT NULL,  -- the person's name as written
    role                    VARCHAR NOT NULL,  -- the post(s) as written: Bí thư Tỉnh ủy, Tỉnh trưởng, …
    organization_entity_id  VARCHAR,           -- ORG-UBND-VN-25 …, when the post names its body and province
    province_entity_id      VARCHAR,     -- the province the post belongs to, when stated anywhere in the article
    paragraph_position      INTEGER NOT NULL,  -- paragraph of the first mention
    start_char              INTEGER NOT NULL  -- offset of the first mention
);

-- The Vietnamese–Lao province pairs an article is about; key (article_id, vn_entity_id, la_entity_id).
CREATE TABLE IF NOT EXISTS partnerships (
    article_id      VARCHAR NOT NULL,    -- the article
    vn_entity_id    VARCHAR NOT NULL,    -- the Vietnamese province (pre-2025 code; entities.name_2025 gives today's unit)
    la_entity_id    VARCHAR NOT NULL,    -- the Lao province
    event_type      VARCHAR,           -- signing | talks | visit | aid | review (the first that applies)
    event_types     VARCHAR[],         -- every event type the title and lead state
    event_date      DATE,              -- the lead's first dated event, year resolved with the article's date
    event_end       DATE,              -- the end of a date range, else NULL
    agreement_kind  VARCHAR,           -- memorandum | cooperation_agreement | contract | cooperation_plan
    period_start    INTEGER,           -- the period signed (giai đoạn 2023 - 2025), not the one reviewed
    period_end      INTEGER,             -- last year of the signed period
    sectors         VARCHAR[]          -- from huunghi/data/sectors.csv
);

-- Amounts of money in an article's lead and body; key (article_id, paragraph_position, start_char).
CREATE TABLE IF NOT EXISTS amounts (
    article_id          VARCHAR NOT NULL,  -- the article
    value               DOUBLE NOT NULL,  -- the amount in its currency
    currency            VARCHAR NOT NULL,  -- VND | USD | EUR | LAK | THB | CNY
    value_vnd           DOUBLE,            -- at the reference rate of the article's year (data/currencies.csv)
    surface             VARCHAR NOT NULL,  -- the text as written, e.g. 7,3 tỉ đồng
    paragraph_position  INTEGER NOT NULL,  -- paragraphs.position of the paragraph
    start_char          INTEGER NOT NULL  -- character offset in the paragraph
);

-- MinHash signature of each canonical article's text, to find near duplicates in later runs; key article_id.
CREATE TABLE IF NOT EXISTS article_signatures (
    article_id  VARCHAR NOT NULL,        -- a canonical article
    minhash     BLOB NOT NULL            -- 128 MinHash values (uint32, little-endian) of its word 5-shingles
);

-- The LSH band keys of each canonical article's signature, so a run finds its near-duplicate candidates by a
-- join instead of reading every signature (huunghi/signatures.py: band_keys); key (article_id, band).
CREATE TABLE IF NOT EXISTS article_bands (
    article_id  VARCHAR NOT NULL,        -- a canonical article (as in article_signatures)
    band        TINYINT NOT NULL,        -- 0–15: values 8 band … 8 band + 7 of the signature
    band_key    UBIGINT NOT NULL         -- first 8 bytes (big-endian) of the MD5 of the band's 64 stored bytes
);

-- The groups of each story alias (huunghi/dedup/stories.py: group_keys): a run reads only the aliases that
-- share a group with its titles; key (group_key, title_key).
CREATE TABLE IF NOT EXISTS story_alias_groups (
    group_key  VARCHAR NOT NULL,         -- the key without spaces, or "<words> <position> <key without that word>"
    title_key  VARCHAR NOT NULL          -- the alias (story_aliases.title_key)
);

-- Headline-like lines standing among article lines (as title keys), counted across pages to find site
-- furniture;
-- key (line_key, article_id).
CREATE TABLE IF NOT EXISTS headline_lines (
    line_key    VARCHAR NOT NULL,        -- the line in comparison form
    article_id  VARCHAR NOT NULL         -- an article it stands in
);

-- Every input page and where it ended; key source_uri.
CREATE TABLE IF NOT EXISTS pages (
    source_uri  VARCHAR NOT NULL,  -- file:// path, http(s) URL, or WARC file # record id
    sha256      VARCHAR,                 -- of the raw input bytes (NULL when none were read)
    format      VARCHAR,           -- text | html
    size        BIGINT,                  -- bytes read
    fetched_at  TIMESTAMPTZ,             -- when the bytes were read or fetched
    outcome     VARCHAR NOT NULL,  -- article | duplicate | quarantine
    article_id  VARCHAR,                 -- the article it became, if any
    run_id      VARCHAR NOT NULL,        -- run that last changed the row
    url         VARCHAR            -- the page's web address when known (crawl, WARC, canonical link)
);

-- Inputs that could not become articles, with a copy of the input kept; one row per input (its latest failure).
CREATE TABLE IF NOT EXISTS quarantine (
    source_uri  VARCHAR NOT NULL,        -- the input
    sha256      VARCHAR,                 -- of the raw input bytes (NULL when none were read)
    stage       VARCHAR NOT NULL,        -- ingest | discover | fetch | clean
    reason      VARCHAR NOT NULL,        -- why, as a code: not_text, too_large, http_404, no_title, published_in_future …
    details     VARCHAR,                 -- why, in words (a gate's: the expectation and the value)
    raw         BLOB,                    -- the input's bytes, or the decoded text of a page that was read; NULL over 20 MiB
    run_id      VARCHAR NOT NULL         -- run that quarantined it
);

-- Every page URL a web source's listings named, and where the crawl left it; key url. A run fetches at most
-- max_pages of them, in an order read from these rows (a run that did not publish moves nothing on): never-fetched
-- URLs first, then transient failures, then the longest unasked, so every URL is reached in turn.
CREATE TABLE IF NOT EXISTS frontier (
    url              VARCHAR NOT NULL,   -- the page URL as listed (sitemap, feed, start page, or given)
    source           VARCHAR NOT NULL,   -- the web source that lists it (sources.toml name, or the host)
    state            VARCHAR NOT NULL,   -- fetched | waiting (never fetched yet) | refused (a loaded page stays loaded)
    reason           VARCHAR,            -- why refused: the quarantine's reason (http_404, timeout …) or not_followed
    first_listed_at  TIMESTAMPTZ NOT NULL,  -- when a run first found it listed
    last_fetched_at  TIMESTAMPTZ,        -- the crawler's last request for it, answered or failed (NULL: never asked)
    run_id           VARCHAR NOT NULL    -- run that last changed the row
);

-- One row per run that published; key run_id.
CREATE TABLE IF NOT EXISTS runs (
    run_id            VARCHAR NOT NULL,  -- the run (the Prefect flow run id when run by Prefect)
    flow_run_id       VARCHAR,           -- Prefect flow run id
    started_at        TIMESTAMPTZ NOT NULL,  -- start time
    finished_at       TIMESTAMPTZ NOT NULL,  -- commit time
    status            VARCHAR NOT NULL,  -- completed | read_nothing (web sources gave no page; the flow run failed)
    pages_in          INTEGER NOT NULL,  -- inputs of the run, unchanged web pages included
    articles_new      INTEGER NOT NULL,  -- new canonical articles
    articles_updated  INTEGER NOT NULL,  -- articles rewritten because their bytes changed
    duplicates_new    INTEGER NOT NULL,  -- new articles marked as copies
    quarantined_new   INTEGER NOT NULL,  -- new quarantine rows
    stories_new       INTEGER NOT NULL,  -- new stories
    appearances_new   INTEGER NOT NULL,  -- new story sightings
    mentions_new      INTEGER NOT NULL   -- new mentions
);

-- Columns added after the first release, for warehouses created before them.
ALTER TABLE articles ADD COLUMN IF NOT EXISTS extractor VARCHAR;
ALTER TABLE articles ADD COLUMN IF NOT EXISTS kicker VARCHAR;
ALTER TABLE articles ADD COLUMN IF NOT EXISTS parse_confidence DOUBLE;
ALTER TABLE articles ADD COLUMN IF NOT EXISTS parse_doubts VARCHAR[];
ALTER TABLE articles ADD COLUMN IF NOT EXISTS language VARCHAR;
ALTER TABLE story_appearances ADD COLUMN IF NOT EXISTS url VARCHAR;
ALTER TABLE pages ADD COLUMN IF NOT EXISTS url VARCHAR;
ALTER TABLE mentions ADD COLUMN IF NOT EXISTS place VARCHAR;
