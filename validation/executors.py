"""Executors that run independent jobs for :func:`validation.walkforward.run_walk_forward`.

An executor runs ``fn(shared, item)`` for every item of a list and yields ``(position, result)``
pairs in completion order. ``shared`` (the data and the pickled task) is shipped to each worker
once, not once per item. Executors know nothing about windows, files or manifests: the engine
process alone writes results, so a worker needs no access to the output folder and a crash of
a worker can never leave a half-written manifest.

Three executors are provided:

``"serial"``
    :class:`SerialExecutor`, in the calling process: the reference for debugging.
``"local"``
    :class:`LocalPoolExecutor`, a :class:`concurrent.futures.ProcessPoolExecutor` whose workers
    are *spawned* (not forked), so a parent that already runs torch, OpenMP or BLAS threads is
    never forked mid-lock. Scripts using it must guard their entry point with
    ``if __name__ == "__main__":`` (the usual rule for spawned workers). The pool is kept for
    the life of the process and reused by later runs of the same size (a spawned worker spends
    seconds importing torch and the package before its first job; a campaign runs one
    walk-forward per model and sensitivity run); a run that fails or is closed early drops it.
``"dask"``
    :class:`DaskExecutor`, on a :class:`dask.distributed.Client`: an existing cluster given by its
    scheduler address, or a :class:`~dask.distributed.LocalCluster` of single-threaded worker
    processes started and closed around the run.

Every job runs with one BLAS, OpenMP and torch thread (:func:`single_threaded`, applied by the
engine around each task, in the engine process too), so that a reduction inside a task is
summed in the same order whichever executor runs it: serial, local and Dask runs agree bit for
bit. Worker processes of the local pool also get ``OMP_NUM_THREADS=1`` (and the MKL / OpenBLAS
equivalents) for libraries a task loads later; Dask's nanny sets the same by default.
"""

from __future__ import annotations

import abc
import atexit
import contextlib
import multiprocessing
import os
import pickle
import sys
import uuid
import warnings
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from contextlib import contextmanager
from typing import Any, ClassVar

from hybridrisk.errors import ConfigError

__all__ = [
    "Executor",
    "SerialExecutor",
    "LocalPoolExecutor",
    "DaskExecutor",
    "EXECUTORS",
    "make_executor",
    "single_threaded",
    "check_scheduler",
    "CONNECT_TIMEOUT",
]

#: Seconds to wait for a Dask scheduler to answer before giving up (distributed's own default
#: is 30 s, and a silent listener can hold its handshake forever).
CONNECT_TIMEOUT = 5.0

#: Names accepted by :func:`make_executor`.
EXECUTORS = ("serial", "local", "dask")

# Environment variables read by OpenMP / BLAS runtimes when they load.
_THREAD_ENV = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS")


_controller: Any = None
_controller_modules = -1
_warned_no_threadpoolctl = False


def _blas_controller() -> Any:
    """A cached threadpoolctl controller, rebuilt when new modules (maybe new BLAS) are loaded."""
    global _controller, _controller_modules, _warned_no_threadpoolctl
    try:
        from threadpoolctl import ThreadpoolController
    except ImportError:
        if not _warned_no_threadpoolctl:
            warnings.warn(
                "threadpoolctl is not installed: BLAS may run several threads, and results may "
                "then differ in the last bits between executors; pip install threadpoolctl",
                RuntimeWarning,
                stacklevel=3,
            )
            _warned_no_threadpoolctl = True
        return None
    # Listing the loaded libraries costs milliseconds; len(sys.modules) is a cheap proxy for
    # "something new was imported since".
    if _controller is None or len(sys.modules) != _controller_modules:
        _controller = ThreadpoolController()
        _controller_modules = len(sys.modules)
    return _controller


