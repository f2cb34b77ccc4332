"""mf.sweep: runs trained in worker processes (loky, or a Dask cluster) are the sequential runs bit
for bit; a duplicate is trained once; a crashed worker loses no finished run; a damaged entry is
recomputed; a killed process leaves no worker pool behind; a worker starts with its imports frozen;
the bar goes where MFCREDIT_PROGRESS says."""
import contextlib
import importlib
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import joblib
import pytest
import torch

import mfcredit as mf

SWEEP = importlib.import_module("mfcredit.sweep")  # mf.sweep is the function
REAL_TRAIN_ONE = SWEEP._train_one
CFG = mf.TrainConfig(n_train=500, epochs=2, batch_size=100)
JOBS = [(CFG, 0), (CFG, 1), (CFG.replace(model="bp"), 0)]


def _same(a, b):
    return a.metrics == b.metrics and all(torch.equal(x, y) for k in a.params for x, y in zip(a.params[k], b.params[k]))


def _entries(folder):
    return sorted(p for p in Path(folder).iterdir() if not p.name.startswith(".") and not p.name.endswith(".ckpt"))


@pytest.fixture(scope="module")
def sequential(tmp_path_factory):
    """The runs of JOBS, one after another in this process, one thread each."""
    data = mf.load_dataset("mnist")
    folder = tmp_path_factory.mktemp("sequential")
    return [mf.cached_train(c, s, cache_dir=folder, data=data, threads=1, progress=False) for c, s in JOBS]


def test_worker_data_is_the_slice_of_a_full_load():
    full, part = mf.load_dataset("mnist"), mf.load_dataset("mnist", n_train=500)
    assert torch.equal(part.x_train, full.x_train[:500]) and torch.equal(part.y_train, full.y_train[:500])
    assert torch.equal(part.x_test, full.x_test) and torch.equal(part.y_test, full.y_test)


def test_workers_give_the_sequential_runs(sequential, tmp_path):
    runs = SWEEP.sweep(JOBS, cache_dir=tmp_path, n_jobs=2, progress=False)
    assert all(_same(a, b) for a, b in zip(runs, sequential))
    assert [r.info["threads"] for r in runs] == [1, 1, 1] and len(_entries(tmp_path)) == 3


def test_dask_cluster_gives_the_sequential_runs(sequential, tmp_path):
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster, \
            distributed.Client(cluster), joblib.parallel_config(backend="dask"):
        runs = SWEEP.sweep(JOBS, cache_dir=tmp_path, progress=False)
    assert all(_same(a, b) for a, b in zip(runs, sequential))


def test_duplicates_train_once_and_cached_runs_load(tmp_path, monkeypatch):
    trained = []
    real = mf.cache.train
    monkeypatch.setattr(mf.cache, "train", lambda *a, **k: trained.append(k["seed"]) or real(*a, **k))
    cfg = CFG.replace(epochs=1)
    runs = SWEEP.sweep([(cfg, 0), (cfg, 1), (cfg, 0)], cache_dir=tmp_path, n_jobs=1, progress=False)  # in-process
    assert sorted(trained) == [0, 1] and _same(runs[0], runs[2])
    assert _same(SWEEP.sweep([(cfg, 1)], cache_dir=tmp_path, n_jobs=1)[0], runs[1]) and len(trained) == 2


def test_one_run_trains_in_a_worker_process_by_default(tmp_path, monkeypatch):
    here = []  # training in this process (a notebook kernel's) would record its seed here
    real = mf.cache.train
    monkeypatch.setattr(mf.cache, "train", lambda *a, **k: here.append(k["seed"]) or real(*a, **k))
    monkeypatch.delenv("MFCREDIT_JOBS", raising=False)
    cfg = CFG.replace(epochs=1)
    run = SWEEP.sweep([(cfg, 3)], cache_dir=tmp_path, progress=False)[0]
    assert here == [] and len(_entries(tmp_path)) == 1
    assert _same(run, SWEEP.sweep([(cfg, 3)], cache_dir=tmp_path, n_jobs=1)[0])  # loaded, not retrained
    SWEEP.sweep([(cfg, 4)], cache_dir=tmp_path, n_jobs=1, progress=False)
    assert here == [4]  # n_jobs=1 asks for this process


def _crash_after_the_others(config, seed, cache_dir):
    """In a worker: the job of seed 99 kills its process once the two other runs are saved."""
    if seed == 99:
        deadline = time.time() + 60
        while len(_entries(cache_dir)) < 2 and time.time() < deadline:
            time.sleep(0.05)
        os._exit(1)
    return REAL_TRAIN_ONE(config, seed, cache_dir)


