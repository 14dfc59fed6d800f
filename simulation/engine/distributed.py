"""Running blocks of paths on Dask (``dask.distributed``): a local cluster or an existing one.

Work units are blocks of paths (a few per task). Each is a pure function of (plan, seed, block), so
the assembled result is identical, to the last bit, to an in-process run with the same seed. A task
whose worker dies is recomputed by the scheduler on another worker; results are placed by block
index (assignment, never accumulation), so nothing is counted twice.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterable, Iterator

from ..errors import FundsimError
from .plan import RunPlan
from .simulate import Arrays, simulate_block

BLOCKS_PER_TASK = 4
"""Blocks of paths per Dask task: large enough to amortise scheduling, small enough to balance."""


def run_blocks(plan: RunPlan, seed: int, paths: int, blocks: list[int]) -> list[tuple[int, Arrays]]:
    """A Dask task: simulate several blocks."""
    return [simulate_block(plan, seed, b, paths) for b in blocks]


def connect(address: str):
    """A Dask client of the scheduler at ``address``; an unparsable or unreachable address is a
    :class:`FundsimError` (the wait is Dask's ``distributed.comm.timeouts.connect``, 30 s unless
    configured, e.g. by ``DASK_DISTRIBUTED__COMM__TIMEOUTS__CONNECT=5s``)."""
    from dask.distributed import Client

    try:
        return Client(address)
    except (OSError, ValueError, TypeError) as e:
        reason = " ".join(str(e).split()) or type(e).__name__
        raise FundsimError(f"--scheduler {address}: cannot connect ({reason})") from None


@contextlib.contextmanager
def dask_runner(
    workers: int | None = None,
    scheduler: str | None = None,
    blocks_per_task: int = BLOCKS_PER_TASK,
    client=None,
) -> Iterator:
    """A block runner on a Dask cluster.

    ``scheduler`` (``tcp://host:port``) connects to an existing cluster; otherwise a
    ``LocalCluster`` of ``workers`` processes with one thread each is started and closed on exit.
    An existing ``client`` may be passed instead (tests, notebooks).
    """
    from dask.distributed import Client, LocalCluster, as_completed

    own_cluster = None
    own_client = None
    if client is None:
        if scheduler is not None:
            own_client = client = connect(scheduler)
        else:
            with _children_ignore_sigint():
                own_cluster = LocalCluster(
                    n_workers=workers or 1,
                    threads_per_worker=1,
                    processes=True,
                    # any free port: with None the scheduler's HTTP server still asks for 8787, and
                    # warns when another local cluster (e.g. the bench's other run) holds it
                    dashboard_address=":0",
                    # the workers' own warnings (e.g. tasks cancelled when an interrupted run
                    # closes the cluster) are not the user's business; their errors still show
                    silence_logs=logging.ERROR,
                )
            own_client = client = Client(own_cluster)

    def runner(
        plan: RunPlan, seed: int, paths: int, blocks: list[int]
    ) -> Iterable[tuple[int, Arrays]]:
        [plan_future] = client.scatter([plan], broadcast=True, hash=False)
        chunks = [blocks[i : i + blocks_per_task] for i in range(0, len(blocks), blocks_per_task)]
        futures = [
            client.submit(run_blocks, plan_future, seed, paths, chunk, pure=False, retries=2)
            for chunk in chunks
        ]
        for future in as_completed(futures):
            yield from future.result()
            future.release()

    runner.__name__ = f"dask({scheduler or f'local:{workers or 1}'})"
    runner.client = client
    try:
        yield runner
    except KeyboardInterrupt:  # SIGINT/SIGTERM: close quietly (no warnings of lost tasks)
        with _quiet():
            if own_client is not None:
                own_client.close()
            if own_cluster is not None:
                own_cluster.close()
        raise
    if own_client is not None:
        own_client.close()
    if own_cluster is not None:
        own_cluster.close()


@contextlib.contextmanager
def _children_ignore_sigint() -> Iterator[None]:
    """Start worker processes with SIGINT ignored (inherited): a terminal's Ctrl-C reaches the
    whole process group, and only this process should act on it (closing the cluster)."""
    import signal
    import threading

    if threading.current_thread() is not threading.main_thread():
        yield
        return
    old = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, old)


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    """Dask's loggers silent, and any error of the shutdown ignored (an interrupted run)."""
    loggers = [logging.getLogger(n) for n in ("distributed", "tornado", "asyncio")]
    levels = [lg.level for lg in loggers]
    for lg in loggers:
        lg.setLevel(logging.CRITICAL + 1)
    try:
        with contextlib.suppress(Exception):
            yield
    finally:
        for lg, level in zip(loggers, levels, strict=True):
            lg.setLevel(level)
