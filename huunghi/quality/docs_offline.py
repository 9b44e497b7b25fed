"""Data Docs that render without a network: the CDN assets Great Expectations' pages load are replaced
by local copies shipped with huunghi (data/docs_assets/, mapped in data/docs_assets.json).

This product is mostly used offline (a laptop on a train, a newsroom behind a firewall); GX's pages then
came out as unstyled text. After each build, the assets are copied into the site once and every page of
the site has its CDN addresses rewritten to relative paths, so a folder copied elsewhere still works.
"""

from __future__ import annotations

import json
import os
import re
import shutil
from functools import cache, partial
from importlib import resources
from pathlib import Path

ASSETS_DIR = "static/offline"  # inside the Data Docs site
_ATTRIBUTE = re.compile(r"""(?P<attr>\b(?:src|href)=)(?P<quote>["'])(?P<url>https?://[^"']+)(?P=quote)""")


@cache
def _assets() -> tuple[list[dict], Path]:
    spec = json.loads(resources.files("huunghi").joinpath("data/docs_assets.json").read_text("utf-8"))
    return spec["assets"], Path(str(resources.files("huunghi").joinpath("data/docs_assets")))


def _local(url: str) -> str | None:
    """The site-relative path that replaces a CDN address, or None when it is not one of ours."""
    for asset in _assets()[0]:
        if url == asset["url"] or (asset.get("prefix") and url.startswith(asset["url"])):
            return f"static/{asset['gx_static']}" if "gx_static" in asset else f"{ASSETS_DIR}/{asset['file']}"
    return None


def make_offline(site: Path, since: float = 0.0) -> int:
    """Copy the assets into the site (when missing) and rewrite the CDN addresses of the pages written
    since `since` (a timestamp: the pages this build wrote); the number of pages changed. Idempotent."""
    target = site / ASSETS_DIR
    if not target.is_dir():  # the first offline build: the pages of earlier builds too
        since = 0.0
        tmp = site / (ASSETS_DIR + ".tmp")
        shutil.rmtree(tmp, ignore_errors=True)
        shutil.copytree(_assets()[1], tmp, ignore=shutil.ignore_patterns("README.md"))
        os.replace(tmp, target)
    changed = 0
    for page in site.rglob("*.html"):
        if page.stat().st_mtime < since:
            continue
        text = page.read_text("utf-8")
        rewritten = _ATTRIBUTE.sub(partial(_replace, up=os.path.relpath(site, page.parent)), text)
        if rewritten != text:
            page.write_text(rewritten, "utf-8")
            changed += 1
    return changed


def _replace(match: re.Match, up: str) -> str:
    path = _local(match["url"])
    if path is None:
        return match[0]
    return f"{match['attr']}{match['quote']}{Path(up, path).as_posix()}{match['quote']}"


def remote_assets(site: Path) -> list[str]:
    """Addresses a page of the site still loads from the network (scripts, styles, images): none expected."""
    found = set()
    for page in site.rglob("*.html"):
        for match in re.finditer(r"""<(?:script|link|img)\b[^>]*\b(?:src|href)=["'](https?://[^"']+)""",
                                 page.read_text("utf-8")):  # fmt: skip
            found.add(match[1])
    return sorted(found)
