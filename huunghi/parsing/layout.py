"""The page-furniture vocabulary of the site, loaded from data/layout.json."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import cache
from importlib import resources


@dataclass(frozen=True)
class Layout:
    breadcrumb_root: str
    sections: tuple[str, ...]
    box_headers: dict[str, str]
    navigation_lines: frozenset[str]
    navigation_prefixes: tuple[str, ...]
    footer_lines: frozenset[str]
    widget_lines: frozenset[str]
    source_marker: str
    loading_line: str
    caption_credit: re.Pattern[str]
    caption_source_credit: re.Pattern[str]
    caption_credit_words: tuple[str, str]  # the word each credit pattern needs: a line without it is not searched
    rendering_markers: dict[str, str]  # folded marker line → rendering name

    def rendering_marker(self, line: str) -> str | None:
        """'e magazine', 'E-Magazine' → 'emagazine': a line naming the page's rendering, not its title."""
        return self.rendering_markers.get(re.sub(r"[\s-]+", "", line.casefold()))

    def is_marker(self, line: str) -> bool:
        """A line that is furniture by its text alone, wherever it stands."""
        return (
            line in self.box_headers
            or line in self.navigation_lines
            or line in self.footer_lines
            or line.startswith(self.navigation_prefixes)
            or line.startswith(self.source_marker)
        )


@cache
def load_layout() -> Layout:
    raw = json.loads(resources.files("huunghi").joinpath("data/layout.json").read_text("utf-8"))
    return Layout(
        breadcrumb_root=raw["breadcrumb_root"],
        sections=tuple(sorted(raw["sections"], key=len, reverse=True)),
        box_headers=dict(raw["box_headers"]),
        navigation_lines=frozenset(raw["navigation_lines"]),
        navigation_prefixes=tuple(raw["navigation_prefixes"]),
        footer_lines=frozenset(raw["footer_lines"]),
        widget_lines=frozenset(raw["widget_lines"]),
        source_marker=raw["source_marker"],
        loading_line=raw["loading_line"],
        caption_credit=re.compile(raw["caption_credit"]),
        caption_source_credit=re.compile(raw["caption_source_credit"]),
        caption_credit_words=tuple(raw["caption_credit_words"]),
        rendering_markers={k: v for k, v in raw["rendering_markers"].items() if not k.startswith("_")},
    )
