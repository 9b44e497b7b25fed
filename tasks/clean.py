"""Ingest and boilerplate removal as Prefect tasks: a batch of inputs read and cleaned, spread over all cores."""

from __future__ import annotations

from collections.abc import Sequence
from functools import partial
from pathlib import Path

from prefect import task
from prefect.cache_policies import NO_CACHE

from huunghi import parallel
from huunghi.firstpass import Input
from huunghi.knowledge import Knowledge
from huunghi.readers.files import absolute
from huunghi.records import CleanResult, PageSummary, Quarantined, RawPage, StagedPass
from huunghi.staging import Stage, piece_name, restage_piece, stage_piece, stage_second_pass
from huunghi.tasks.caching import digest
from huunghi.warehouse.reads import StoredKnowledge

# No Prefect timeout_seconds: the batches run in Prefect's worker threads, where its timeout cannot interrupt
# anything (it warns so on every batch); the limit is enforced on the worker processes (huunghi/parallel.py).


def _why(limit: float) -> str:
    return f"not cleaned within the batch time limit of {limit:g} s (HUUNGHI_BATCH_SECONDS): its worker was ended"


def _timed_out_piece(
    stage: Stage, part: str, limit: float, pieces: Sequence[tuple[int, Sequence[Input]]]
) -> StagedPass:
    """A piece whose worker overran the limit: each of its inputs quarantined as `timeout`, named as its reader
    names it, and whatever the worker staged of it removed."""
    [(piece, inputs)] = pieces
    stage.drop(piece_name(part, piece))
    why = _why(limit)
    return StagedPass(part, unreadable=[Quarantined.of(item, "clean", "timeout", why) if isinstance(item, RawPage)
                                        else Quarantined(absolute(Path(item.path)).as_uri(), None, "clean", "timeout",
                                                         why)
                                        for item in inputs])  # fmt: skip


def _timed_out_again(
    stage: Stage, part: str, drop: set[str], limit: float, pieces: Sequence[int]
) -> tuple[int, tuple[list[PageSummary], list[Quarantined]]]:
    """A piece whose second pass overran the limit: its kept pages quarantined as `timeout`, the others stay."""
    [piece] = pieces
    late = [Quarantined.of(page, "clean", "timeout", _why(limit)) for page, _ in stage.kept(piece_name(part, piece))
            if page.source_uri not in drop]  # fmt: skip
    return piece, stage_second_pass(stage, part, piece, CleanResult(quarantined=late), drop)


# Cleaning is deterministic: the same inputs, knowledge and code give the same batch. A staged batch is kept
# for reuse (huunghi/staging.py: Stage.remember) until a run publishes, so a run retried after a failure in a later
# stage does not clean its batches again.
@task(name="read, clean and stage pages", retries=1, retry_delay_seconds=1, cache_policy=NO_CACHE)
def read_clean_and_stage(
    inputs: list[Input], stage: Stage, part: str, stored: StoredKnowledge | None = None
) -> StagedPass:
    """Read, clean and stage a batch, piece by piece, each piece in the worker process that reads it (the pages'
    text never reaches this process), with what earlier runs taught (`stored`, asked by key in the workers): the
    flow gets a summary of each page. A batch staged before from the same inputs (each file's path, size and
    modification time, or the pages' hashes), the same warehouse snapshot and the same code is reused."""
    key = digest("read_clean_and_stage", inputs, stored)
    if (reused := stage.reuse(key, part)) is not None:
        return reused
    limit = parallel.batch_seconds()
    pieces = list(enumerate(parallel.pieces(inputs)))
    staged = StagedPass.merge(part, parallel.map_chunks(
        partial(stage_piece, stage=stage, part=part, stored=stored), pieces, limit,
        partial(_timed_out_piece, stage, part, limit), each=True, here=len(pieces) == 1))  # fmt: skip
    stage.save_pass(staged)
    stage.remember(key, part)
    return staged


@task(name="clean again and stage", retries=0, cache_policy=NO_CACHE)
def clean_again_and_stage(
    stage: Stage,
    part: str,
    pieces: list[int],
    known: Knowledge,
    stored: StoredKnowledge | None,
    drop: set[str],
    here: bool = False,
) -> tuple[dict[int, list[PageSummary]], list[Quarantined]]:
    """The second pass of a staged batch's `pieces` that hold pages kept for it, each in a worker process: the
    kept pages parsed again with what the whole run learned. Each piece's summaries, and the pages refused."""
    limit = parallel.batch_seconds()
    done = parallel.map_chunks(partial(restage_piece, stage=stage, part=part, known=known, stored=stored, drop=drop),
                               pieces, limit, partial(_timed_out_again, stage, part, drop, limit), each=True,
                               here=here)  # fmt: skip
    return {piece: summaries for piece, (summaries, _) in done}, [q for _, (_, lost) in done for q in lost]
