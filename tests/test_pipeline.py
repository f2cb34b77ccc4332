"""The figure pipeline (what `make figures` runs) killed with SIGKILL at random points, then rerun."""
import hashlib
import json
import os
import random
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import torch

import mfcredit as mf

REPO = mf.utils.REPO


def _junk(folder: Path):
    """Hidden temporaries (partial writes) anywhere under ``folder``."""
    return [p for p in folder.rglob(".*") if p.name not in (".ipynb_checkpoints",)]


def _outputs(out: Path) -> dict:
    """Figure files as bytes; result files as parsed JSON, except timings.json (the pipeline's wall
    times: the only thing a resumed run legitimately changes, as it spent its time differently)."""
    found = {}
    for p in sorted((out / "figures" / "quick").glob("*")) + sorted((out / "results" / "quick").glob("*.json")):
        if p.name.startswith(".") or p.name == "timings.json":  # the pipeline's wall times, nothing else
            continue
        if p.suffix == ".json":
            found[p.relative_to(out).as_posix()] = json.loads(p.read_text())
        else:
            found[p.relative_to(out).as_posix()] = p.read_bytes()
    return found


TINY = '''\
import mfcredit as mf
quick: bool = False
mf.nb.setup(globals())
cfg = mf.TrainConfig(n_train=300, epochs=1, batch_size=100)
runs = mf.sweep([(cfg, 0), (cfg, 1), (cfg.replace(model="bp"), 0)])
print("trained", len(runs))
import matplotlib.pyplot as plt
fig, ax = plt.subplots(figsize=(3, 2))
ax.plot([r.final() for r in runs], "o")
mf.nb.save_figure(fig, "tiny")
mf.nb.save_results("tiny", {"errors": [r.final() for r in runs]})
'''


def _tiny_pipeline(tmp_path):
    """(command, environment) of the pipeline on a throwaway notebook that sweeps 3 tiny runs (quick
    mode, outputs and cache under ``tmp_path``)."""
    nbformat = pytest.importorskip("nbformat")
    src = tmp_path / "nb" / "01-tiny.ipynb"
    src.parent.mkdir(parents=True)
    code = TINY.split("mf.nb.setup(globals())\n")
    cells = [nbformat.v4.new_code_cell(code[0]), nbformat.v4.new_code_cell("mf.nb.setup(globals())\n" + code[1])]
    cells[0].metadata["tags"] = ["parameters"]
    nb = nbformat.v4.new_notebook(cells=cells, metadata={"kernelspec": {"name": "python3", "display_name": "Python 3",
                                                                        "language": "python"}})
    nbformat.write(nb, src)
    env = {k: v for k, v in os.environ.items() if k not in ("MFCREDIT_PROGRESS", "MFCREDIT_JOBS")}
    env.update(MFCREDIT_OUTPUT=str(tmp_path / "out"), MFCREDIT_CACHE=str(tmp_path / "cache"), TQDM_MININTERVAL="0",
               MPLBACKEND="Agg", PYTHONHASHSEED="0",
               PYTHONPATH=os.pathsep.join([str(REPO), env.get("PYTHONPATH", "")]))
    return [sys.executable, "-m", "mfcredit.pipeline", "--quick", "1", str(src)], env


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    """The pipeline on the throwaway notebook, run twice in one folder (--retrain 0, then 1): for each
    run, its completed process and what it left behind (cache entries, processes, /dev/shm)."""
    folder = tmp_path_factory.mktemp("tiny")
    cmd, env = _tiny_pipeline(folder)
    ours = f"MFCREDIT_CACHE={folder / 'cache'}"  # in the environment of the pipeline and every process it starts
    runs = []
    for retrain in ("0", "1"):
        proc, pids, streams = subprocess.Popen(cmd + ["--retrain", retrain], env=env, stdout=subprocess.PIPE,
                                               stderr=subprocess.PIPE, text=True), set(), []
        reader = threading.Thread(target=lambda: streams.extend(proc.communicate(timeout=300)))  # noqa: B023
        reader.start()
        while reader.is_alive():  # the pids of the pipeline's processes (kernel, sweep workers), while they live
            pids.update(_processes_with(ours))
            time.sleep(0.1)
        done = subprocess.CompletedProcess(cmd, proc.returncode, *streams)
        assert done.returncode == 0, done.stderr[-3000:]
        entries = [p.parent for p in (folder / "cache").rglob("metrics.json")]
        deadline = time.monotonic() + 10
        while _processes_with(ours) and time.monotonic() < deadline:
            time.sleep(0.2)
        # a /dev/shm name carries the pid that made it (sem.loky-<pid>-..., joblib_memmapping_folder_<pid>_...);
        # other tests may run at the same time (pytest-xdist): only the pipeline's own names count
        made = lambda name: {int(x) for x in re.findall(r"(?:loky-|folder_)(\d+)", name)}  # noqa: E731
        left = [n for n in os.listdir("/dev/shm") if made(n) & pids] if Path("/dev/shm").is_dir() else []
        runs.append({"done": done, "entries": entries, "outputs": _outputs(folder / "out"), "pids": pids,
                     "processes": _processes_with(ours), "shm_left": left})
    return {"folder": folder, "runs": runs}


