"""Polite, safe crawling: sources (what to read), the fetcher (how), discovery (sitemaps, feeds, links),
and the raw zone (every fetched byte kept, so a run can be repeated without fetching)."""