def test_a_crashed_worker_loses_no_finished_run(tmp_path, monkeypatch):
    cfg = CFG.replace(epochs=1)
    jobs = [(cfg, 0), (cfg, 1), (cfg, 99)]
    monkeypatch.setattr(SWEEP, "_train_one", _crash_after_the_others)
    with pytest.raises(Exception, match="(?i)terminated|killed|crash"):
        SWEEP.sweep(jobs, cache_dir=tmp_path, n_jobs=2, progress=False)
    monkeypatch.setattr(SWEEP, "_train_one", REAL_TRAIN_ONE)
    before = {p.name: p.stat().st_ino for p in _entries(tmp_path)}
    assert len(before) == 2
    SWEEP.sweep(jobs, cache_dir=tmp_path, n_jobs=2, progress=False)  # trains only seed 99
    after = {p.name: p.stat().st_ino for p in _entries(tmp_path)}
    assert len(after) == 3 and all(after[k] == v for k, v in before.items())


def test_a_failing_run_stops_no_other(tmp_path):
    bad = CFG.replace(epochs=1, n_train=70_000)  # MNIST has 60,000 training images: the worker raises
    with pytest.raises(Exception, match="1 of 2 runs failed"):
        SWEEP.sweep([(CFG.replace(epochs=1), 0), (bad, 0)], cache_dir=tmp_path, n_jobs=2, progress=False)
    assert len(_entries(tmp_path)) == 1


def test_a_damaged_entry_is_recomputed(sequential, tmp_path):
    cfg, seed = JOBS[0]
    first = SWEEP.sweep([(cfg, seed)], cache_dir=tmp_path, n_jobs=1)[0]
    params = mf.cache.entry_path(cfg, seed, 1, tmp_path) / "params.pt"
    params.write_bytes(params.read_bytes()[:100])  # cut short, as by a full disk
    with pytest.warns(RuntimeWarning, match="damaged cache entry .*recomputing"):
        again = SWEEP.sweep([(cfg, seed)], cache_dir=tmp_path, n_jobs=1)[0]
    assert _same(again, first) and _same(again, sequential[0])


SHM = Path("/dev/shm")
POOL_FILES = ("sem.loky-", "joblib_memmapping_folder_")  # a loky pool's semaphores and temporary folder


def _pool_files():
    return {p.name for p in SHM.iterdir() if p.name.startswith(POOL_FILES)}


@pytest.mark.skipif(not SHM.is_dir(), reason="loky keeps its semaphores in /dev/shm on Linux only")
def test_a_process_killed_after_a_sweep_leaks_nothing(tmp_path):
    """nbval stops each notebook's kernel with SIGKILL to its whole process group, resource trackers
    included: whatever a worker pool still holds then stays in /dev/shm. The sweep's pool is closed
    when the sweep ends, so such a kill finds nothing to leak."""
    code = ("import sys, time, mfcredit as mf; cfg = mf.TrainConfig(n_train=200, epochs=1, batch_size=100); "
            f"mf.sweep([(cfg, 0), (cfg, 1)], cache_dir={str(tmp_path)!r}, n_jobs=2, progress=False); "
            "print('swept', flush=True); time.sleep(60)")
    before = _pool_files()
    child = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True, start_new_session=True)
    try:
        assert child.stdout.readline().strip() == "swept"
    finally:
        os.killpg(child.pid, signal.SIGKILL)  # the process and everything it started, as nbval does
        child.wait()
    time.sleep(1)
    assert len(_entries(tmp_path)) == 2
    assert _pool_files() - before == set()


def _children(pid: int) -> set[int]:
    """The processes whose parent is ``pid`` (from /proc)."""
    found = set()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()  # after "pid (name)": state, ppid, ...
        except OSError:  # the process ended meanwhile
            continue
        if int(fields[1]) == pid:
            found.add(int(stat.parent.name))
    return found


def _workers(pid: int) -> set[int]:
    """The loky workers that ``pid`` started."""
    found = set()
    for child in _children(pid):
        try:
            if "popen_loky" in Path(f"/proc/{child}/cmdline").read_text():
                found.add(child)
        except OSError:
            pass
    return found


