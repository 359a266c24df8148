"""A batch of renewal jobs: clusters side by side, the jobs of one cluster one after another.

`ucterm renew --due DAYS` and the TUI's "renew the marked certificates" make several jobs at once.
They run in *lanes*, one per cluster (the cluster of the job's plan): lanes side by side, at most
`parallel` at a time, so that eight clusters take the time of their slowest instead of the sum;
inside a lane the jobs follow one another and share one :class:`~ucterm.renewal.nodes.NodePool`,
so each node greets ucterm once for all of them (a VOS CLI login takes 10-60 s on real appliances,
§1.1). Two jobs never restart services on one cluster at once (a multi-server tomcat certificate
reaches the IM&P nodes of another lane): each runner holds its clusters' restart locks
(:mod:`ucterm.renewal.restartlock`) through its restart phase.

A job is journaled when its lane reaches it, with the batch's id, so that `ucterm jobs` shows what
really runs, and a batch killed before a lane started leaves nothing half made: the next
`--due` run finds those certificates still due. Anything that escapes a job (kill -9 stands
for it: a KeyboardInterrupt, a cancellation) stops every lane at once; the journals hold what the
next run resumes. A job that cannot run (its nodes are not ready, another process holds it) is a
result of the batch, never its end.
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from ucterm.credentials import CredentialStore
from ucterm.errors import UctermError
from ucterm.inventory import Inventory
from ucterm.renewal.journal import Job, JobSummary, Journal, JournalError
from ucterm.renewal.model import Plan
from ucterm.renewal.nodes import NodePool
from ucterm.renewal.runner import Runner

__all__ = ["Batch", "BatchItem", "BatchResult", "RunJob", "installed_by_finished_jobs", "new_batch_id",
           "with_runners"]

#: Runs one job of the batch to where it stops (its runner's run(); the TUI's run screen shows it too)
#: and returns its end state. A UctermError means it could not run (JournalError: another process runs
#: it) and is a result of the batch; anything else escapes the batch and stops every lane.
RunJob = Callable[[Job, NodePool], Awaitable[str]]


def with_runners(make_runner: Callable[[Job, NodePool], Runner]) -> RunJob:
    """A RunJob that builds each job's runner with `make_runner` and runs it (the headless batch)."""
    async def run(job: Job, pool: NodePool) -> str:
        return str(await make_runner(job, pool).run())
    return run


def new_batch_id(kind: str) -> str:
    """`20261202-0700-due30-a1b2`: when, what made it, and a few random characters."""
    return f"{datetime.now(UTC):%Y%m%d-%H%M%S}-{kind}-{secrets.token_hex(2)}"


@dataclass(frozen=True)
class BatchItem:
    """One job of a batch: a new one (`plan`) or a journaled one to resume (`job_id`)."""

    cluster: str
    unit: str
    plan: Plan | None = None
    job_id: str | None = None

    @property
    def label(self) -> str:
        return f"{self.cluster}/{self.unit}"


@dataclass(frozen=True)
class BatchResult:
    item: BatchItem
    #: The job's id (None when it could not even be journaled).
    job: str | None
    #: The runner's end state, or the journal's status when the job could not run.
    state: str
    #: Why the job could not run (one sentence), else empty.
    error: str = ""


class Batch:
    """Runs `items` in lanes (see the module docstring)."""

    def __init__(self, items: Sequence[BatchItem], *, inventory: Inventory, credentials: CredentialStore,
                 run_job: RunJob, batch_id: str, parallel: int = 4,
                 on_job: Callable[[Job, BatchItem], Awaitable[None] | None] | None = None) -> None:
        if parallel < 1:
            raise ValueError(f"a batch runs {parallel} clusters at a time; use 1 or more")
        self.items = list(items)
        self.inventory = inventory
        self.credentials = credentials
        self.run_job = run_job
        self.batch_id = batch_id
        self.parallel = parallel
        self.on_job = on_job
        self.results: list[BatchResult] = []

    def lanes(self) -> list[list[BatchItem]]:
        """The items by cluster, in inventory order; resumed jobs before new ones in each lane."""
        order = {c.name: i for i, c in enumerate(self.inventory.clusters)}
        by_cluster: dict[str, list[BatchItem]] = {}
        for item in sorted(self.items, key=lambda i: (order.get(i.cluster, len(order)), i.plan is not None)):
            by_cluster.setdefault(item.cluster, []).append(item)
        return list(by_cluster.values())

    async def run(self) -> list[BatchResult]:
        gate = asyncio.Semaphore(self.parallel)

        async def lane(items: list[BatchItem]) -> None:
            async with gate:
                pool = NodePool(self.credentials)
                try:
                    for item in items:
                        self.results.append(await self._one(item, pool))
                finally:
                    await asyncio.shield(pool.close())

        tasks = [asyncio.ensure_future(lane(items)) for items in self.lanes()]
        try:
            done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_EXCEPTION)
            for task in done:
                task.result()  # a lane's escape (kill -9 stands for it) stops the batch: raised here
            await asyncio.gather(*tasks)
        except BaseException:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            raise
        return self.results

    async def _one(self, item: BatchItem, pool: NodePool) -> BatchResult:
        try:
            job = (Journal.create(item.plan, self.inventory.path, batch=self.batch_id) if item.plan is not None
                   else Journal.open(item.job_id or ""))
        except UctermError as exc:
            return BatchResult(item, item.job_id, "failed", str(exc))
        if self.on_job is not None:
            said = self.on_job(job, item)
            if said is not None:
                await said
        try:
            state = await self.run_job(job, pool)
        except JournalError as exc:  # another process runs it
            return BatchResult(item, job.id, "running", str(exc))
        except UctermError as exc:  # nodes not ready, read-only, abandoned: the job is as it was
            return BatchResult(item, job.id, Journal.open(job.id).status(), str(exc))
        return BatchResult(item, job.id, state)


def installed_by_finished_jobs(jobs: Sequence[JobSummary], clusters: Sequence[str]) -> dict[str, str]:
    """SHA-256 → job id of the certificates that finished jobs on `clusters` installed (from their
    validate steps), for the rule that a certificate due again at once is not renewed again (due.py)."""
    out: dict[str, str] = {}
    for summary in jobs:
        if summary.status != "done" or summary.cluster not in clusters:
            continue
        try:
            job = Journal.open(summary.job)
        except UctermError:
            continue
        for step in job.plan.steps_of("validate"):
            leaf = job.steps[step.id].done.get("validated", {}).get("leaf")
            if isinstance(leaf, str):
                out.setdefault(leaf, job.id)
    return out
