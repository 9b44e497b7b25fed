"""The flow ships each clean batch a name for the warehouse's knowledge, never the knowledge itself (issue 26)."""

from __future__ import annotations

import pickle

import pytest

from huunghi import parallel
from huunghi.corpus import generate_page
from huunghi.flows.pipeline import pipeline
from tests.test_clean_variants import STORY_C
from tests.test_knowledge_by_key import _fill, _unrelated

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("prefect_server")]


def test_what_a_clean_batch_is_shipped_does_not_grow_with_the_warehouse(tmp_path, monkeypatch):
    src = tmp_path / "src"
    src.mkdir()
    for n in range(3):
        (src / f"p{n}.txt").write_text("\n".join(generate_page(5, n).lines), encoding="utf-8")
    shipped: dict[tuple[str, str], int] = {}
    real = parallel.map_chunks

    def recording(fn, items, *args, **kwargs):
        name = getattr(getattr(fn, "func", None), "__name__", "")
        if name in ("stage_piece", "restage_piece"):  # the first and second clean: the function and its knowledge
            shipped[current, name] = len(pickle.dumps(fn))
        return real(fn, items, *args, **kwargs)

    monkeypatch.setattr(parallel, "map_chunks", recording)
    for current, extra in (("a", 0), ("b", 20_000)):
        _fill(tmp_path / current, [STORY_C, *_unrelated(extra)], _unrelated(extra // 10))
        pipeline(sources=[str(src)], warehouse=str(tmp_path / current), dry_run=True)
    assert ("a", "stage_piece") in shipped and shipped.keys() == {(c, n) for c in "ab" for (_, n) in shipped}
    # before: every story title and furniture line of the warehouse (~1 MB in b); now the warehouse's name
    # (and, in the second pass, what this run's three pages taught)
    assert shipped["b", "stage_piece"] < 1000
    for name in {n for _, n in shipped}:
        assert abs(shipped["b", name] - shipped["a", name]) < 16
