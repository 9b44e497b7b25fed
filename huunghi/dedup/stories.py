"""Stories: one per title however often it repeats. Titles are compared in key form (case, punctuation,
quotes, spacing ignored); keys equal without spaces, or differing by one letter in one long word (never
in a number), are one story. Choices are made on sorted keys, never on arrival order."""

from __future__ import annotations

from collections import Counter, defaultdict
from functools import lru_cache
from itertools import combinations

from huunghi.text import stable_id, title_key

_MIN_FUZZY_WORDS = 4  # shorter titles must match exactly


@lru_cache(maxsize=65536)
def story_id(title: str) -> str:
    """The id a title gets when it starts a new story (stories repeat: computed once per title)."""
    return stable_id("story", title_key(title))


def _one_letter_apart(a: str, b: str) -> bool:
    """One letter dropped, added or changed in a long word; never a difference in numbers."""
    if a == b or any(c.isdigit() for c in a + b) or min(len(a), len(b)) < 5:
        return False
    if len(a) == len(b):
        return len(a) >= 6 and sum(x != y for x, y in zip(a, b, strict=True)) == 1
    if abs(len(a) - len(b)) != 1:
        return False
    short, long = sorted((a, b), key=len)
    return any(long[:i] + long[i + 1 :] == short for i in range(len(long)))


def _groups(key: str) -> list[tuple]:
    """Keys that share a group differ at most by spaces, or in one word (the group's position)."""
    words = key.split(" ")
    groups: list[tuple] = [("nospace", key.replace(" ", ""))]
    if len(words) >= _MIN_FUZZY_WORDS:
        groups += [(len(words), i, " ".join(words[:i] + words[i + 1 :])) for i in range(len(words))]
    return groups


def group_keys(key: str) -> list[str]:
    """A title key's groups as strings, stored per alias (`story_alias_groups`) so that a run looks up only the
    aliases that could join its titles: the no-space form, and `<words> <position> <key without that word>`
    (a no-space form has no space, so the two never meet). Same definition in SQL: warehouse/backfill.py."""
    return [g[1] if g[0] == "nospace" else f"{g[0]} {g[1]} {g[2]}" for g in _groups(key)]


def cluster_titles(keys: set[str], existing: dict[str, str]) -> dict[str, str]:
    """Title key → story id for the given keys: near-identical keys share one id, an existing one if any.

    Only the existing keys that share a group with a given key matter: the others may be left out of
    `existing` (the run passes only those, looked up by `group_keys`)."""
    members: dict[tuple, set[str]] = defaultdict(set)
    for key in keys:
        for group in _groups(key):
            members[group].add(key)
    for key in existing:  # only the existing keys that could match a new one
        for group in _groups(key):
            if group in members:
                members[group].add(key)
    parent: dict[str, str] = {}

    def find(k: str) -> str:
        parent.setdefault(k, k)
        while parent[k] != k:
            parent[k] = parent[parent[k]]
            k = parent[k]
        return k

    for group, found in members.items():
        for a, b in combinations(sorted(found), 2):
            if group[0] == "nospace" or _one_letter_apart(a.split(" ")[group[1]], b.split(" ")[group[1]]):
                ra, rb = find(a), find(b)
                parent[max(ra, rb)] = min(ra, rb)
    clusters: dict[str, list[str]] = defaultdict(list)
    for key in sorted(keys | {k for found in members.values() for k in found}):
        clusters[find(key)].append(key)
    ids: dict[str, str] = {}
    for cluster in clusters.values():
        old = sorted(existing[k] for k in cluster if k in existing)
        sid = old[0] if old else stable_id("story", cluster[0])
        ids.update((k, sid) for k in cluster if k in keys)
    return ids


def pick(forms: Counter[str]) -> str:
    """The most frequent form; ties broken by the text itself, never by arrival order."""
    return min(forms, key=lambda f: (-forms[f], f))
