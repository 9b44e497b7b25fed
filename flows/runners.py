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

ADDRESS_VARIABLE = "HUUNGHI_DASK_ADDRESS"


def task_runner(address: str | None = None) -> TaskRunner:
    address = address if address is not None else os.environ.get(ADDRESS_VARIABLE) or None
    if not address:
        return ThreadPoolTaskRunner()
    from prefect_dask import DaskTaskRunner

    if address == "local":
        return DaskTaskRunner(
            cluster_kwargs={"n_workers": os.cpu_count() or 1, "threads_per_worker": 1, "processes": True,
                            "dashboard_address": ":0"},
        )  # fmt: skip
    return DaskTaskRunner(address=address)
