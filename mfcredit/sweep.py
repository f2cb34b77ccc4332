"""Many independent training runs at once: one (config, seed) per worker process, through the cache.

    jobs = [(cfg, s) for s in range(5)] + [(cfg.replace(model="bp"), s) for s in range(5)]
    gbp_and_bp = mf.sweep(jobs)              # list of Run, in the order of jobs

A run's own matrix products are small (784-100-100-10, batch 500), so two single-thread runs side
by side get more done than one run on two threads. :func:`sweep` therefore trains every run with
ONE thread, whatever the number of workers (so its numbers do not depend on the machine's core
count), in ``n_jobs`` worker processes ($MFCREDIT_JOBS, else one per core, at most one per run).
The workers are joblib's loky processes, started by each sweep and closed when it ends (a fixed
cost that ``make bench`` measures), so a notebook kernel holds no worker pool afterwards (see
:class:`ClosingLoky`). Under a Dask client and ``joblib.parallel_config(backend="dask")`` the same
call runs on the Dask cluster.

Every run goes through the compute-once cache (:mod:`mfcredit.cache`): runs already there are loaded
here, without a worker; each worker saves its run atomically before returning it, so a crashed
worker or a Ctrl-C loses no finished run, and the next call trains only what is missing (a run
that was cut short resumes from its checkpoint). A worker loads its own data
(``load_dataset(config.dataset, n_train=config.n_train)``, float32 as the notebooks load it): the
same tensors as slicing a full load, so the same run as ``mf.train(config, seed, data=full_data)``.
"""
from __future__ import annotations

import functools
import gc
import os
import threading
import time
from pathlib import Path
from typing import Sequence

import joblib
from joblib.externals.loky import ProcessPoolExecutor
from joblib.parallel import LokyBackend, get_active_backend
from tqdm import tqdm

from .cache import cached_train, default_cache_dir, entry_path, load_cached
from .config import TrainConfig
from .data import load_dataset
from .runs import Run, save_run
from .utils import progress_file

#: Every run a sweep trains uses this many torch threads (part of the cache key).
SWEEP_THREADS = 1


def default_jobs(n_runs: int) -> int:
    """Worker processes for ``n_runs`` runs to train: $MFCREDIT_JOBS if set (a positive integer),
    else one per core this process may use (``joblib.cpu_count``: its CPU affinity and a container's
    CPU quota, not the host's cores), never more than there are runs."""
    env = os.environ.get("MFCREDIT_JOBS", "")
    if env:
        if not env.isdigit() or int(env) < 1:
            raise ValueError(f"MFCREDIT_JOBS must be a positive integer, got {env!r}")
        return int(env)
    return max(1, min(joblib.cpu_count(), n_runs))


def cost(job: tuple[TrainConfig, int]) -> float:
    """A run's relative training cost (multiply-adds of its steps; a mean-field step does about twice
    a plain one's). The sweep starts the costliest runs first, so no worker idles at the end while
    another trains a long run alone."""
    c = job[0]
    products = sum(a * b for a, b in zip(c.widths[:-1], c.widths[1:]))
    return c.epochs * c.n_train * products * (2.0 if c.model == "gbp" else 1.0)


def time_left(elapsed: float, workers: int, finished: Sequence[tuple[float, float]], left: Sequence[float]):
    """Estimated seconds until the last run of a sweep is done, for its progress bar; None before a
    run has finished. ``finished``: (:func:`cost`, seconds of training) of each run trained so far;
    ``left``: the costs of the runs not finished (training or waiting); ``elapsed``: seconds since
    the ``workers`` workers began training.

    A worker trains at the seconds per unit of cost the finished runs took; of the ``elapsed`` x
    ``workers`` worker-seconds, those not spent on finished runs went into the runs under way. Off by
    less than the longest run's time when runs start costliest first (tests/test_sweep.py); counting
    runs, as a plain bar does, is off several times over at the start of a sweep of unequal runs."""
    if not left:
        return 0.0
    if not finished:
        return None
    rate = sum(s for _, s in finished) / sum(c for c, _ in finished)
    under_way = max(0.0, elapsed * workers - sum(s for _, s in finished))
    return max(0.0, rate * sum(left) - under_way) / min(workers, len(left))