def test_pipeline_shows_progress_in_the_terminal_not_in_the_notebook(tiny):
    """A throwaway notebook through the pipeline (quick mode): the sweep's bar over runs and the
    notebook's name reach the terminal, the executed notebook holds no progress text, the kernel
    prints no plain-TCP warning, and --retrain 1 empties the cache first."""
    nbformat = pytest.importorskip("nbformat")
    for run in tiny["runs"]:
        terminal = run["done"].stdout + run["done"].stderr
        assert "[pipeline]" in terminal and "01-tiny.ipynb" in terminal
        assert "3/3 runs" in terminal and "training 3 runs" in terminal  # the bar over runs, trained both times
        assert "time left ?" in terminal and "time left 00:00" in terminal  # before the first run, and at the end
        assert "without encryption" not in terminal
    assert "deleted 3 cached runs" in terminal
    executed = nbformat.read(tiny["folder"] / "out" / "build" / "quick" / "01-tiny.ipynb", as_version=4)
    texts = [o.get("text", "") + json.dumps(o.get("data", {})) for c in executed.cells for o in c.get("outputs", [])]
    assert any("trained 3" in t for t in texts)
    assert not any("run/s" in t or "s/run" in t or "training 3 runs" in t or "%|" in t for t in texts), texts


@pytest.mark.skipif(not Path("/proc/self/environ").exists() or not Path("/dev/shm").is_dir(),
                    reason="needs /proc and /dev/shm (Linux)")
def test_a_notebook_that_trained_leaves_nothing_behind(tiny):
    """The pipeline stops each kernel at once, killing its process group, after the notebook ran: every
    run the notebook trained is complete in the cache, and no process (kernel, sweep worker) and
    nothing in /dev/shm (a pool's semaphores and memmapping folder) is left."""
    for run in tiny["runs"]:
        assert len(run["entries"]) == 3 and all(mf.runs.load_run(p).metrics["epoch"] == [1] for p in run["entries"])
        assert len(run["pids"]) >= 4  # pipeline, kernel, two sweep workers: the pids the /dev/shm check looks for
        assert run["processes"] == []
        assert run["shm_left"] == []


def test_sigkill_during_make_figures_then_rerun_gives_identical_files(tiny, tmp_path):
    """The figure pipeline (what `make figures` runs) on a notebook that trains, plots and saves,
    killed with its kernel at random moments, then rerun: every figure file is byte-identical to an
    uninterrupted run's, every result equal (wall times aside), and nothing half-written is left."""
    expected = tiny["runs"][0]["outputs"]
    assert any(k.endswith(".png") for k in expected) and any(k.endswith(".json") for k in expected)
    cmd, env = _tiny_pipeline(tmp_path)
    out = tmp_path / "out"
    rng = random.Random(7)
    for _ in range(3):
        proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        time.sleep(rng.uniform(4.0, 20.0))  # 9.2, 6.4, 14.4 s: the kernel starting, the pipeline's start, the sweep
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)  # the pipeline and its kernel
        proc.wait()
        for name, blob in _outputs(out).items():  # whatever is in place is complete
            assert blob == expected[name], f"{name} differs after a kill"
    assert subprocess.run(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=300).returncode == 0
    assert _outputs(out) == expected
    assert not _junk(out / "figures") and not _junk(out / "results") and not _junk(tmp_path / "cache")


