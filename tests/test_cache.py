"""The compute-once cache: a run trains once, an entry of another version or thread count is not
reused, a damaged entry is recomputed, and a training run killed with SIGKILL at random points
resumes and loses nothing."""
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

import mfcredit as mf
from mfcredit.runs import RunFileError, load_run

def _same(a, b):
    return a.metrics == b.metrics and all(torch.equal(x, y) for k in a.params for x, y in zip(a.params[k], b.params[k]))


def test_cache_trains_once(mnist_1000, tmp_path, monkeypatch):
    cfg = mf.TrainConfig(n_train=1000, epochs=1, batch_size=100)
    a = mf.cached_train(cfg, 0, cache_dir=tmp_path, data=mnist_1000, progress=False)
    monkeypatch.setattr(mf.cache, "train", lambda *a, **k: pytest.fail("retrained a cached run"))
    b = mf.cached_train(cfg, 0, cache_dir=tmp_path, data=mnist_1000, progress=False)
    assert a.metrics == b.metrics
    keys = {mf.cache.run_key(cfg, 0, 1), mf.cache.run_key(cfg, 1, 1), mf.cache.run_key(cfg.replace(lr=0.05), 0, 1),
            mf.cache.run_key(cfg, 0, 2)}
    assert len(keys) == 4  # seed, config and thread count all change the key


def test_thread_count_is_part_of_the_entry(mnist_1000, tmp_path):
    cfg = mf.TrainConfig(n_train=1000, epochs=1, batch_size=100)
    one = mf.cached_train(cfg, 0, cache_dir=tmp_path, data=mnist_1000, progress=False, threads=1)
    two = mf.cached_train(cfg, 0, cache_dir=tmp_path, data=mnist_1000, progress=False, threads=2)
    assert (one.info["threads"], two.info["threads"]) == (1, 2)
    assert len([p for p in tmp_path.iterdir() if not p.name.startswith(".")]) == 2
    moved = mf.cache.entry_path(cfg, 0, 2, tmp_path)  # a hand-copied folder: kept as an error, not recomputed
    shutil.rmtree(moved)
    shutil.copytree(mf.cache.entry_path(cfg, 0, 1, tmp_path), moved)
    with pytest.raises(RunFileError, match="threads"):
        mf.cached_train(cfg, 0, cache_dir=tmp_path, data=mnist_1000, progress=False, threads=2)


@pytest.mark.parametrize("damage", ["truncate params.pt", "truncate metrics.json", "empty config.json",
                                    "delete params.pt"])
def test_damaged_entry_is_reported_and_recomputed(mnist_1000, tmp_path, damage):
    cfg = mf.TrainConfig(n_train=1000, epochs=1, batch_size=100)
    good = mf.cached_train(cfg, 0, cache_dir=tmp_path, data=mnist_1000, progress=False, threads=1)
    folder = mf.cache.entry_path(cfg, 0, 1, tmp_path)
    verb, name = damage.split()
    f = folder / name
    if verb == "delete":
        f.unlink()
    else:
        f.write_bytes(f.read_bytes()[: f.stat().st_size // 2 if verb == "truncate" else 0])
    with pytest.warns(RuntimeWarning, match=f"damaged cache entry {folder}.*recomputing"):
        again = mf.cached_train(cfg, 0, cache_dir=tmp_path, data=mnist_1000, progress=False, threads=1)
    assert _same(again, good) and _same(load_run(folder), good)


def test_cache_entry_of_another_version_is_not_reused(mnist_1000, tmp_path, monkeypatch):
    cfg = mf.TrainConfig(n_train=1000, epochs=1, batch_size=100)
    mf.cached_train(cfg, 0, cache_dir=tmp_path, data=mnist_1000, progress=False)
    monkeypatch.setattr(mf.cache, "CACHE_VERSION", mf.cache.CACHE_VERSION + 1)
    retrained = []
    real_train = mf.cache.train
    monkeypatch.setattr(mf.cache, "train", lambda *a, **k: retrained.append(1) or real_train(*a, **k))
    mf.cached_train(cfg, 0, cache_dir=tmp_path, data=mnist_1000, progress=False)
    assert retrained == [1]  # new version, new key: trained again, the old entry is not touched
    assert len([p for p in tmp_path.iterdir() if not p.name.startswith(".")]) == 2


# ---------------------------------------------------------------- SIGKILL at random points

TRAIN_SCRIPT = """
import sys, mfcredit as mf
m = mf.load_dataset("mnist")
data = mf.Data(m.x_train[:2000], m.y_train[:2000], m.x_test[:1000], m.y_test[:1000])
cfg = mf.TrainConfig(n_train=2000, epochs=40, batch_size=100)
run = mf.cached_train(cfg, 0, cache_dir=sys.argv[1], data=data, progress=False, threads=1, checkpoint_every=0)
print("resumed_from", run.info["resumed_from_epoch"], flush=True)
"""


def _junk(folder: Path):
    """Hidden temporaries (partial writes) anywhere under ``folder``."""
    return [p for p in folder.rglob(".*") if p.name not in (".ipynb_checkpoints",)]


def test_sigkill_during_training_loses_nothing(mnist, tmp_path):
    cache = tmp_path / "cache"
    rng = random.Random(20261128)
    kills = []
    for attempt in range(4):
        proc = subprocess.Popen([sys.executable, "-c", TRAIN_SCRIPT, str(cache)], stdout=subprocess.PIPE, text=True)
        deadline = time.time() + 120
        while not list(cache.glob("*.ckpt")) and proc.poll() is None and time.time() < deadline:
            time.sleep(0.02)
        time.sleep(rng.uniform(0.0, 1.5))  # somewhere in training, a save, or between them
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
            kills.append(attempt)
        proc.wait()
        for ck in cache.glob("*.ckpt"):  # whatever is in place is complete and loadable
            torch.load(ck, weights_only=True)
    assert kills, "the run finished before any kill: make the test run longer"
    out = subprocess.run([sys.executable, "-c", TRAIN_SCRIPT, str(cache)], capture_output=True, text=True, check=True)
    resumed_from = int(out.stdout.split()[-1])
    assert resumed_from > 0  # the last attempt started from saved work, not from scratch
    entries = sorted(p.name for p in cache.iterdir())
    assert len(entries) == 1 and entries[0].startswith("gbp-") and not _junk(cache), entries
    data = mf.Data(mnist.x_train[:2000], mnist.y_train[:2000], mnist.x_test[:1000], mnist.y_test[:1000])
    cfg = mf.TrainConfig(n_train=2000, epochs=40, batch_size=100)
    whole = mf.train(cfg, 0, data=data, progress=False, threads=1)
    assert _same(load_run(cache / entries[0]), whole)
