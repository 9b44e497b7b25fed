"""The flow ships each clean batch a name for the warehouse's knowledge, never the knowledge itself (issue 26)."""

from __future__ import annotations

import pickle

import pytest

from huunghi import parallel
from huunghi.corpus import generate_page
from huunghi.flows.pipeline import pipeline
from tests.test_clean_variants import STORY_C
from tests.test_knowledge_by_key import _unrelated, _warehouse

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("prefect_server")]


def test_what_a_clean_batch_is_shipped_does_not_grow_with_the_warehouse(tmp_path, monkeypatch):
    src = tmp_path / "src"
    src.mkdir()
    for n in range(3):
        (src / f"p{n}.txt").write_text("\n".join(generate_page(5, n).lines), encoding="utf-8")
    shipped: dict[str, list[int]] = {}
    real = parallel.map_chunks

    def recording(fn, items, *args, **kwargs):
        shipped.setdefault(current, []).append(len(pickle.dumps(fn)))  # the function with its knowledge
        return real(fn, items, *args, **kwargs)

    monkeypatch.setattr(parallel, "map_chunks", recording)
    for current, extra in (("a", 0), ("b", 20_000)):
        _warehouse(tmp_path / current, [STORY_C, *_unrelated(extra)], _unrelated(extra // 10))
        pipeline(sources=[str(src)], warehouse=str(tmp_path / current), dry_run=True)
    assert shipped["a"] and len(shipped["a"]) == len(shipped["b"])
    assert max(shipped["b"]) < 1000  # before: every story title and furniture line of the warehouse (~1 MB here)
    assert max(shipped["b"]) - max(shipped["a"]) < 16
