"""`make bench`: huunghi against its peers on the same generated HTML pages and cores, in one run.

Prints, for N pages (default 2,000; generated once and cached under var/bench):
- one core: bare `trafilatura.extract` vs huunghi's HTML extraction (render + line parser + MinHash);
- both cores, wall and peak memory: bare trafilatura in two processes; the datatrove peer (its JSONL reader →
  its trafilatura extractor → its Parquet writer, two workers); `huunghi run` as a user runs it (the CLI,
  its temporary Prefect server, every stage, gate, the load and the search index) into a new warehouse;
- each stage of that run: seconds, pages/s, peak memory of the process tree while it ran;
- the ratios; and the fixed cost: a 3-page run into a new warehouse, and the same run again (nothing new).

`make bench-scale` prints wall, pages/s and peak memory of `huunghi run` for 2,000 / 20,000 / 200,000 pages.
`make bench-history N=…` builds a warehouse of N simulated articles directly (flows/history.py), then prints the
same 3-page run into it, into an empty warehouse and (`--real M`) into M real-pipeline articles: wall, peak
memory and seconds per stage, best of two, each into a fresh copy; with the build's time, the size on disk and
the seconds of the whole-warehouse audit (warehouse/audit.sql as `huunghi doctor` runs it; a load audits its run).
A benchmark, not a test: it prints figures and asserts nothing. Every figure is on the project's own
generated corpus, which proves only what its author believed about the pages; memory is the resident
set of the command and all its children (Prefect server, worker processes) sampled every 0.1 s.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from huunghi.corpus import GENERATOR_VERSION, generate
from huunghi.settings import cache_dir

_PAGE = os.sysconf("SC_PAGE_SIZE")


def tree_rss(pid: int) -> int:
    """Resident bytes of a process and all its descendants."""
    parents: dict[int, int] = {}
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            try:
                with open(f"/proc/{entry.name}/stat", "rb") as f:
                    fields = f.read().rsplit(b")", 1)[1].split()
                parents[int(entry.name)] = int(fields[1])
            except (OSError, IndexError, ValueError):
                continue
    family, grew = {pid}, True
    while grew:
        more = {p for p, parent in parents.items() if parent in family} - family
        family |= more
        grew = bool(more)
    total = 0
    for p in family:
        try:
            with open(f"/proc/{p}/statm", "rb") as f:
                total += int(f.read().split()[1]) * _PAGE
        except (OSError, IndexError, ValueError):
            continue
    return total


class Measured:
    """A command run to its end, its process tree's memory sampled meanwhile."""

    def __init__(self, command: list[str], env: dict[str, str] | None = None) -> None:
        self.samples: list[tuple[float, int]] = []
        started = time.perf_counter()
        process = subprocess.Popen(command, env={**os.environ, **(env or {})}, stdout=subprocess.PIPE, text=True)
        watcher = threading.Thread(target=self._watch, args=(process,), daemon=True)
        watcher.start()
        self.output, _ = process.communicate()
        self.wall = time.perf_counter() - started
        watcher.join()
        if process.returncode != 0:
            raise RuntimeError(f"{' '.join(command[:4])} … exited {process.returncode}:\n{self.output[-2000:]}")

    def _watch(self, process: subprocess.Popen) -> None:
        while process.poll() is None:
            self.samples.append((time.time(), tree_rss(process.pid)))
            time.sleep(0.1)

    def peak(self, start: float = 0.0, end: float = float("inf")) -> int:
        return max((rss for t, rss in self.samples if start <= t <= end), default=0)


def _mb(n: int) -> str:
    return f"{n / 2**20:,.0f} MB"


