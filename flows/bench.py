"""`make bench`: generate N pages, run the pipeline once on them, print pages/s per stage and overall.

For each format asked (text, html.gz). For HTML it also times, in the same run and on the same pages,
bare `trafilatura.extract` and huunghi's HTML extraction, each on one core, so the two can be compared.
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

from huunghi.corpus import GENERATOR_VERSION, generate
from huunghi.settings import DEFAULT_BATCH_SIZE, cache_dir


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--pages", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=2022)
    parser.add_argument("--batch-size", type=int, default=DEFAULT_BATCH_SIZE)
    parser.add_argument("--format", action="append", choices=["text", "html.gz"], help="repeatable; default both")
    args = parser.parse_args()
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "120")
    os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
    if home := os.environ.get("PREFECT_HOME"):
        Path(home).mkdir(parents=True, exist_ok=True)
    for fmt in args.format or ["text", "html.gz"]:
        bench(args.pages, args.seed, args.batch_size, fmt)


def extraction_per_core(corpus: Path, limit: int = 1000) -> None:
    """bare trafilatura.extract vs huunghi's HTML extraction on the same pages, one core each."""
    import trafilatura

    from huunghi.readers import discover, read_files

    pages = read_files(discover([corpus])[:limit]).pages
    t0 = time.perf_counter()
    for page in pages:
        trafilatura.extract(page.text)
    bare = time.perf_counter() - t0
    from huunghi.knowledge import NO_KNOWLEDGE
    from huunghi.parsing.clean import clean_chunk

    t0 = time.perf_counter()
    clean_chunk(pages, NO_KNOWLEDGE)
    ours = time.perf_counter() - t0
    n = len(pages)
    print(
        f"one core, {n} HTML pages: bare trafilatura.extract {n / bare:,.0f} pages/s; "
        f"huunghi HTML extraction (render + line parser + MinHash) {n / ours:,.0f} pages/s"
    )


def bench(pages: int, seed: int, batch_size: int, fmt: str) -> None:
    corpus = cache_dir() / "bench" / f"corpus-v{GENERATOR_VERSION}-{pages}-{seed}-{fmt}"
    if not (corpus / ".complete").exists():
        t0 = time.perf_counter()
        generate(corpus, pages, seed, formats=(fmt,))
        (corpus / ".complete").write_text("ok\n")
        print(f"generated {pages} {fmt} pages in {time.perf_counter() - t0:.1f} s")
    size = sum(p.stat().st_size for p in corpus.rglob("*" + {"text": ".txt", "html.gz": ".html.gz"}[fmt]))
    if fmt != "text":
        extraction_per_core(corpus)

    from huunghi.flows.pipeline import pipeline

    warehouse = Path(tempfile.mkdtemp(prefix="huunghi-bench-"))
    try:
        t0 = time.perf_counter()
        summary = pipeline(sources=[str(corpus)], warehouse=str(warehouse), batch_size=batch_size)
        wall = time.perf_counter() - t0
    finally:
        shutil.rmtree(warehouse, ignore_errors=True)

    n = summary.pages
    stages = sum(summary.stage_seconds.values())
    print(f"\n{n} {fmt} pages ({size / n / 1024:.1f} KiB each on disk), {os.cpu_count()} cores, batch {batch_size}")
    print(f"{'stage':<10}{'seconds':>10}{'pages/s':>12}")
    for stage, seconds in summary.stage_seconds.items():
        print(f"{stage:<10}{seconds:>10.2f}{n / seconds:>12,.0f}")
    print(f"{'stages':<10}{stages:>10.2f}{n / stages:>12,.0f}")
    print(f"{'flow run':<10}{wall:>10.2f}{n / wall:>12,.0f}   (includes Prefect server start and flow bookkeeping)")
    clean, enrich = summary.stage_seconds.get("clean", 0.0), summary.stage_seconds.get("enrich", 0.0)
    print(f"enrichment {1000 * enrich / n:.2f} ms a page vs extraction (clean) {1000 * clean / n:.2f} ms a page")
    print(f"counts: {summary.counts}")


if __name__ == "__main__":
    main()
