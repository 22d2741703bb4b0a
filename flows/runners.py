"""Task runners: threads on the local machine, or a Dask cluster through prefect-dask."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from prefect.task_runners import ThreadPoolTaskRunner

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RunnerChoice:
    """Where a flow's tasks run.

    Attributes:
        dask: run on Dask (prefect-dask) instead of local threads.
        address: scheduler address of an existing cluster (``tcp://host:8786``); None with
            ``dask`` starts a LocalCluster.
        workers: workers of that LocalCluster (one thread each), or local threads.
    """

    dask: bool = False
    address: str | None = None
    workers: int = 2

    def task_runner(self):
        """The Prefect task runner for this choice."""
        if not self.dask:
            return ThreadPoolTaskRunner(max_workers=self.workers)
        from prefect_dask import DaskTaskRunner

        if self.address:
            log.info("tasks run on the Dask cluster at %s", self.address)
            return DaskTaskRunner(address=self.address)
        log.info("tasks run on a local Dask cluster of %d workers", self.workers)
        return DaskTaskRunner(
            cluster_class="distributed.LocalCluster",
            cluster_kwargs={
                "n_workers": self.workers,
                "threads_per_worker": 1,
                "processes": True,
                "dashboard_address": None,
            },
        )

    def describe(self) -> str:
        """One line for logs and reports."""
        if not self.dask:
            return f"local threads ({self.workers})"
        if self.address:
            return f"Dask at {self.address}"
        return f"local Dask cluster ({self.workers} workers)"