def corpus(pages: int, seed: int) -> Path:
    """N generated HTML pages (cached), with a JSONL copy in two files for datatrove's two workers."""
    out = cache_dir() / "bench" / f"corpus-v{GENERATOR_VERSION}-{pages}-{seed}-html.gz"
    if not (out / ".complete").exists():
        t0 = time.perf_counter()
        shutil.rmtree(out, ignore_errors=True)
        generate(out, pages, seed, formats=("html.gz",))
        (out / ".complete").write_text("ok\n")
        print(f"generated {pages} HTML pages in {time.perf_counter() - t0:.1f} s (cached in {out})")
    if not (out / "jsonl" / ".complete").exists():
        from trafilatura.utils import decode_file  # the peer gets text decoded the way trafilatura decodes

        files = sorted(out.rglob("*.html.gz"))
        (out / "jsonl").mkdir(exist_ok=True)
        for part in range(2):
            with (out / "jsonl" / f"part{part}.jsonl").open("w", encoding="utf-8") as f:
                for path in files[part::2]:
                    text = decode_file(gzip.decompress(path.read_bytes()))
                    f.write(json.dumps({"id": path.name, "text": text}, ensure_ascii=False) + "\n")
        (out / "jsonl" / ".complete").write_text("ok\n")
    return out


def extraction_per_core(folder: Path, limit: int = 1000) -> None:
    """bare trafilatura.extract vs huunghi's HTML extraction on the same pages, one core each."""
    import trafilatura

    from huunghi.knowledge import NO_KNOWLEDGE
    from huunghi.parsing.clean import clean_chunk
    from huunghi.readers import discover, read_files

    pages = read_files(discover([folder])[:limit]).pages
    t0 = time.perf_counter()
    for page in pages:
        trafilatura.extract(page.text)
    bare = time.perf_counter() - t0
    t0 = time.perf_counter()
    clean_chunk(pages, NO_KNOWLEDGE)
    ours = time.perf_counter() - t0
    n = len(pages)
    print(f"one core, {n} pages: bare trafilatura.extract {n / bare:,.0f} pages/s; huunghi's HTML extraction "
          f"(render + line parser + MinHash) {n / ours:,.0f} pages/s")  # fmt: skip


def _bare_trafilatura(files: list[str]) -> None:
    import trafilatura

    for name in files:
        trafilatura.extract(gzip.decompress(Path(name).read_bytes()))  # bytes: trafilatura decodes them


def _datatrove(jsonl: str, out: str) -> None:
    from datatrove.executor import LocalPipelineExecutor
    from datatrove.pipeline.extractors import Trafilatura
    from datatrove.pipeline.readers import JsonlReader
    from datatrove.pipeline.writers import ParquetWriter

    LocalPipelineExecutor(
        pipeline=[JsonlReader(jsonl), Trafilatura(), ParquetWriter(out)],
        tasks=2,
        workers=2,
        start_method="spawn",  # its default hangs here (see the brief)
        logging_dir=str(Path(out) / "logs"),
        skip_completed=False,
    ).run()


DATATROVE = "datatrove 0.10.1 (JSONL → trafilatura → Parquet)"


def peers(folder: Path) -> dict[str, Measured]:
    """The peers on both cores, each as its own process (so memory is theirs alone)."""
    me = [sys.executable, "-m", "huunghi.flows.bench"]
    out = {"bare trafilatura, 2 processes": Measured([*me, "--peer", "bare", "--input", str(folder)])}
    if (run := datatrove_run(folder)) is not None:
        out[DATATROVE] = run
    return out


def datatrove_run(folder: Path) -> Measured | None:
    """datatrove's extraction of the corpus on both cores, in its own process; None when it is not installed."""
    try:
        import datatrove  # noqa: F401
    except ImportError:
        print("datatrove is not installed (it is a bench-only extra: pip install -e '.[bench]'): peer skipped")
        return None
    me = [sys.executable, "-m", "huunghi.flows.bench"]
    with tempfile.TemporaryDirectory(prefix="huunghi-bench-dt-") as tmp:
        return Measured([*me, "--peer", "datatrove", "--input", str(folder / "jsonl"), "--out", tmp])