@contextmanager
def single_threaded() -> Iterator[None]:
    """Run the enclosed block with one BLAS, OpenMP and torch thread; restore them afterwards.

    Parallel reductions sum in an order that depends on the thread count (OpenBLAS does, even
    for vectors of a few thousand numbers), so a task would otherwise give different last bits
    in the engine process and in single-threaded workers. Pinning every executor, the serial
    one included, to one thread keeps results bit-identical across executors and machines.
    SciPy's BLAS is loaded first so that the limit reaches it; torch is only touched when it
    is already imported. Needs ``threadpoolctl`` for BLAS (warns once without it).
    """
    import scipy.linalg  # noqa: F401 - loads SciPy's own BLAS before the limit is applied

    with contextlib.ExitStack() as stack:
        controller = _blas_controller()
        if controller is not None:
            stack.enter_context(controller.limit(limits=1))
        torch = sys.modules.get("torch")
        if torch is not None:
            before = torch.get_num_threads()
            torch.set_num_threads(1)
            stack.callback(torch.set_num_threads, before)
        yield


def _check_n_workers(n_workers: Any) -> int | None:
    if n_workers is None:
        return None
    if isinstance(n_workers, bool) or not isinstance(n_workers, int) or n_workers < 1:
        raise ConfigError(f"n_workers must be a positive integer or None, got {n_workers!r}")
    return int(n_workers)


class Executor(abc.ABC):
    """Runs ``fn(shared, item)`` for each item; subclasses decide where.

    Subclasses allocate resources (processes, clusters) inside :meth:`imap_unordered` only, so
    building an executor is cheap and free of side effects, and release them when the iterator
    is exhausted or closed.
    """

    name: ClassVar[str] = "executor"

    @abc.abstractmethod
    def imap_unordered(
        self, fn: Callable[[Any, Any], Any], shared: Any, items: Sequence[Any]
    ) -> Iterator[tuple[int, Any]]:
        """Yield ``(i, fn(shared, items[i]))`` for every ``i``, in completion order.

        Parameters
        ----------
        fn
            A picklable module-level function.
        shared
            A picklable object sent once to every worker.
        items
            Picklable per-job arguments.

        Yields
        ------
        tuple of (int, object)
            Position of the item in ``items`` and the function's result. An exception raised by
            ``fn`` propagates out of the iterator, after pending jobs are cancelled.
        """

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


class SerialExecutor(Executor):
    """Runs every job in the calling process, in order."""

    name = "serial"

    def imap_unordered(
        self, fn: Callable[[Any, Any], Any], shared: Any, items: Sequence[Any]
    ) -> Iterator[tuple[int, Any]]:
        for i, item in enumerate(items):
            yield i, fn(shared, item)


# Per-process state of a pool worker: the shared object of the current run, by its token.
_WORKER_SHARED: dict[str, Any] = {}


def _init_pool_worker() -> None:
    # Runtimes not yet loaded in this fresh (spawned) interpreter read these when they load.
    # Torch's thread count is left alone: the engine wraps every job in single_threaded(),
    # which sets it and restores it afterwards.
    for var in _THREAD_ENV:
        os.environ[var] = "1"


def _call_pool_job(fn: Callable[[Any, Any], Any], token: str, blob: bytes, item: Any) -> Any:
    shared = _WORKER_SHARED.get(token)
    if shared is None:  # the first job of this run in this worker: unpickle once, keep one run
        _WORKER_SHARED.clear()
        shared = _WORKER_SHARED[token] = pickle.loads(blob)
    return fn(shared, item)


# Worker pools live as long as the process, one per (size, start method): a spawned worker
# costs seconds (a fresh interpreter importing torch, pandas, arch, ...), and a campaign runs one
# walk-forward per model and per sensitivity run.
_POOLS: dict[tuple[int, str], ProcessPoolExecutor] = {}


def _pool(n: int, start_method: str) -> ProcessPoolExecutor:
    pool = _POOLS.get((n, start_method))
    if pool is None or getattr(pool, "_broken", False) or getattr(pool, "_shutdown_thread", False):
        pool = ProcessPoolExecutor(max_workers=n,
                                   mp_context=multiprocessing.get_context(start_method),
                                   initializer=_init_pool_worker)
        _POOLS[(n, start_method)] = pool
    return pool