def test_timings_table_reports_the_recorded_times():
    from mfcredit.pipeline import timings_table

    md = timings_table({"02-training": {"seconds": 150.0, "runs_trained": 10}, "01-theory": {"seconds": 40.0, "runs_trained": 1}})
    assert md.splitlines()[2:] == ["| 01-theory | 40 s | 1 |", "| 02-training | 2.5 min | 10 |", "| all | 3.2 min | 11 |"]
    with_unit = timings_table({"01-theory": {"seconds": 190.0, "runs_trained": 1}}, {"unit_s": 19.0, "threads": 2})
    assert with_unit.splitlines()[-1] == ("| all, in paper-recipe runs (one run, seed 0, 200 epochs: 19 s on 2 threads, "
                                          "timed just before) | 10.0 runs | |")


def test_readme_blocks_refreshed_from_results(tmp_path, monkeypatch):
    """A paper-scale build copies results/claims.md and results/beyond.md into the README's blocks;
    a quick build leaves the README alone."""
    from mfcredit import pipeline

    readme = tmp_path / "README.md"
    text = ("a\n<!-- claims:start -->\nold claims\n<!-- claims:end -->\nb\n"
            "<!-- beyond:start -->\nold beyond\n<!-- beyond:end -->\nc\n")
    readme.write_text(text)
    (tmp_path / "results").mkdir()
    (tmp_path / "results" / "claims.md").write_text("| new | claims |\n")
    (tmp_path / "results" / "beyond.md").write_text("| new | beyond |\n")
    monkeypatch.setattr(pipeline, "ROOT", tmp_path)
    monkeypatch.setattr(pipeline, "REPO", tmp_path)
    pipeline.update_readme(quick=True)
    assert readme.read_text() == text
    pipeline.update_readme(quick=False)
    assert readme.read_text() == ("a\n<!-- claims:start -->\n| new | claims |\n<!-- claims:end -->\nb\n"
                                  "<!-- beyond:start -->\n| new | beyond |\n<!-- beyond:end -->\nc\n")
    (tmp_path / "results" / "planted.md").write_text("| 5. planted | rows |\n")  # notebook 8's rows follow notebook 7's
    pipeline.update_readme(quick=False)
    assert "<!-- beyond:start -->\n| new | beyond |\n| 5. planted | rows |\n<!-- beyond:end -->" in readme.read_text()


def _processes_with(env_item: str) -> list[int]:
    """Pids of the live processes whose environment holds ``env_item`` ('NAME=value')."""
    found = []
    for proc in Path("/proc").iterdir():
        try:
            if proc.name.isdigit() and env_item.encode() in (proc / "environ").read_bytes().split(b"\0"):
                found.append(int(proc.name))
        except OSError:  # gone, or not ours
            pass
    return found


# ---------------------------------------------------------------- the RETRAIN=1 path, on tiny runs

TINY_JOBS = [(mf.TrainConfig(epochs=2, n_train=200, batch_size=100, eval_every=2), 0),
             (mf.TrainConfig(model="bp", epochs=2, n_train=200, batch_size=100, eval_every=2), 1)]


@pytest.fixture
def retrain_env(tmp_path, monkeypatch):
    """What ``make figures RETRAIN=1`` sets up, around two tiny runs: a temporary cache, shipped runs
    disabled, the shipped folder and the output root temporary. ``shipped.write`` is held to the
    temporary folder: its default folder is bound when the module is imported, so patching
    ``shipped.FOLDER`` alone would not move it (and it deletes the files of runs ``jobs()`` does not
    name, i.e. every real shipped run)."""
    from mfcredit import pipeline, shipped

    runs, out = tmp_path / "data" / "runs", tmp_path / "out"
    for key, value in {"MFCREDIT_CACHE": tmp_path / "cache", "MFCREDIT_SHIPPED": "0", "MFCREDIT_JOBS": "1",
                       "MFCREDIT_PROGRESS": "0"}.items():
        monkeypatch.setenv(key, str(value))
    monkeypatch.setattr(shipped, "jobs", lambda: list(TINY_JOBS))
    monkeypatch.setattr(shipped, "FOLDER", runs)
    real_write = shipped.write

    def write(found, folder=None):
        folder = runs if folder is None else Path(folder)
        assert folder.resolve() == runs.resolve(), f"ship_runs wrote to {folder}, not the test's folder"
        return real_write(found, folder)
    monkeypatch.setattr(shipped, "write", write)
    monkeypatch.setattr(pipeline, "REPO", tmp_path)  # it names the folder relative to the repository
    monkeypatch.setattr(pipeline, "ROOT", out)
    monkeypatch.setattr(mf.nb, "ROOT", out)
    return tmp_path