def huunghi_run(sources: list[str], warehouse: Path) -> tuple[Measured, dict]:
    """`huunghi run -q` as a user runs it; with its run report (stage seconds and spans). Prefect's stored
    task results are removed first: a cached clean of the same pages would measure nothing."""
    shutil.rmtree(Path(os.environ["PREFECT_HOME"]) / "storage", ignore_errors=True)
    command = [str(Path(sys.executable).parent / "huunghi"), "run", "-q", "--warehouse", str(warehouse)]
    for source in sources:
        command += ["--source", source]
    measured = Measured(command)
    reports = sorted((warehouse / "quality" / "runs").glob("*.json"), key=lambda p: p.stat().st_mtime)
    return measured, json.loads(reports[-1].read_text("utf-8"))


def bench(pages: int, seed: int) -> None:
    folder = corpus(pages, seed)
    extraction_per_core(folder)
    print()
    measured = peers(folder)
    with tempfile.TemporaryDirectory(prefix="huunghi-bench-") as tmp:
        run, report = huunghi_run([str(folder)], Path(tmp) / "wh")
    measured["huunghi run (all stages, gates, load, index; CLI)"] = run

    print(f"both cores ({os.cpu_count()}), {pages} HTML pages:")
    print(f"  {'':<52}{'wall s':>8}{'pages/s':>10}{'peak RSS':>11}")
    for name, m in measured.items():
        print(f"  {name:<52}{m.wall:>8.2f}{pages / m.wall:>10,.0f}{_mb(m.peak()):>11}")
    for name, m in measured.items():
        if m is not run:
            print(f"  ratio huunghi / {name.split(' (')[0]}: {run.wall / m.wall:.2f}")

    total = print_stages(report, run, pages)
    print(f"  {'all stages':<14}{total:>9.2f}{pages / total:>10,.0f}")
    print(f"  {'fixed cost':<14}{run.wall - total:>9.2f}   (start, Prefect server and bookkeeping, Data Docs, exit)")
    clean, enrich = report["stage_seconds"].get("clean", 0.0), report["stage_seconds"].get("enrich", 0.0)
    print(f"  enrichment {1000 * enrich / pages:.2f} ms a page vs extraction (clean) {1000 * clean / pages:.2f} ms")
    fixed_cost(folder)


def print_stages(report: dict, run: Measured, pages: int) -> float:
    """Each stage's seconds, pages/s and peak RSS in one huunghi run; returns the stages' total."""
    print(f"\nstages of the huunghi run ({report['status']}; memory: the process tree while the stage ran):")
    print(f"  {'stage':<14}{'seconds':>9}{'pages/s':>10}{'peak RSS':>11}")
    spans: dict[str, list] = {}
    for stage, start, end in report.get("stage_spans", []):
        spans.setdefault(stage, []).append((start, end))
    for stage, seconds in report["stage_seconds"].items():
        peak = max((run.peak(a, b) for a, b in spans.get(stage, [])), default=0)
        rate = f"{pages / seconds:,.0f}" if seconds > 0 else "-"
        print(f"  {stage:<14}{seconds:>9.2f}{rate:>10}{_mb(peak):>11}")
    return sum(report["stage_seconds"].values())


def fixed_cost(folder: Path) -> None:
    """A 3-page run into a new warehouse, then the same again (nothing new)."""
    with tempfile.TemporaryDirectory(prefix="huunghi-bench-3-") as tmp:
        three = Path(tmp) / "pages"
        three.mkdir()
        for path in sorted(folder.rglob("*.html.gz"))[:3]:
            shutil.copy(path, three / path.name)
        first, _ = huunghi_run([str(three)], Path(tmp) / "wh")
        again, _ = huunghi_run([str(three)], Path(tmp) / "wh")
    print(f"\nfixed cost: a 3-page run {first.wall:.2f} s; the same run again, nothing new, {again.wall:.2f} s "
          f"(peak RSS {_mb(first.peak())})")  # fmt: skip


