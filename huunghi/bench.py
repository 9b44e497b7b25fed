"""`make bench`: generate N pages, run the pipeline once on them, print pages/s per stage and overall.

A benchmark, not a test: it prints figures and asserts nothing. The corpus is cached under var/bench;
the warehouse is new for every run so that load measures a full write.
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
import time
from pathlib import Path

from huunghi.corpus import generate

BENCH_DIR = Path(__file__).resolve().parent.parent / "var" / "bench"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--pages", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=2022)
    parser.add_argument("--batch-size", type=int, default=2000)
    args = parser.parse_args()

    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "120")
    os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
    if home := os.environ.get("PREFECT_HOME"):
        Path(home).mkdir(parents=True, exist_ok=True)

    corpus = BENCH_DIR / f"corpus-{args.pages}-{args.seed}"
    if not (corpus / ".complete").exists():
        t0 = time.perf_counter()
        generate(corpus, args.pages, args.seed)
        (corpus / ".complete").write_text("ok\n")
        print(f"generated {args.pages} pages in {time.perf_counter() - t0:.1f} s")
    size = sum(p.stat().st_size for p in corpus.rglob("*.txt"))

    from flows.pipeline import pipeline

    warehouse = Path(tempfile.mkdtemp(prefix="huunghi-bench-"))
    try:
        t0 = time.perf_counter()
        summary = pipeline(sources=[str(corpus)], warehouse=str(warehouse), batch_size=args.batch_size)
        wall = time.perf_counter() - t0
    finally:
        shutil.rmtree(warehouse, ignore_errors=True)

    n = summary.pages
    stages = sum(summary.stage_seconds.values())
    print(f"\n{n} pages ({size / n / 1024:.1f} KiB each), {os.cpu_count()} cores, batch {args.batch_size}")
    print(f"{'stage':<10}{'seconds':>10}{'pages/s':>12}")
    for stage, seconds in summary.stage_seconds.items():
        print(f"{stage:<10}{seconds:>10.2f}{n / seconds:>12,.0f}")
    print(f"{'stages':<10}{stages:>10.2f}{n / stages:>12,.0f}")
    print(f"{'flow run':<10}{wall:>10.2f}{n / wall:>12,.0f}   (includes Prefect server start and flow bookkeeping)")
    print(f"counts: {summary.counts}")


if __name__ == "__main__":
    main()