def test_prefetch_trains_exactly_the_missing_runs_and_ship_runs_writes_them(retrain_env):
    from mfcredit import cache, pipeline, shipped

    done = mf.cached_train(*TINY_JOBS[0], threads=shipped.THREADS, progress=False)  # one of two already there
    entry = cache.entry_path(*TINY_JOBS[0], shipped.THREADS)
    before = {p.name: p.stat().st_ino for p in entry.iterdir()}
    missing = cache.entry_path(*TINY_JOBS[1], shipped.THREADS)
    assert not missing.exists()
    row = pipeline.prefetch_shipped()  # trains in a worker process: the cache entries tell what it trained
    assert row["runs_trained"] == 1 and missing.is_dir() and row["seconds"] >= 0, row
    assert {p.name: p.stat().st_ino for p in entry.iterdir()} == before  # the cached run was not redone
    made = {p.name: p.stat().st_ino for p in missing.iterdir()}
    assert pipeline.prefetch_shipped()["runs_trained"] == 0  # nothing left to train
    assert {p.name: p.stat().st_ino for p in missing.iterdir()} == made

    pipeline.ship_runs()
    folder = retrain_env / "data" / "runs"
    names = {shipped.name(cfg, seed) for cfg, seed in TINY_JOBS}
    assert {p.name for p in folder.iterdir()} == names | {"SHA256SUMS"}  # nothing half-written left
    sums = shipped.checksums(folder)
    assert set(sums) == names
    for fname, digest in sums.items():
        assert hashlib.sha256((folder / fname).read_bytes()).hexdigest() == digest, fname
    for cfg, seed in TINY_JOBS:
        cached = cache.load_cached(cfg, seed, shipped.THREADS)
        shipped_run = shipped.load(cfg, seed, folder)
        assert shipped_run.config == cfg and shipped_run.seed == seed
        assert json.dumps(shipped_run.metrics, sort_keys=True) == json.dumps(cached.metrics, sort_keys=True)
        for key, tensors in cached.params.items():
            assert all(torch.equal(a, b) for a, b in zip(tensors, shipped_run.params[key])), key
    first = shipped.load(*TINY_JOBS[0], folder)
    assert all(torch.equal(a, b) for a, b in zip(first.params["m"], done.params["m"]))


def test_record_timings_merges_and_follows_quick(retrain_env):
    from mfcredit import pipeline

    out = retrain_env / "out"
    paper, quick = out / "results" / "timings.json", out / "results" / "quick" / "timings.json"
    paper.parent.mkdir(parents=True)
    old = {"01-theory": {"seconds": 40.0, "runs_trained": 1}, "02-training": {"seconds": 150.0, "runs_trained": 10}}
    paper.write_text(json.dumps(old))
    pipeline.record_timings(False, {"02-training": {"seconds": 99.5, "runs_trained": 3},
                                    pipeline.PREFETCH: {"seconds": 12.0, "runs_trained": 2}})
    assert json.loads(paper.read_text()) == {"01-theory": {"seconds": 40.0, "runs_trained": 1},
                                             "02-training": {"seconds": 99.5, "runs_trained": 3},
                                             pipeline.PREFETCH: {"seconds": 12.0, "runs_trained": 2}}
    assert not quick.exists()
    written = paper.read_bytes()
    pipeline.record_timings(True, {"03-weights": {"seconds": 5.0, "runs_trained": 0}})
    assert json.loads(quick.read_text()) == {"03-weights": {"seconds": 5.0, "runs_trained": 0}}
    assert paper.read_bytes() == written  # quick mode leaves the paper-scale table alone
    pipeline.record_timings(True, {"02-training": {"seconds": 7.0, "runs_trained": 1}})
    assert json.loads(quick.read_text()) == {"03-weights": {"seconds": 5.0, "runs_trained": 0},
                                             "02-training": {"seconds": 7.0, "runs_trained": 1}}
    assert sorted(p.name for p in (out / "results").rglob("*")) == ["quick", "timings.json", "timings.json"]