def _alive(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads the process table from /proc")
def test_workers_exit_when_the_process_that_started_them_is_killed(tmp_path):
    """Kill the process running a sweep, alone (as the OOM killer would, or ipykernel when the
    kernel's parent dies): its workers, mid-run, must not live on. Without the watch of
    mfcredit.sweep._start_worker they would, for good (blocked on sending results nobody reads)."""
    code = ("import mfcredit as mf; cfg = mf.TrainConfig(n_train=2000, epochs=200); "
            f"mf.sweep([(cfg, 0), (cfg, 1)], cache_dir={str(tmp_path)!r}, n_jobs=2, progress=False)")
    child = subprocess.Popen([sys.executable, "-c", code], start_new_session=True)
    try:
        deadline = time.time() + 60
        while len(workers := _workers(child.pid)) < 2 and time.time() < deadline:
            time.sleep(0.2)
        assert len(workers) == 2
        time.sleep(2)  # the workers are training
        child.kill()  # this process only: its workers are not signalled
        child.wait()
        # a worker still starting (importing torch: seconds, more with other tests running beside it) starts
        # its watch only after that; without the watch it never exits (blocked once its run is done)
        deadline = time.time() + 60
        while any(map(_alive, workers)) and time.time() < deadline:
            time.sleep(0.2)
        assert not any(map(_alive, workers)), "workers outlived the process that started them"
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(child.pid, signal.SIGKILL)


def test_a_worker_starts_with_its_imports_frozen_and_the_collector_on():
    """The worker initializer imports with the collector off and freezes what it imported; the
    collector is back on afterwards (the runs' own garbage is still collected)."""
    code = ("import gc, os; from mfcredit.sweep import _start_worker; _start_worker(os.getppid()); "
            "print(gc.isenabled(), gc.get_freeze_count())")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    enabled, frozen = done.stdout.split()
    assert enabled == "True" and int(frozen) > 100_000


def test_jobs_and_progress_settings(monkeypatch):
    monkeypatch.delenv("MFCREDIT_JOBS", raising=False)
    assert SWEEP.default_jobs(1) == 1 and SWEEP.default_jobs(1000) == joblib.cpu_count()
    monkeypatch.setenv("MFCREDIT_JOBS", "3")
    assert SWEEP.default_jobs(1) == 3
    monkeypatch.setenv("MFCREDIT_JOBS", "many")
    with pytest.raises(ValueError, match="MFCREDIT_JOBS"):
        SWEEP.default_jobs(2)
    for env, stream in (("0", None), ("1", sys.stderr), ("terminal", sys.__stderr__)):
        monkeypatch.setenv("MFCREDIT_PROGRESS", env)
        assert mf.utils.progress_file() is stream
    with pytest.raises(ValueError, match="MFCREDIT_PROGRESS"):
        mf.utils.progress_file("yes please")


def _schedule(costs, workers, seconds_per_cost=1.0):
    """An event simulation of a sweep: runs started costliest first, each on the next free worker, run
    i taking costs[i] x seconds_per_cost. Returns (finish time, cost) of every run in finishing order."""
    free, done = [0.0] * workers, []
    for c in sorted(costs, reverse=True):
        start = min(free)
        free[free.index(start)] = start + c * seconds_per_cost
        done.append((start + c * seconds_per_cost, c))
    return sorted(done)


def _estimates(costs, workers, seconds_per_cost):
    """At each run's finish in the simulated sweep: (true time left, time_left's estimate, the estimate
    of a bar counting runs: elapsed / finished x left)."""
    done = _schedule(costs, workers, seconds_per_cost)
    end, finished, left = done[-1][0], [], list(costs)
    out = []
    for t, c in done:
        finished.append((c, c * seconds_per_cost))
        left.remove(c)
        out.append((end - t, SWEEP.time_left(t, workers, finished, left), t / len(finished) * len(left)))
    return out


def test_time_left_is_off_by_less_than_the_longest_run():
    """The bar's estimate of the time left, against a simulated sweep: notebook 5's (15 runs of 1, 2
    and 4 units, 2 workers) and 300 random ones (2 to 20 runs, 2 to 4 workers): at every finished
    run it is off by less than the longest run's time; counting runs is off 5 times over at notebook
    5's first finished run (the sweep starts with the costliest)."""
    assert SWEEP.time_left(5.0, 2, [], [1.0]) is None and SWEEP.time_left(5.0, 2, [(1.0, 3.0)], []) == 0.0
    nb05 = [4] * 3 + [2] * 3 + [1] * 9
    rows = _estimates(nb05, 2, 30.0)
    assert all(abs(est - true) < 4 * 30.0 for true, est, _ in rows)
    true, est, counting = rows[0]
    assert abs(est - true) < 0.1 * true and counting > 5 * true
    rng = random.Random(0)
    for _ in range(300):
        costs = [rng.choice([0.5, 1, 2, 4]) for _ in range(rng.randint(2, 20))]
        rate = rng.uniform(1.0, 60.0)
        assert all(abs(est - true) < max(costs) * rate for true, est, _ in _estimates(costs, rng.randint(2, 4), rate))