def scale(sizes: list[int], seed: int, peer: bool = False) -> None:
    """A huunghi run of each size; with `peer`, datatrove's extraction of the same pages right after each, and the
    marginal cost of a page from size to size (the slope of wall time: fixed costs cancel) of both."""
    rows, theirs = [], []
    print(f"{'pages':>9}{'wall s':>9}{'pages/s':>10}{'peak RSS':>11}")
    for pages in sizes:
        folder = corpus(pages, seed)
        with tempfile.TemporaryDirectory(prefix="huunghi-bench-scale-") as tmp:
            run, report = huunghi_run([str(folder)], Path(tmp) / "wh")
        print(f"{pages:>9,}{run.wall:>9.1f}{pages / run.wall:>10,.0f}{_mb(run.peak()):>11}   {report['status']}")
        rows.append((pages, run, report))
        if peer and (other := datatrove_run(folder)) is not None:
            theirs.append(other)
            print(f"{'':>9}{other.wall:>9.1f}{pages / other.wall:>10,.0f}{_mb(other.peak()):>11}   datatrove")
    if len(theirs) == len(rows) > 1:
        print("\nmarginal cost of a page (ms), from one size to the next:")
        print(f"  {'pages':<20}{'huunghi':>9}{'datatrove':>11}{'ratio':>7}")
        for (a, ours_a, _), (b, ours_b, _), dt_a, dt_b in zip(rows, rows[1:], theirs, theirs[1:], strict=False):
            ours, dt = (1000 * (y.wall - x.wall) / (b - a) for x, y in ((ours_a, ours_b), (dt_a, dt_b)))
            print(f"  {f'{a:,} → {b:,}':<20}{ours:>9.2f}{dt:>11.2f}{ours / dt:>7.2f}")
    for pages, run, report in rows:  # where the memory went, size by size
        print(f"\n{pages:,} pages:", end="")
        print_stages(report, run, pages)


def three_pages(seed: int) -> Path:
    """Three generated HTML pages of another seed than the corpora: new to every warehouse benchmarked."""
    out = cache_dir() / "bench" / f"three-v{GENERATOR_VERSION}-{seed + 1}"
    if not (out / ".complete").exists():
        shutil.rmtree(out, ignore_errors=True)
        generate(out, 3, seed + 1, formats=("html.gz",))
        (out / "truth.jsonl").unlink()  # pages only
        (out / ".complete").write_text("ok\n")
    return out


def simulated(n: int) -> tuple[Path, dict]:
    """The warehouse of n simulated articles (cached under var/bench, rebuilt when the builder or the schema
    changes) and how its build went."""
    from huunghi.flows import history

    root = cache_dir() / "bench" / f"history-{n}-{history.fingerprint()}"
    built = root / "built.json"  # beside the warehouse, written last
    if not built.exists():
        t0 = time.perf_counter()
        counts = history.build(root / "wh", n)
        built.write_text(json.dumps({"seconds": time.perf_counter() - t0, "rows": counts}))
        print(f"built {n:,} simulated articles in {time.perf_counter() - t0:.1f} s (cached in {root})")
    return root / "wh", json.loads(built.read_text())


def real(pages: int, seed: int) -> tuple[Path, dict]:
    """The warehouse `huunghi run` makes of `pages` generated pages (cached under var/bench)."""
    root = cache_dir() / "bench" / f"real-v{GENERATOR_VERSION}-{pages}-{seed}"
    built = root / "built.json"
    if not built.exists():
        shutil.rmtree(root, ignore_errors=True)
        run, _ = huunghi_run([str(corpus(pages, seed))], root / "wh")
        built.write_text(json.dumps({"seconds": run.wall}))
        print(f"loaded {pages:,} real-pipeline pages in {run.wall:.1f} s (cached in {root})")
    return root / "wh", json.loads(built.read_text())


def into(warehouse: Path | None, pages: Path, repeats: int) -> tuple[Measured, dict]:
    """The best (by wall) of `repeats` 3-page runs, each into a fresh copy of `warehouse` (None: an empty one)."""
    best: tuple[Measured, dict] | None = None
    for _ in range(repeats):
        with tempfile.TemporaryDirectory(prefix="huunghi-bench-history-") as tmp:
            target = Path(tmp) / "wh"
            if warehouse is not None:
                shutil.copytree(warehouse, target)
            outcome = huunghi_run([str(pages)], target)
        if best is None or outcome[0].wall < best[0].wall:
            best = outcome
    assert best is not None
    return best


