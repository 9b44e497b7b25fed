"""Where the stages' batches run: Prefect's thread pool on this machine (default), or Dask through
prefect-dask's DaskTaskRunner — a local cluster, or a real one by address.

Chosen by HUUNGHI_DASK_ADDRESS (or `huunghi run --dask`): unset = threads; `local` = a local Dask
cluster of one single-threaded worker process per core; `tcp://host:8786` = that scheduler. On Dask the
batches of a stage are spread over the workers and each worker runs its batch on one core
(huunghi.parallel sees it is inside a Dask worker), so Dask, not huunghi, owns the parallelism.
"""

from __future__ import annotations

import os

from prefect.task_runners import TaskRunner, ThreadPoolTaskRunner

from huunghi.settings import environment


class DaskMissing(RuntimeError):
    """--dask (or HUUNGHI_DASK_ADDRESS) without the `dask` extra installed."""


def task_runner(address: str | None = None) -> TaskRunner:
    address = address if address is not None else environment().dask_address or None
    if not address:
        return ThreadPoolTaskRunner()
    try:
        from prefect_dask import DaskTaskRunner
    except ImportError as exc:
        raise DaskMissing(
            "Dask needs the optional extra: pip install 'huunghi[dask]' (prefect-dask), or leave --dask unset"
        ) from exc

    if address == "local":
        return DaskTaskRunner(
            cluster_kwargs={"n_workers": os.cpu_count() or 1, "threads_per_worker": 1, "processes": True,
                            "dashboard_address": ":0"},
        )  # fmt: skip
    return DaskTaskRunner(address=address)
