"""Cache keys for the idempotent stages: the same pages (by hash), the same knowledge and the same code give
the same output, so a run retried after a later failure (say the load) reuses the batches already staged
(huunghi/staging.py: Stage.remember).

A key hashes what the output depends on, never object identity: each page's source, bytes hash and
format, the knowledge sets, and the code and data files of the package (a new version never reuses a
result of an old one).
"""

from __future__ import annotations

import hashlib
import importlib
from functools import cache
from pathlib import Path
from typing import Any

from prefect.utilities.annotations import BaseAnnotation

from huunghi.records import RawPage

_PACKAGES = ("huunghi", "huunghi.tasks", "huunghi.warehouse", "huunghi.expectations")  # what the stages run on


@cache
def code_version() -> str:
    """Digest of every module and data file the stages run on (wherever the packages are installed)."""
    files: dict[str, Path] = {}
    for name in _PACKAGES:
        folder = Path(importlib.import_module(name).__file__).resolve().parent
        for path in folder.rglob("*"):
            if path.is_file() and path.suffix in {".py", ".csv", ".json", ".txt", ".sql"}:
                files[f"{name}/{path.relative_to(folder)}"] = path
    digest = hashlib.sha256()
    for key in sorted(files):
        digest.update(key.encode())
        digest.update(files[key].read_bytes())
    return digest.hexdigest()


def _feed(digest: Any, value: Any) -> None:
    """Hash a stage input structurally (pages by identity and bytes hash, sets sorted)."""
    if isinstance(value, BaseAnnotation):
        value = value.unwrap()
    if hasattr(value, "tobytes"):  # numpy arrays (MinHash signatures): their repr is abbreviated
        digest.update(b"array\0" + value.tobytes())
    elif isinstance(value, RawPage):  # by identity and bytes, not by its (large) text
        digest.update(f"page\0{value.source_uri}\0{value.sha256}\0{value.format}\0{value.url}\0".encode())
    elif isinstance(value, dict):
        for key in sorted(value, key=str):
            digest.update(f"key\0{key}\0".encode())
            _feed(digest, value[key])
    elif isinstance(value, list | tuple):
        digest.update(f"list{len(value)}\0".encode())
        for item in value:
            _feed(digest, item)
    elif isinstance(value, set | frozenset):
        digest.update(f"set{len(value)}\0".encode())
        for item in sorted(value, key=str):
            _feed(digest, item)
    elif hasattr(value, "__dataclass_fields__"):
        digest.update(type(value).__name__.encode())
        for name in value.__dataclass_fields__:
            digest.update(f"field\0{name}\0".encode())
            _feed(digest, getattr(value, name))
    else:
        digest.update(f"{type(value).__name__}\0{value!r}\0".encode())


def digest(name: str, *values: Any) -> str:
    """A key for work whose output depends only on `values` (hashed by content: `_feed`) and the code."""
    hashed = hashlib.sha256(f"{name}\0{code_version()}\0".encode())
    for value in values:
        _feed(hashed, value)
    return hashed.hexdigest()
