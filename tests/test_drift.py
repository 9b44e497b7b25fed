"""Layout drift: a run whose share of doubtful pages is clearly above the site's usual share stops before
anything is published; a small batch only warns (a rate says little about a handful of pages)."""

from __future__ import annotations

from datetime import UTC, datetime

import pyarrow as pa
import pytest

from huunghi.quality.gates import DRIFT_DEFAULT_BOUND, GateFailed, Quality, drift_bound
from huunghi.quality.tables import CLEANED


def test_the_bound_follows_the_sites_usual_share():
    assert drift_bound(0, 50) == DRIFT_DEFAULT_BOUND  # too little history: the fixed bound
    assert drift_bound(0, 1000) == 0.15  # a site that is never doubtful: 15% is clearly above it
    assert drift_bound(60, 1000) == 0.21  # 6% usual: 15 points above
    assert drift_bound(150, 1000) == 0.3  # 15% usual: twice it
    assert drift_bound(400, 1000) == 0.5  # never more than half


def cleaned(rows: int, doubtful: int) -> pa.Table:
    when = datetime(2024, 5, 1, tzinfo=UTC)
    return pa.Table.from_pylist(
        [
            {"source_uri": f"file:///p{n}.txt", "title": f"Tiêu đề số {n}", "published_at": when,
             "lead": "Đoạn mở đầu.", "body": "Một đoạn thân bài.", "body_paragraphs": 1, "extractor": "layout",
             "parse_confidence": 0.5 if n < doubtful else 1.0, "doubtful": int(n < doubtful)}
            for n in range(rows)
        ],
        schema=CLEANED,
    )  # fmt: skip


@pytest.mark.slow
def test_cleaned_gate_stops_a_run_clearly_above_the_usual_share():
    quality = Quality()
    quality.drift_max_share = drift_bound(60, 1000)  # 21%
    assert quality.validate("cleaned", cleaned(40, 8)).passed  # 20%: the site as usual
    with pytest.raises(GateFailed, match=r"expect_column_mean_to_be_between\(doubtful\)"):
        quality.validate("cleaned", cleaned(40, 12))  # 30%
    small = quality.validate("cleaned", cleaned(10, 5))  # half of a handful: a warning, not a stop
    assert small.passed and any("doubtful" in w for w in small.warnings)
