"""A small daily run judged on the evidence it has: every page of a small run losing its title is a
layout change and stops the run (the Prefect UI shows it failed); two error pages of five are not."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from huunghi.corpus import generate, read_truth
from huunghi.flows.pipeline import pipeline
from huunghi.quality.gates import GateFailed
from huunghi.warehouse import store
from tests.test_pipeline import query

pytestmark = pytest.mark.usefixtures("prefect_server")  # end-to-end: a real Prefect API


def test_twelve_of_twelve_pages_without_a_title_stop_the_run(tmp_path):
    corpus = generate(tmp_path / "c", 12, seed=51)
    src = tmp_path / "src"
    src.mkdir()
    for page in read_truth(corpus):  # the layout changed: the article's lines are gone, the furniture stays
        lines = (corpus / page["file"]).read_text("utf-8").split("\n")
        furniture = next(i for i, line in enumerate(lines) if line.startswith(("Nguồn:", "Tin bài liên quan")))
        (src / Path(page["file"]).name).write_text("\n".join([*lines[:2], "", *lines[furniture:]]), "utf-8")
    root = tmp_path / "wh"
    with pytest.raises(GateFailed, match=r"with probability"):
        pipeline(sources=[str(src)], warehouse=str(root))
    assert not store.has_catalog(root)  # nothing published


def test_two_error_pages_of_five_are_quarantined_and_the_run_goes_on(tmp_path):
    corpus = generate(tmp_path / "c", 3, seed=52)
    src = tmp_path / "src"
    src.mkdir()
    for page in read_truth(corpus):
        shutil.copy(corpus / page["file"], src / Path(page["file"]).name)
    for n in range(2):  # what an error page saved as a file looks like: not a page at all
        (src / f"error{n}.html").write_bytes(b"%PDF-1.7\n" + bytes([n]) * 64)
    root = tmp_path / "wh"
    pipeline(sources=[str(src)], warehouse=str(root))
    assert query(root, "SELECT outcome, count(*) FROM pages GROUP BY outcome ORDER BY outcome") == [
        ("article", 3),
        ("quarantine", 2),
    ]
