"""The Great Expectations store keeps the latest runs' validation results; older ones move, whole, to
quality/archive/ — GX lists and parses every stored result on each Data Docs build."""

from __future__ import annotations

import pytest

from huunghi.quality.gates import archive_old_results


def _store(project, runs: dict[str, str], suites=("cleaned", "articles")) -> None:
    for suite in suites:
        for run, started in runs.items():
            folder = project / "gx" / "uncommitted" / "validations" / suite / run / started
            folder.mkdir(parents=True)
            (folder / "huunghi-x.json").write_text(f'{{"run": "{run}", "suite": "{suite}"}}', "utf-8")


def test_all_but_the_latest_runs_move_to_the_archive_whole(tmp_path):
    runs = {f"run-{n}": f"2026110{n}T010000.000000Z" for n in (3, 1, 5, 2, 4)}
    _store(tmp_path, runs)
    assert archive_old_results(tmp_path, keep=3) == ["run-1", "run-2"]  # the oldest, by their run time
    store = tmp_path / "gx" / "uncommitted" / "validations"
    for suite in ("cleaned", "articles"):
        assert sorted(p.name for p in (store / suite).iterdir()) == ["run-3", "run-4", "run-5"]
        for run in ("run-1", "run-2"):
            moved = tmp_path / "archive" / "validations" / suite / run / runs[run] / "huunghi-x.json"
            assert moved.read_text("utf-8") == f'{{"run": "{run}", "suite": "{suite}"}}'
    assert archive_old_results(tmp_path, keep=3) == []  # nothing more to move
    assert archive_old_results(tmp_path / "no-project", keep=3) == []


def test_a_run_seen_in_one_suite_only_counts_once(tmp_path):
    _store(tmp_path, {"a": "20260101T000000.000000Z", "b": "20260102T000000.000000Z"})
    _store(tmp_path, {"c": "20260103T000000.000000Z"}, suites=("warehouse",))
    assert archive_old_results(tmp_path, keep=2) == ["a"]
    assert not (tmp_path / "gx" / "uncommitted" / "validations" / "cleaned" / "a").exists()


def test_an_empty_table_passes_without_great_expectations(tmp_path):
    from huunghi.quality.gates import Quality
    from huunghi.warehouse.schema import build

    outcome = Quality(tmp_path).validate("articles", build("articles", []))
    assert outcome.passed and outcome.rows == 0 and not outcome.flagged and outcome.expectations > 0
    assert not (tmp_path / "quality" / "gx").exists()  # no validation stored, no GX context created


@pytest.mark.slow
def test_every_suite_passes_an_empty_table():
    """Why a gate may skip an empty table: Great Expectations finds nothing to stop or quarantine in one."""
    from huunghi.quality.gates import Quality, load_suite_file
    from huunghi.quality.tables import cleaned_table, raw_pages_table
    from huunghi.warehouse.schema import build

    built = {"raw_pages": raw_pages_table([]), "cleaned": cleaned_table([])}
    suites = ["articles", "paragraphs", "stories", "story_appearances", "entities", "mentions", "people",
              "partnerships", "amounts", "pages", "frontier"]  # fmt: skip
    for name in ["raw_pages", "cleaned", *suites]:
        table = built[name] if name in built else build(name, [])
        outcome = Quality().validate_with_gx(name, load_suite_file(name), table)
        assert outcome.passed and not outcome.flagged, (name, outcome.failed)


def test_a_stored_suite_is_reused_while_its_file_is_unchanged_and_replaced_when_it_changes(tmp_path):
    """A run reads the suites an earlier run stored (writing each again cost ~25 ms a gate); a changed suite file
    is stored anew."""
    from huunghi.quality import gates

    context = gates._context(str(tmp_path / "quality"))
    spec = gates.load_suite_file("articles")
    first = gates._definition(context, "articles", spec)
    suite_file = next((tmp_path / "quality").rglob("expectations/articles.json"))
    written = suite_file.stat().st_mtime_ns
    again = gates._definition(context, "articles", spec)
    assert suite_file.stat().st_mtime_ns == written and len(again.suite.expectations) == len(spec["expectations"])
    fewer = {**spec, "expectations": spec["expectations"][:-1]}
    changed = gates._definition(context, "articles", fewer)
    assert len(changed.suite.expectations) == len(spec["expectations"]) - 1 == len(first.suite.expectations) - 1
    assert len(gates._definition(context, "articles", spec).suite.expectations) == len(spec["expectations"])