@functools.lru_cache(maxsize=2)
def _data(name: str, n_train: int):
    """The first ``n_train`` training images of ``name`` (float32), kept by a worker for its next runs."""
    return load_dataset(name, n_train=n_train)


def _train_one(config: TrainConfig, seed: int, cache_dir: str):
    """In a worker: train (or load) one run with one thread through the cache at ``cache_dir``.
    Returns (config, seed, run, None), or (config, seed, None, the exception) if training raised,
    so one failing run does not stop the others."""
    try:
        data = _data(config.dataset, config.n_train)
        run = cached_train(config, seed, cache_dir=cache_dir, threads=SWEEP_THREADS, progress=False, data=data)
        return config, seed, run, None
    except Exception as e:  # noqa: BLE001  (reported by the parent once the other runs are done)
        return config, seed, None, e


def _start_worker(parent: int) -> None:
    """Run in each loky worker as it starts.

    Its long-lived objects are frozen (``gc.freeze``): torch, and the compiler front end that
    torch.optim imports anyway when it builds an optimiser (``Optimizer.add_param_group``), are
    some 300,000 Python objects that live as long as the worker. The cyclic collector then skips them, which matters at the worker's
    exit: the full collections over them are most of the time it takes to close the pool (the
    sweep's fixed cost, ``make bench``). The compiler front end is imported with the collector off:
    an import creates objects that stay, so its collections find nothing, and without them the
    import takes about a third less time.

    A thread ends the worker as soon as ``parent``, the process whose sweep started it, is gone. A
    kernel killed on its own (by the OOM killer, or by ipykernel when its parent dies) would
    otherwise leave its workers behind for good, blocked on sending a result that nobody reads,
    each holding a trained network's memory."""
    gc.disable()
    try:
        import torch._dynamo  # noqa: F401  (what building an optimiser imports)
        gc.freeze()
    finally:
        gc.enable()

    def watch():
        while os.getppid() == parent:
            time.sleep(1.0)
        os._exit(1)
    threading.Thread(target=watch, name="mfcredit-exit-with-parent", daemon=True).start()


class ClosingLoky(LokyBackend):
    """joblib's loky backend, except that the worker pool is closed when the sweep ends instead of
    being kept for the next call: the workers exit and the pool's semaphores and temporary folder
    (in /dev/shm) are released there and then. A kernel that is killed later, with its whole process
    group (nbval stops its kernels so, by SIGKILL), has nothing of the pool left to leak, and a
    kernel shut down normally has nothing left for loky's resource tracker to warn about. Its
    workers also exit if the process that started them dies during the sweep (:func:`_start_worker`)."""

    def __init__(self, nesting_level=None):
        super().__init__(nesting_level=nesting_level, initializer=_start_worker, initargs=(os.getpid(),))

    def terminate(self):
        if self._workers is not None:  # the reusable executor: shut down, its temporary folders deleted
            self._workers.terminate(kill_workers=False)
        super().terminate()


def _backend():
    """The joblib backend a sweep uses: the one configured (e.g. Dask by ``joblib.parallel_config``)
    unless that is plain loky, joblib's default, which becomes :class:`ClosingLoky`."""
    active, _ = get_active_backend()
    return ClosingLoky(nesting_level=active.nesting_level) if type(active) is LokyBackend else None


def _results(todo: list, cache_dir: Path, n_jobs: int, own_worker: bool):
    """(config, seed, run, error) of every job of ``todo``, as each finishes, from ``n_jobs`` workers.

    joblib trains the jobs of a single worker in this process. With ``own_worker`` (and joblib's
    default backend) the sweep starts that one worker process itself, with loky as joblib does, so
    that the caller, a notebook kernel say, never holds a training's memory: the compiler front end
    that torch.optim imports (65 MiB) and what the training leaves in the heap."""
    backend, args = _backend(), [(c, s, str(cache_dir)) for c, s in todo]
    if n_jobs == 1 and own_worker and backend is not None:
        with ProcessPoolExecutor(1, initializer=_start_worker, initargs=(os.getpid(),)) as pool:
            yield from pool.map(_train_one, *zip(*args))  # one worker: the order they finish in
        return
    parallel = joblib.Parallel(n_jobs=n_jobs, backend=backend, return_as="generator_unordered", batch_size=1)
    yield from parallel(joblib.delayed(_train_one)(*a) for a in args)


