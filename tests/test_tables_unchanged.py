"""Every warehouse table holds the rows the code of commit 4d3c4aa gives on the same inputs: the bundled corpus,
adversarial pages, HTML, .html.gz and WARC forms, in two runs (scripts/table-digests.py says which inputs and
which columns are left out, and the one page where 4d3c4aa stops instead). The golden is
tests/data/table-digests.json; a change to the tables that is intended rewrites it
(`.venv/bin/python scripts/table-digests.py --write`) in the commit that says why.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import sys
import warnings
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parent.parent / "scripts" / "table-digests.py"


def _script():
    """scripts/table-digests.py as a module (its name has a dash: not importable by name)."""
    if (loaded := sys.modules.get("table_digests")) is not None:
        return loaded
    spec = importlib.util.spec_from_file_location("table_digests", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules["table_digests"] = module  # dataclasses look their module up while the file executes
    spec.loader.exec_module(module)
    return module


@pytest.mark.e2e
@pytest.mark.usefixtures("prefect_server")
def test_every_table_is_the_golden_one(tmp_path):
    digests = _script()
    golden = json.loads(digests.GOLDEN.read_text("utf-8"))
    tables, notes = digests.build(tmp_path / "warehouse", golden)
    differences, more = digests.compare(golden, tables)
    for note in notes + more:
        warnings.warn(note, stacklevel=1)  # a new table or column is allowed: said, not failed
    assert not differences, "tables differ from tests/data/table-digests.json:\n" + "\n".join(differences)


def test_compare_names_the_differing_table_its_counts_and_rows():
    digests = _script()

    def table(*rows: str):
        return digests.Table(["a"], [(hashlib.sha256(r.encode()).hexdigest(), r) for r in rows])

    golden = digests.digests({"same": table('["x"]'), "changed": table('["1"]', '["2"]'), "gone": table()})
    now = {"same": table('["x"]'), "changed": table('["1"]', '["3"]', '["4"]'), "added": table('["n"]')}
    differences, notes = digests.compare(golden, now)
    assert differences == [
        'changed: 3 rows, golden 2: 2 row(s) not in the golden, 1 golden row(s) not here (columns: a)\n    now: ["3"]\n'
        '    now: ["4"]',
        "gone: missing (golden: 0 rows)",
    ]
    assert notes == ["added: new table, 1 rows (not in the golden)"]