def _drop_pool(n: int, start_method: str) -> None:
    pool = _POOLS.pop((n, start_method), None)
    if pool is not None:
        pool.shutdown(wait=False, cancel_futures=True)


@atexit.register
def _close_pools() -> None:
    while _POOLS:  # idle workers at a normal exit: join them (no leaked semaphores)
        _POOLS.popitem()[1].shutdown(wait=True, cancel_futures=True)


def _check_spawnable_main() -> None:
    # A spawned worker re-imports the parent's __main__ from its file; a script piped on stdin
    # has none, and the workers would die at start-up while the pool waits on them.
    main = sys.modules.get("__main__")
    path = getattr(main, "__file__", None)
    if getattr(main, "__spec__", None) is None and path is not None and not os.path.exists(path):
        raise ConfigError(
            f"the main script {path!r} is not a file, so spawned workers cannot import it; save "
            "the script to a file or use executor='serial'"
        )


class LocalPoolExecutor(Executor):
    """A pool of local worker processes (:class:`concurrent.futures.ProcessPoolExecutor`).

    Parameters
    ----------
    n_workers
        Number of processes; default ``os.cpu_count()``, never more than the number of jobs.
    start_method
        ``"spawn"`` (default, every platform) or ``"forkserver"`` (POSIX). ``"fork"`` is refused:
        forking a process that runs torch or BLAS threads can deadlock the child.
    """

    name = "local"

    def __init__(self, n_workers: int | None = None, start_method: str = "spawn") -> None:
        self.n_workers = _check_n_workers(n_workers)
        if start_method not in ("spawn", "forkserver"):
            raise ConfigError(
                f"start_method must be 'spawn' or 'forkserver', got {start_method!r}"
            )
        if start_method not in multiprocessing.get_all_start_methods():
            raise ConfigError(f"start method {start_method!r} is not available on this platform")
        self.start_method = start_method

    def __repr__(self) -> str:
        return f"LocalPoolExecutor(n_workers={self.n_workers}, start_method={self.start_method!r})"

    def imap_unordered(
        self, fn: Callable[[Any, Any], Any], shared: Any, items: Sequence[Any]
    ) -> Iterator[tuple[int, Any]]:
        if not items:
            return
        _check_spawnable_main()
        n = self.n_workers or os.cpu_count() or 1
        pool = _pool(n, self.start_method)
        # Pickled once here; each worker unpickles it once per run (_call_pool_job).
        token, blob = uuid.uuid4().hex, pickle.dumps(shared, protocol=pickle.HIGHEST_PROTOCOL)
        finished = False
        try:
            pending = {pool.submit(_call_pool_job, fn, token, blob, item): i
                       for i, item in enumerate(items)}
            while pending:
                done, _ = wait(pending, return_when=FIRST_COMPLETED)
                for fut in done:
                    i = pending.pop(fut)
                    yield i, fut.result()
            finished = True
        finally:
            if not finished:
                # On error or early close, do not wait for long jobs still running: nothing
                # they return would be used, and workers write nothing themselves.
                _drop_pool(n, self.start_method)


def _is_dask_client(obj: Any) -> bool:
    try:
        from dask.distributed import Client
    except ImportError:  # without distributed nothing can be a Client
        return False
    return isinstance(obj, Client)


