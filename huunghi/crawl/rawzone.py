"""The raw zone: every fetched body kept as it came, so a run can be repeated without fetching again.

Bodies are content-addressed (`objects/ab/<sha256>.gz`, written once); each URL has a small state file
(`urls/<hash of URL>.json`: last status, ETag, Last-Modified, body hash, charset, run) used for
conditional requests and for retries within a run. Writes go to a temporary file renamed into place,
so a crash never leaves half a file.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import tempfile
from pathlib import Path


class RawZone:
    def __init__(self, root: Path) -> None:
        self.root = root
        (root / "objects").mkdir(parents=True, exist_ok=True)
        (root / "urls").mkdir(parents=True, exist_ok=True)

    @staticmethod
    def _atomic_write(path: Path, data: bytes) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(data)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def _object(self, sha: str) -> Path:
        return self.root / "objects" / sha[:2] / f"{sha}.gz"

    def put(self, body: bytes) -> str:
        sha = hashlib.sha256(body).hexdigest()
        path = self._object(sha)
        if not path.exists():
            self._atomic_write(path, gzip.compress(body, mtime=0))
        return sha

    def get(self, sha: str) -> bytes | None:
        try:
            return gzip.decompress(self._object(sha).read_bytes())
        except (OSError, EOFError):
            return None

    def _state_path(self, url: str) -> Path:
        key = hashlib.sha256(url.encode("utf-8")).hexdigest()
        return self.root / "urls" / key[:2] / f"{key}.json"

    def state(self, url: str) -> dict | None:
        try:
            return json.loads(self._state_path(url).read_text("utf-8"))
        except (OSError, ValueError):
            return None

    def record(self, url: str, state: dict) -> None:
        self._atomic_write(self._state_path(url), json.dumps({**state, "url": url}, sort_keys=True).encode())

    def urls(self) -> list[dict]:
        """Every URL state, sorted by URL (for runs that replay the raw zone without fetching)."""
        states = []
        for path in (self.root / "urls").rglob("*.json"):
            try:
                states.append(json.loads(path.read_text("utf-8")))
            except (OSError, ValueError):
                continue
        return sorted(states, key=lambda s: s["url"])