def history(n: int, real_pages: int | None, seed: int, repeats: int = 2) -> None:
    from huunghi.flows.history import audit_seconds, disk_bytes

    pages = three_pages(seed)
    targets: dict[str, tuple[Path | None, dict]] = {"empty warehouse": (None, {})}
    targets[f"{n:,} simulated articles"] = simulated(n)
    if real_pages:
        targets[f"{real_pages:,} real-pipeline articles"] = real(real_pages, seed)
    rows = {name: into(warehouse, pages, repeats) for name, (warehouse, _) in targets.items()}

    print(f"\na 3-page run into each warehouse (best of {repeats}, each into a fresh copy):")
    for name, (warehouse, built) in targets.items():
        if warehouse is not None:
            seconds, counts = audit_seconds(warehouse)
            broken = {k: v for k, v in counts.items() if v} or "passes"
            print(f"  {name}: built in {built['seconds']:,.1f} s, {_mb(disk_bytes(warehouse))} on disk; "
                  f"the whole-warehouse audit {seconds:.2f} s ({broken})")  # fmt: skip
    stages = list(dict.fromkeys(s for _, report in rows.values() for s in report["stage_seconds"]))
    width = {s: max(8, len(s)) + 2 for s in stages}
    print(f"  {'into':<34}{'wall s':>8}{'peak RSS':>10}" + "".join(f"{s:>{width[s]}}" for s in stages))
    for name, (run, report) in rows.items():
        cells = "".join(f"{report['stage_seconds'].get(s, 0.0):>{width[s]}.2f}" for s in stages)
        print(f"  {name:<34}{run.wall:>8.2f}{_mb(run.peak()):>10}{cells}   {report['status']}")
    empty = rows["empty warehouse"][0]
    for name, (run, _) in rows.items():
        if run is not empty:
            print(f"  {name}: wall ×{run.wall / empty.wall:.2f}, peak RSS ×{run.peak() / max(empty.peak(), 1):.2f} "
                  "of the empty warehouse's (goal: within 15 %)")  # fmt: skip


def server_up() -> None:
    """The bench home's local Prefect server, up before the first measured run, so that every run finds it as a
    user's next command does (its memory is then outside the runs' process trees: shown here)."""
    from huunghi.flows.api import idle_seconds, start_local_server

    if os.environ.get("PREFECT_API_URL") or idle_seconds() == 0:
        return
    server = start_local_server()
    if server is not None:
        server.wait(120)
        print(f"the Prefect server of {os.environ['PREFECT_HOME']} is up (process {server.pid}, "
              f"{_mb(tree_rss(server.pid))}): each run finds it, outside its process tree")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pages", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=2022)
    parser.add_argument("--scale", type=int, nargs="*", help="bench-scale: these corpus sizes, one run each")
    parser.add_argument("--with-peer", action="store_true", help="bench-scale: datatrove too, and both slopes")
    parser.add_argument("--history", type=int, help="bench-history: a warehouse of this many simulated articles")
    parser.add_argument("--real", type=int, help="bench-history: also into this many real-pipeline articles")
    parser.add_argument("--repeats", type=int, default=2, help="bench-history: runs into each warehouse (best kept)")
    parser.add_argument("--peer", choices=["bare", "datatrove"], help=argparse.SUPPRESS)  # a peer's own process
    parser.add_argument("--input", help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    args = parser.parse_args()
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    os.environ["PREFECT_HOME"] = str(cache_dir() / "bench" / "prefect")  # its own: results removed per run
    if args.peer == "bare":
        from concurrent.futures import ProcessPoolExecutor

        files = [str(p) for p in sorted(Path(args.input).rglob("*.html.gz"))]
        with ProcessPoolExecutor(2) as pool:
            list(pool.map(_bare_trafilatura, [files[0::2], files[1::2]]))
    elif args.peer == "datatrove":
        _datatrove(args.input, args.out)
    else:
        server_up()
        if args.history:
            history(args.history, args.real, args.seed, args.repeats)
        elif args.scale:
            scale(args.scale, args.seed, args.with_peer)
        else:
            bench(args.pages, args.seed)


if __name__ == "__main__":
    main()