class DaskExecutor(Executor):
    """Jobs on a Dask distributed cluster.

    Parameters
    ----------
    scheduler
        Address of a running scheduler (``"tcp://host:8786"``), an existing
        :class:`dask.distributed.Client` (left open), or ``None`` to start a
        :class:`~dask.distributed.LocalCluster` of ``n_workers`` single-threaded processes for
        the run and close it afterwards.
    n_workers
        Size of the local cluster (default ``os.cpu_count()``); only without ``scheduler``.

    Notes
    -----
    Results are bit-identical to the other executors when each worker runs one job at a time
    (``--nthreads 1``, as in the LocalCluster started here): the one-thread BLAS limit applied
    around each job is process-wide, so two jobs sharing a worker process would race on it.
    Workers need the task's module and this package importable; they never touch ``out_dir``.
    A scheduler address is checked (:func:`check_scheduler`) before the client connects, and
    the client waits at most ``connect_timeout`` seconds.
    """

    name = "dask"

    def __init__(self, scheduler: Any = None, n_workers: int | None = None,
                 connect_timeout: float = CONNECT_TIMEOUT) -> None:
        self.n_workers = _check_n_workers(n_workers)
        if not isinstance(connect_timeout, int | float) or not connect_timeout > 0:
            raise ConfigError(f"connect_timeout must be a positive number of seconds, got "
                              f"{connect_timeout!r}")
        self.connect_timeout = float(connect_timeout)
        if scheduler is not None and self.n_workers is not None:
            raise ConfigError(
                "n_workers sizes the LocalCluster the dask executor starts itself; "
                "with scheduler=... the cluster's own workers are used: drop n_workers"
            )
        if scheduler is not None and not isinstance(scheduler, str):
            if not _is_dask_client(scheduler):
                raise ConfigError(
                    "scheduler must be an address such as 'tcp://host:8786' or a "
                    f"dask.distributed.Client, got {type(scheduler).__name__}"
                )
        self.scheduler = scheduler

    def __repr__(self) -> str:
        sched = self.scheduler if isinstance(self.scheduler, str | None) else "Client"
        return f"DaskExecutor(scheduler={sched!r}, n_workers={self.n_workers})"

    def imap_unordered(
        self, fn: Callable[[Any, Any], Any], shared: Any, items: Sequence[Any]
    ) -> Iterator[tuple[int, Any]]:
        if not items:
            return
        try:
            from dask.distributed import Client, LocalCluster, as_completed
        except ImportError as exc:  # an optional dependency
            raise ConfigError(
                "executor='dask' needs the 'distributed' package: pip install 'dask[distributed]'"
            ) from exc
        cluster = None
        own_client = True
        if self.scheduler is None:
            cluster = LocalCluster(
                n_workers=min(self.n_workers or os.cpu_count() or 1, len(items)),
                threads_per_worker=1,  # one job per process: no GIL contention, one BLAS thread
                processes=True,
                dashboard_address=None,
            )
            client = Client(cluster)
        elif isinstance(self.scheduler, str):
            check_scheduler(self.scheduler, timeout=self.connect_timeout)
            try:
                client = Client(self.scheduler, timeout=self.connect_timeout)
            except (OSError, TimeoutError) as exc:
                raise _no_scheduler(self.scheduler, exc) from exc
        else:
            client, own_client = self.scheduler, False
        futures: list[Any] = []
        try:
            # A one-element list, so the tuple itself is one scattered object.
            [shared_future] = client.scatter([shared], broadcast=True)
            prefix = f"walkforward-{uuid.uuid4().hex[:12]}"  # unique on a shared scheduler
            futures = [
                client.submit(fn, shared_future, item, key=f"{prefix}-{i}", pure=False)
                for i, item in enumerate(items)
            ]
            position = {fut.key: i for i, fut in enumerate(futures)}
            for fut in as_completed(futures):
                yield position[fut.key], fut.result()
        finally:
            if futures:
                client.cancel(futures)
            if own_client:
                client.close()
            if cluster is not None:
                cluster.close()


def _no_scheduler(address: str, exc: BaseException) -> ConfigError:
    why = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return ConfigError(
        f"no Dask scheduler answers at {address} ({why}); start one (`dask scheduler`) and its "
        "workers, or drop --scheduler to use the local process pool")


def _tcp_host_port(address: str) -> tuple[str, int] | None:
    """(host, port) of a ``tcp://host:port`` (or bare ``host:port``) address, else None."""
    rest = address[len("tcp://"):] if address.startswith("tcp://") else address
    if "://" in rest:
        return None  # tls://, ucx://, inproc://: left to distributed
    host, sep, port = rest.rpartition(":")
    if not sep or not port.isdigit():
        return None
    return host.strip("[]") or "127.0.0.1", int(port)