def _collect(todo: list, cache_dir: Path, n_jobs: int, own_worker: bool, bar) -> list[Exception]:
    """Train ``todo`` (list of (config, seed)) in ``n_jobs`` workers (:func:`_results`); save each
    finished run into ``cache_dir`` if the worker's file system was not this one (a Dask cluster
    without shared disk). Returns the exceptions of the runs that failed."""
    errors, finished, left = [], [], {job: cost(job) for job in todo}
    began = None  # when the workers began training (after starting up): the first finished run's start
    for config, seed, run, error in _results(todo, cache_dir, n_jobs, own_worker):
        job_cost = left.pop((config, seed))
        if error is not None:
            errors.append(error)
            bar.write(f"[sweep] {config.model} seed {seed} failed: {type(error).__name__}: {error}")
        else:
            finished.append((job_cost, run.info["wall_s"]))
            began = began if began is not None else time.perf_counter() - run.info["wall_s"]
            if not entry_path(config, seed, SWEEP_THREADS, cache_dir).exists():
                save_run(run, entry_path(config, seed, SWEEP_THREADS, cache_dir))
        elapsed = 0.0 if began is None else time.perf_counter() - began
        eta = time_left(elapsed, n_jobs, finished, list(left.values()))
        bar.set_postfix_str("time left " + ("?" if eta is None else tqdm.format_interval(eta)), refresh=False)
        bar.update(1)
    return errors


def sweep(jobs: Sequence[tuple[TrainConfig, int]], *, cache_dir: str | Path | None = None,
          n_jobs: int | None = None, progress: bool | str | None = None) -> list[Run]:
    """Train (or load) every (config, seed) of ``jobs`` through the cache; the runs in the order of ``jobs``.

    Args:
        jobs: (TrainConfig, seed) pairs; a pair listed twice is trained once.
        cache_dir: the cache (default $MFCREDIT_CACHE, else cache/).
        n_jobs: worker processes (default :func:`default_jobs`); each run uses one thread. By default
            even a single worker (one core, or one run to train) is a process of its own, so this
            process never holds a training's memory; ``n_jobs=1`` trains in this process instead.
        progress: a bar over the runs to train (i of n, elapsed, time left): True, False or
            'terminal' (the process's own stderr, never a notebook's output); default $MFCREDIT_PROGRESS.
    Raises:
        the first run's exception once the other runs are done and saved, if any run failed.
    """
    jobs = [(config, int(seed)) for config, seed in jobs]
    cache_dir = Path(cache_dir or default_cache_dir()).resolve()
    runs = {job: load_cached(*job, SWEEP_THREADS, cache_dir) for job in dict.fromkeys(jobs)}
    todo = sorted((job for job, run in runs.items() if run is None), key=cost, reverse=True)
    if todo:
        stream = progress_file(progress)
        workers = n_jobs or default_jobs(len(todo))
        t0 = time.perf_counter()
        # the time left is the sweep's own estimate (:func:`time_left`), not tqdm's runs per second
        with tqdm(total=len(todo), desc=f"training {len(todo)} runs ({len(runs) - len(todo)} cached), "
                  f"{workers} workers", file=stream, disable=stream is None, ascii=True, postfix="time left ?",
                  bar_format="{desc}: {percentage:3.0f}%|{bar}| {n_fmt}/{total_fmt} runs [{elapsed}{postfix}]") as bar:
            errors = _collect(todo, cache_dir, workers, n_jobs is None, bar)
        if errors:
            errors[0].add_note(f"{len(errors)} of {len(todo)} runs failed; the other {len(todo) - len(errors)} "
                               f"are in {cache_dir} ({time.perf_counter() - t0:.0f} s)")
            raise errors[0]
        runs.update({job: load_cached(*job, SWEEP_THREADS, cache_dir) for job in todo})
    return [runs[job] for job in jobs]
