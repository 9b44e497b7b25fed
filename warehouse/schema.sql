-- The warehouse tables (DuckLake: Parquet data files + a catalog). One run = one commit = one snapshot.
-- DuckLake has no primary keys: the load step keeps the keys named in each comment unique.

-- One row per page read as an article; key article_id (derived from source_uri).
CREATE TABLE IF NOT EXISTS articles (
    article_id    VARCHAR NOT NULL,
    source_uri    VARCHAR NOT NULL,
    url           VARCHAR,
    title         VARCHAR NOT NULL,
    published_at  TIMESTAMPTZ,
    section       VARCHAR,
    author        VARCHAR,
    lead          VARCHAR,
    body          VARCHAR,          -- body paragraphs joined by blank lines (no lead, no captions)
    duplicate_of  VARCHAR,          -- article_id of the article this one repeats, else NULL
    content_hash  VARCHAR NOT NULL, -- hash of title, lead and body, furniture excluded
    sha256        VARCHAR NOT NULL, -- of the raw input bytes
    run_id        VARCHAR NOT NULL, -- run that last wrote the row
    extractor     VARCHAR           -- layout (the section's rules, text or HTML) | trafilatura (other HTML layouts)
);

-- Lead, body paragraphs and captions in page order; key (article_id, position).
CREATE TABLE IF NOT EXISTS paragraphs (
    article_id  VARCHAR NOT NULL,
    position    INTEGER NOT NULL,
    kind        VARCHAR NOT NULL,  -- lead | body | caption
    text        VARCHAR NOT NULL
);

-- Teaser and sidebar stories, each once; key story_id (from the normalized title).
CREATE TABLE IF NOT EXISTS stories (
    story_id      VARCHAR NOT NULL,
    title         VARCHAR NOT NULL,
    summary       VARCHAR,
    url           VARCHAR,          -- the link most pages give the story (HTML pages), else NULL
    first_run_id  VARCHAR NOT NULL
);

-- Every title key ever seen and the story it belongs to (near-identical titles share one); key title_key.
CREATE TABLE IF NOT EXISTS story_aliases (
    title_key  VARCHAR NOT NULL,
    story_id   VARCHAR NOT NULL
);

-- Each sighting of a story on a page; key (article_id, position).
CREATE TABLE IF NOT EXISTS story_appearances (
    story_id    VARCHAR NOT NULL,
    article_id  VARCHAR NOT NULL,
    block       VARCHAR NOT NULL,  -- inline | related | other | most_read | multimedia | video | latest | sidebar
    position    INTEGER NOT NULL,
    url         VARCHAR            -- the link of the sighting (HTML pages), else NULL
);

-- Reference entities: provinces of Viet Nam and Laos, countries, provincial and national organizations;
-- key entity_id.
CREATE TABLE IF NOT EXISTS entities (
    entity_id      VARCHAR NOT NULL,  -- ISO 3166-2 (VN-25), ISO 3166-1 (LA), or ORG-<type>-<province> / ORG-<name>
    kind           VARCHAR NOT NULL,  -- province | country | organization
    name           VARCHAR NOT NULL,
    iso_code       VARCHAR,
    country        VARCHAR NOT NULL,  -- VN | LA | … (ISO 3166-1)
    level          VARCHAR,           -- province | municipality | capital; provincial | national (organizations)
    name_2025      VARCHAR,           -- the provincial unit it belongs to since 1 July 2025 (VN)
    iso_code_2025  VARCHAR
);

-- Entities named in an article's lead and body; key (article_id, entity_id, paragraph_position, start_char).
CREATE TABLE IF NOT EXISTS mentions (
    article_id          VARCHAR NOT NULL,
    entity_id           VARCHAR NOT NULL,
    surface             VARCHAR NOT NULL,
    paragraph_position  INTEGER NOT NULL,
    start_char          INTEGER NOT NULL,
    end_char            INTEGER NOT NULL,
    place               VARCHAR            -- the city, district or border gate named instead of the province
);

-- Officials named with a post in an article's lead and body, once per name; key (article_id, name).
CREATE TABLE IF NOT EXISTS people (
    article_id              VARCHAR NOT NULL,
    name                    VARCHAR NOT NULL,
    role                    VARCHAR NOT NULL,  -- the post(s) as written: Bí thư Tỉnh ủy, Tỉnh trưởng, …
    organization_entity_id  VARCHAR,           -- ORG-UBND-VN-25 …, when the post names its body and province
    province_entity_id      VARCHAR,
    paragraph_position      INTEGER NOT NULL,
    start_char              INTEGER NOT NULL
);

-- The Vietnamese–Lao province pairs an article is about; key (article_id, vn_entity_id, la_entity_id).
CREATE TABLE IF NOT EXISTS partnerships (
    article_id      VARCHAR NOT NULL,
    vn_entity_id    VARCHAR NOT NULL,
    la_entity_id    VARCHAR NOT NULL,
    event_type      VARCHAR,           -- signing | talks | visit | aid | review (the first that applies)
    event_types     VARCHAR[],         -- every event type the title and lead state
    event_date      DATE,              -- the lead's first dated event, year resolved with the article's date
    event_end       DATE,              -- the end of a date range, else NULL
    agreement_kind  VARCHAR,           -- memorandum | cooperation_agreement | contract | cooperation_plan
    period_start    INTEGER,           -- the period signed (giai đoạn 2023 - 2025), not the one reviewed
    period_end      INTEGER,
    sectors         VARCHAR[]          -- from huunghi/data/sectors.csv
);

-- Amounts of money in an article's lead and body; key (article_id, paragraph_position, start_char).
CREATE TABLE IF NOT EXISTS amounts (
    article_id          VARCHAR NOT NULL,
    value               DOUBLE NOT NULL,
    currency            VARCHAR NOT NULL,  -- VND | USD | EUR | LAK | THB | CNY
    value_vnd           DOUBLE,            -- at the reference rate of the article's year (data/currencies.csv)
    surface             VARCHAR NOT NULL,
    paragraph_position  INTEGER NOT NULL,
    start_char          INTEGER NOT NULL
);

-- MinHash signature of each canonical article's text, to find near duplicates in later runs; key article_id.
CREATE TABLE IF NOT EXISTS article_signatures (
    article_id  VARCHAR NOT NULL,
    minhash     BLOB NOT NULL
);

-- Headline-like lines standing among article lines (as title keys), counted across pages to find site
-- furniture;
-- key (line_key, article_id).
CREATE TABLE IF NOT EXISTS headline_lines (
    line_key    VARCHAR NOT NULL,
    article_id  VARCHAR NOT NULL
);

-- Every input page and where it ended; key source_uri.
CREATE TABLE IF NOT EXISTS pages (
    source_uri  VARCHAR NOT NULL,  -- file:// path, http(s) URL, or WARC file # record id
    sha256      VARCHAR,
    format      VARCHAR,           -- text | html
    size        BIGINT,
    fetched_at  TIMESTAMPTZ,
    outcome     VARCHAR NOT NULL,  -- article | duplicate | quarantine
    article_id  VARCHAR,
    run_id      VARCHAR NOT NULL,
    url         VARCHAR            -- the page's web address when known (crawl, WARC, canonical link)
);

-- Inputs that could not become articles, with the raw bytes kept; key (source_uri, sha256, stage).
CREATE TABLE IF NOT EXISTS quarantine (
    source_uri  VARCHAR NOT NULL,
    sha256      VARCHAR,
    stage       VARCHAR NOT NULL,
    reason      VARCHAR NOT NULL,
    details     VARCHAR,
    raw         BLOB,
    run_id      VARCHAR NOT NULL
);

-- One row per successful run; key run_id.
CREATE TABLE IF NOT EXISTS runs (
    run_id            VARCHAR NOT NULL,
    flow_run_id       VARCHAR,
    started_at        TIMESTAMPTZ NOT NULL,
    finished_at       TIMESTAMPTZ NOT NULL,
    status            VARCHAR NOT NULL,
    pages_in          INTEGER NOT NULL,
    articles_new      INTEGER NOT NULL,
    articles_updated  INTEGER NOT NULL,
    duplicates_new    INTEGER NOT NULL,
    quarantined_new   INTEGER NOT NULL,
    stories_new       INTEGER NOT NULL,
    appearances_new   INTEGER NOT NULL,
    mentions_new      INTEGER NOT NULL
);

-- Columns added after the first release, for warehouses created before them.
ALTER TABLE articles ADD COLUMN IF NOT EXISTS extractor VARCHAR;
ALTER TABLE story_appearances ADD COLUMN IF NOT EXISTS url VARCHAR;
ALTER TABLE pages ADD COLUMN IF NOT EXISTS url VARCHAR;
ALTER TABLE mentions ADD COLUMN IF NOT EXISTS place VARCHAR;
