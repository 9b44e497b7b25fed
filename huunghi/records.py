"""The records passed between stages. Plain dataclasses and dicts: cheap to pickle to worker processes."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime


@dataclass(frozen=True, slots=True)
class RawPage:
    """One input page as read: where it came from, its bytes' hash and its decoded, normalized text."""

    source_uri: str
    sha256: str
    fetched_at: datetime
    format: str
    size: int
    text: str
    url: str | None = None


@dataclass(frozen=True, slots=True)
class Quarantined:
    """An input that cannot become an article, with the stage that refused it and why."""

    source_uri: str
    sha256: str | None
    stage: str
    reason: str
    details: str
    raw: bytes | None = None

    @classmethod
    def of(cls, page: RawPage, stage: str, reason: str, details: str) -> Quarantined:
        return cls(page.source_uri, page.sha256, stage, reason, details, page.text.encode("utf-8"))


@dataclass
class CleanResult:
    """Cleaned article records (dicts, see tasks/clean.py) and the pages quarantined on the way."""

    articles: list[dict] = field(default_factory=list)
    quarantined: list[Quarantined] = field(default_factory=list)

    @classmethod
    def merge(cls, parts: list[CleanResult]) -> CleanResult:
        out = cls()
        for part in parts:
            out.articles.extend(part.articles)
            out.quarantined.extend(part.quarantined)
        return out
