"""What a daily run reads: sources.toml, or one URL given on the command line.

Each [[source]] names where its pages come from (sitemaps, feeds, article URLs, start pages whose links
match `follow`, local paths) and the rules of politeness and safety that apply to its fetches.
"""

from __future__ import annotations

import math
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

DEFAULT_USER_AGENT = "huunghi/0.4 (+https://github.com/huunghi/huunghi; data pipeline, polite crawler)"

# The numeric settings: (kind, least, most). A whole number is never a bool (TOML `true` is not 1); a
# number is finite (`nan` and `inf` compare false with every bound, so they must be refused by name).
NUMBERS: dict[str, tuple[str, float, float]] = {
    "max_pages": ("whole", 1, 10_000_000),
    "concurrency": ("whole", 1, 64),
    "max_bytes": ("whole", 1, 1024 * 1024 * 1024),
    "retries": ("whole", 0, 20),
    "rate_per_second": ("number", 0.001, 1000.0),
    "timeout_seconds": ("number", 0.1, 3600.0),
    "retry_delay_seconds": ("number", 0.0, 3600.0),
}
TEXTS = ("name", "follow", "user_agent")


class SourceConfigError(ValueError):
    """sources.toml (or a --source URL) cannot be used as it is."""


@dataclass(frozen=True)
class Source:
    name: str
    sitemaps: tuple[str, ...] = ()
    feeds: tuple[str, ...] = ()
    urls: tuple[str, ...] = ()
    start: tuple[str, ...] = ()
    discover: tuple[str, ...] = ()  # URLs whose kind (sitemap, feed, page) is told by their content
    paths: tuple[str, ...] = ()
    follow: str | None = None  # regex: links (and sitemap/feed entries) that are article pages
    allowed_hosts: frozenset[str] = frozenset()
    allow_private: bool = False  # loopback/private/link-local addresses (tests, intranets)
    max_pages: int = 1000
    rate_per_second: float = 1.0
    concurrency: int = 2
    timeout_seconds: float = 20.0
    max_bytes: int = 5 * 1024 * 1024
    retries: int = 2
    retry_delay_seconds: float = 2.0
    user_agent: str = DEFAULT_USER_AGENT
    extra: dict = field(default_factory=dict, compare=False)

    @property
    def web_urls(self) -> tuple[str, ...]:
        return self.sitemaps + self.feeds + self.urls + self.start + self.discover

    def follows(self, url: str) -> bool:
        return self.follow is None or re.search(self.follow, url) is not None


def _check_url(url: str, where: str) -> str:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise SourceConfigError(f"{where}: only http(s) URLs with a host can be fetched, not {url!r}")
    return url


def load(path: Path) -> list[Source]:
    """Read and check sources.toml; errors name the source and the field."""
    try:
        data = tomllib.loads(path.read_text("utf-8"))
    except (OSError, tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise SourceConfigError(f"{path}: {exc}") from exc
    out = []
    for i, raw in enumerate(data.get("source", [])):
        where = f"{path}: source {raw.get('name', i + 1)!r}"
        known = {f for f in Source.__dataclass_fields__ if f != "extra"}
        if unknown := set(raw) - known:
            raise SourceConfigError(f"{where}: unknown field(s) {sorted(unknown)}")
        values = dict(raw)
        _check_settings(values, where)
        values.setdefault("name", f"source-{i + 1}")
        for key in ("sitemaps", "feeds", "urls", "start", "discover", "paths"):
            values[key] = tuple(values.get(key, ()))
        for url in values["sitemaps"] + values["feeds"] + values["urls"] + values["start"] + values["discover"]:
            _check_url(url, where)
        hosts = values.get("allowed_hosts") or [
            urlsplit(u).hostname
            for u in values["sitemaps"] + values["feeds"] + values["urls"] + values["start"] + values["discover"]
        ]
        values["allowed_hosts"] = frozenset(h.lower() for h in hosts if h)
        if values.get("follow"):
            try:
                re.compile(values["follow"])
            except re.error as exc:
                raise SourceConfigError(f"{where}: follow is not a valid regular expression: {exc}") from exc
        out.append(Source(**values))
    if not out:
        raise SourceConfigError(f"{path}: no [[source]] table")
    return out


def _check_settings(values: dict, where: str) -> None:
    """Every numeric setting a finite number of its kind within its range, every flag a bool, every text a
    string and every list of URLs or hosts strings: else a SourceConfigError naming the file, source and key."""
    for key, (kind, least, most) in NUMBERS.items():
        if key not in values:
            continue
        value = values[key]
        whole = isinstance(value, int) and not isinstance(value, bool)
        number = whole or (isinstance(value, float) and math.isfinite(value))
        if not (whole if kind == "whole" else number) or not least <= value <= most:
            noun = "a whole number" if kind == "whole" else "a positive number" if least > 0 else "a number"
            bounds = " to ".join(str(int(b)) if float(b).is_integer() else str(b) for b in (least, most))
            raise SourceConfigError(f"{where}: {key} must be {noun} from {bounds}, not {value!r}")
    if "allow_private" in values and not isinstance(values["allow_private"], bool):
        raise SourceConfigError(f"{where}: allow_private must be true or false, not {values['allow_private']!r}")
    for key in TEXTS:
        if key in values and values[key] is not None and not isinstance(values[key], str):
            raise SourceConfigError(f"{where}: {key} must be a string, not {values[key]!r}")
    for key in ("sitemaps", "feeds", "urls", "start", "discover", "paths", "allowed_hosts"):
        items = values.get(key, [])
        if not isinstance(items, list) or not all(isinstance(item, str) for item in items):
            raise SourceConfigError(f"{where}: {key} must be a list of strings, not {items!r}")


def from_url(url: str, allow_private: bool = False) -> Source:
    """A one-URL source from the command line: its kind told by its content, its own host only."""
    _check_url(url, "--source")
    return Source(
        name=urlsplit(url).hostname or url,
        discover=(url,),
        allowed_hosts=frozenset({urlsplit(url).hostname.lower()}),
        allow_private=allow_private,
    )


def is_url(value: str) -> bool:
    return urlsplit(value).scheme in ("http", "https")