async def _identity(address: str, timeout: float) -> Any:
    import asyncio

    from distributed.comm import connect

    comm = await asyncio.wait_for(connect(address, timeout=timeout), timeout)
    try:
        await asyncio.wait_for(comm.write({"op": "identity", "reply": True}), timeout)
        return await asyncio.wait_for(comm.read(), timeout)
    finally:
        comm.abort()


def check_scheduler(address: str, *, timeout: float = CONNECT_TIMEOUT) -> None:
    """Fail fast, with a one-line :class:`ConfigError`, when no Dask scheduler is at ``address``.

    A ``tcp://`` address is first tried with a plain socket (a refused connection fails at
    once), then asked for its identity over Dask's protocol, each step bounded by ``timeout``
    seconds, so neither a closed port nor a listener that never answers holds the campaign.

    Parameters
    ----------
    address : str
        Scheduler address, e.g. ``"tcp://10.0.0.5:8786"``.
    timeout : float
        Seconds to wait for each step.

    Raises
    ------
    ConfigError
        Nothing listens there, it does not answer in time, or it is not a Dask scheduler.
    """
    import asyncio
    import socket
    from concurrent.futures import ThreadPoolExecutor

    hp = _tcp_host_port(address)
    if hp is not None:
        try:
            socket.create_connection(hp, timeout=timeout).close()
        except OSError as exc:
            raise _no_scheduler(address, exc) from exc
    try:
        import distributed  # noqa: F401
    except ImportError as exc:  # an optional dependency
        raise ConfigError(
            "executor='dask' needs the 'distributed' package: pip install 'dask[distributed]'"
        ) from exc
    # In a thread: asyncio.run cannot run inside a caller's running event loop (Jupyter).
    with ThreadPoolExecutor(1) as pool:
        try:
            reply = pool.submit(asyncio.run, _identity(address, timeout)).result()
        except (OSError, ValueError, TimeoutError, asyncio.TimeoutError) as exc:
            raise _no_scheduler(address, exc if str(exc) else TimeoutError(
                f"no answer within {timeout:g} s")) from exc
    if not isinstance(reply, dict) or reply.get("type") != "Scheduler":
        raise ConfigError(f"{address} answers, but not as a Dask scheduler (it says "
                          f"{reply.get('type') if isinstance(reply, dict) else reply!r})")


def make_executor(
    executor: str | Executor = "local",
    *,
    scheduler: Any = None,
    n_workers: int | None = None,
) -> Executor:
    """Build an executor from its name (or pass an :class:`Executor` through).

    Parameters
    ----------
    executor
        ``"serial"``, ``"local"`` or ``"dask"``, or an :class:`Executor` instance.
    scheduler
        Dask scheduler address or Client; only with ``executor="dask"``.
    n_workers
        Number of worker processes for ``"local"`` and for the dask LocalCluster; ignored by
        ``"serial"``.

    Raises
    ------
    ConfigError
        Unknown executor, or an option that the chosen executor does not use.
    """
    if isinstance(executor, Executor):
        if scheduler is not None or n_workers is not None:
            raise ConfigError(
                "scheduler and n_workers configure a named executor; "
                "pass them to the Executor instance instead"
            )
        return executor
    if executor not in EXECUTORS:
        raise ConfigError(f"executor must be one of {EXECUTORS} or an Executor, got {executor!r}")
    if scheduler is not None and executor != "dask":
        raise ConfigError(
            f"scheduler={scheduler!r} is only used with executor='dask', not {executor!r}"
        )
    if executor == "serial":
        _check_n_workers(n_workers)
        return SerialExecutor()
    if executor == "local":
        return LocalPoolExecutor(n_workers)
    return DaskExecutor(scheduler, n_workers)
