"""Hardening: property-based checks of configs, parameters and the layer; numerics on the boundaries;
checkpoints; and runs killed with SIGKILL at random points (training and the figure pipeline)."""
import json
import math
import os
import pickle
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import mfcredit as mf
from conftest import Malicious
from mfcredit.config import DATASETS, METRICS

REPO = Path(mf.nb.REPO)
#: 300 examples per property, the same ones on every run (derandomize): CI is reproducible.
SETTINGS = settings(max_examples=300, deadline=None, derandomize=True, database=None,
                    suppress_health_check=[HealthCheck.too_slow])

# ---------------------------------------------------------------- configs (hypothesis)


def _int(v):
    return isinstance(v, int) and not isinstance(v, bool)


def _num(v):
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


#: What each scalar field accepts, written from the spec independently of mfcredit/config.py.
VALID = {
    "model": lambda v: v in ("gbp", "bp"),
    "dataset": lambda v: v in DATASETS,
    "n_train": lambda v: _int(v) and v >= 1,
    "epochs": lambda v: _int(v) and v >= 1,
    "batch_size": lambda v: _int(v) and v >= 1,
    "eval_every": lambda v: _int(v) and v >= 1,
    "lr_halve_every": lambda v: _int(v) and v >= 0,
    "lr": lambda v: _num(v) and v > 0,
    "adam_eps": lambda v: _num(v) and v > 0,
    "init_m_std": lambda v: _num(v) and v > 0,
    "weight_decay": lambda v: _num(v) and v >= 0,
    "init_xi": lambda v: _num(v) and v >= 0,
    "init_pi": lambda v: _num(v) and 0 <= v <= 1,
    "reset_adam_every_epoch": lambda v: isinstance(v, bool),
    "decay_pi": lambda v: isinstance(v, bool),
    "test_metric": lambda v: v in METRICS,
    "dtype": lambda v: v in ("float32", "float64"),
}

any_value = st.one_of(
    st.integers(-3, 10**7), st.floats(allow_nan=True, allow_infinity=True), st.booleans(), st.none(),
    st.text(max_size=6), st.sampled_from(["gbp", "bp", "mnist", "cifar10", "float32", "float64", "sampled",
                                          "mf_noisy", "false", "true", "0"]),
    st.floats(0, 1), st.integers(0, 3),  # boundary-heavy valid values
)


@SETTINGS
@given(st.dictionaries(st.sampled_from(sorted(VALID)), any_value, max_size=4))
def test_config_accepts_exactly_the_valid_values(changes):
    bad = [k for k, v in changes.items() if not VALID[k](v)]
    lr, wd = changes.get("lr", 0.1), changes.get("weight_decay", 1e-4)
    if VALID["lr"](lr) and VALID["weight_decay"](wd) and lr * wd >= 1:
        bad.append("weight_decay")  # the decoupled decay factor 1 - lr * wd must stay positive
    if bad:
        with pytest.raises(ValueError) as err:
            mf.TrainConfig(**changes)
        assert any(f"TrainConfig.{k}" in str(err.value) for k in bad), str(err.value)
    else:
        cfg = mf.TrainConfig(**changes)
        assert all(getattr(cfg, k) == v for k, v in changes.items())
        assert mf.TrainConfig.from_dict(cfg.to_dict()) == cfg


@SETTINGS
@given(st.one_of(st.lists(st.one_of(st.integers(-2, 3000), st.floats(), st.booleans(), st.text(max_size=2)), max_size=5),
                 st.integers(), st.none(), st.text(max_size=5)))
def test_config_widths(widths):
    ok = isinstance(widths, list) and len(widths) >= 2 and all(_int(w) and w >= 1 for w in widths)
    if ok:
        assert mf.TrainConfig(widths=widths).widths == tuple(widths)
    else:
        with pytest.raises(ValueError, match="TrainConfig.widths"):
            mf.TrainConfig(widths=widths)


@SETTINGS
@given(st.one_of(st.booleans(), st.integers(-2, 3), st.text(max_size=6), st.none(), st.floats(),
                 st.sampled_from(["false", "False", " TRUE ", "yes", "no", "0", "1", "", "maybe"])))
def test_notebook_quick_flag(value):
    truthy = value is True or (_int(value) and value == 1) or (isinstance(value, str) and value.strip().lower() in ("true", "1", "yes"))
    falsy = value is False or (_int(value) and value == 0) or (isinstance(value, str) and value.strip().lower() in ("false", "0", "no", ""))
    if truthy or falsy:
        assert mf.nb._as_bool("quick", value) is bool(truthy)
    else:
        with pytest.raises(ValueError, match="'quick'"):
            mf.nb._as_bool("quick", value)


@SETTINGS
@given(st.one_of(st.integers(-10, 10), st.floats(allow_nan=True), st.booleans(), st.text(max_size=3), st.none()),
       st.sampled_from([int, float]))
def test_notebook_param(value, kind):
    if kind is int:
        ok = _int(value) and 1 <= value <= 5
    else:
        ok = _num(value) and 0 <= value <= 1
    lo, hi = (1, 5) if kind is int else (0, 1)
    if ok:
        assert mf.nb.param("n", value, kind, lo, hi) == value
    else:
        with pytest.raises(ValueError, match="'n'"):
            mf.nb.param("n", value, kind, lo, hi)


# ---------------------------------------------------------------- the layer (hypothesis) and numerics


def _fill(layer, g, pi_mode, xi_mode, m_scale):
    dt = layer.theta.dtype
    shape = layer.pi.shape
    with torch.no_grad():
        pi = {"zero": torch.zeros(shape, dtype=dt), "one": torch.ones(shape, dtype=dt),
              "uniform": torch.rand(shape, generator=g, dtype=dt),
              "mixed": torch.randint(0, 3, shape, generator=g).to(dt) / 2}[pi_mode]
        xi = {"zero": torch.zeros(shape, dtype=dt), "uniform": torch.rand(shape, generator=g, dtype=dt),
              "large": 1e4 * torch.rand(shape, generator=g, dtype=dt)}[xi_mode]
        layer.pi.copy_(pi)
        layer.m.copy_(m_scale * torch.randn(shape, generator=g, dtype=dt))
        layer.xi.copy_(xi)


@SETTINGS
@given(n_in=st.integers(1, 12), n_out=st.integers(1, 12), batch=st.integers(1, 6), replicas=st.sampled_from([None, 1, 3]),
       pi_mode=st.sampled_from(["zero", "one", "uniform", "mixed"]), xi_mode=st.sampled_from(["zero", "uniform", "large"]),
       m_scale=st.sampled_from([0.0, 1e-30, 1.0, 1e4]), a_scale=st.sampled_from([0.0, 1.0, 1e3]),
       dtype=st.sampled_from([torch.float32, torch.float64]), seed=st.integers(0, 2**20))
def test_layer_is_finite_and_matches_the_reference(n_in, n_out, batch, replicas, pi_mode, xi_mode, m_scale, a_scale,
                                                   dtype, seed):
    """Any shape, pi on {0, 1} or inside, xi = 0 (so Delta = 0 is reached), extreme m, large inputs:
    forward and every gradient stay finite, Delta >= 0, and the fused layer equals plain autograd."""
    g = torch.Generator().manual_seed(seed)
    layer = mf.SpikeSlabLayer(n_in, n_out, dtype=dtype, replicas=replicas)
    _fill(layer, g, pi_mode, xi_mode, m_scale)
    lead = () if replicas is None else (replicas,)
    a = (a_scale * torch.rand(lead + (batch, n_in), generator=g, dtype=dtype)).requires_grad_()
    eps = torch.randn(lead + (batch, n_out), generator=g, dtype=dtype)
    up = torch.randn(lead + (batch, n_out), generator=g, dtype=dtype)
    z = layer(a, eps)
    (z * up).sum().backward()
    assert z.shape == lead + (batch, n_out)
    assert torch.isfinite(z).all() and torch.isfinite(layer.theta.grad).all() and torch.isfinite(a.grad).all()
    G, Delta = layer.field(a.detach())
    assert (Delta >= 0).all()
    ref = G + torch.sqrt(Delta + mf.layers.SQRT_EPS) * eps
    scale = (G.abs() + torch.sqrt(Delta + mf.layers.SQRT_EPS) * eps.abs()).max().item()
    tol = (1e-5 if dtype == torch.float32 else 1e-12) * max(scale, 1e-10)
    assert (z.detach() - ref).abs().max().item() <= tol
    if pi_mode == "one":  # every connection absent: z is the 1e-10 eps of the regulariser alone
        assert torch.allclose(z.detach(), 1e-10 * eps, rtol=1e-5, atol=0)


def test_sampling_on_the_boundaries():
    layer = mf.SpikeSlabLayer(50, 40, dtype=torch.float64)
    g = torch.Generator().manual_seed(0)
    with torch.no_grad():
        layer.m.normal_(generator=g)
        layer.pi.fill_(1.0)
        assert (layer.sample_weight(g) == 0).all()  # pi = 1: absent for sure
        layer.pi.fill_(0.0)
        layer.xi.zero_()
        assert torch.equal(layer.sample_weight(g), layer.m)  # pi = 0, xi = 0: exactly m


def test_divergence_is_reported_with_a_huge_learning_rate(mnist):
    data = mf.Data(mnist.x_train[:500] * 1e30, mnist.y_train[:500], mnist.x_test[:100], mnist.y_test[:100])
    with pytest.raises(mf.DivergenceError, match="diverged at epoch 1"):
        mf.train(mf.TrainConfig(n_train=500, epochs=2, batch_size=100, lr=1e3), data=data, progress=False)


# ---------------------------------------------------------------- checkpoints


class Stop(Exception):
    pass


def _stop_after(n):
    def cb(epoch, row, net):
        if epoch + 1 == n:
            raise Stop

    return cb


def _same(a, b):
    return a.metrics == b.metrics and all(torch.equal(x, y) for k in a.params for x, y in zip(a.params[k], b.params[k]))


@pytest.mark.parametrize("reset_adam", [True, False])
def test_interrupted_run_resumes_to_the_same_numbers(mnist_1000, tmp_path, reset_adam):
    cfg = mf.TrainConfig(n_train=1000, epochs=5, batch_size=100, reset_adam_every_epoch=reset_adam, lr_halve_every=2)
    whole = mf.train(cfg, 3, data=mnist_1000, progress=False, threads=1)
    ck = tmp_path / "run.ckpt"
    with pytest.raises(Stop):  # interrupted after epoch 3; the checkpoint of epoch 2 is on disk
        mf.train(cfg, 3, data=mnist_1000, progress=False, threads=1, checkpoint=ck, checkpoint_every=0,
                 on_epoch_end=_stop_after(3))
    resumed = mf.train(cfg, 3, data=mnist_1000, progress=False, threads=1, checkpoint=ck, checkpoint_every=0)
    assert resumed.info["resumed_from_epoch"] == 2
    assert _same(resumed, whole)
    again = mf.train(cfg, 3, data=mnist_1000, progress=False, threads=1, checkpoint=ck)  # a finished checkpoint
    assert again.info["resumed_from_epoch"] == 5 and _same(again, whole)


def test_bad_checkpoints_are_refused(mnist_1000, tmp_path):
    cfg = mf.TrainConfig(n_train=1000, epochs=1, batch_size=100)
    ck = tmp_path / "run.ckpt"
    mf.train(cfg, 0, data=mnist_1000, progress=False, checkpoint=ck, checkpoint_every=0)
    with pytest.raises(mf.RunFileError, match="another config or seeds"):
        mf.train(cfg.replace(lr=0.05), 0, data=mnist_1000, progress=False, checkpoint=ck)
    with pytest.raises(mf.RunFileError, match="another config or seeds"):
        mf.train(cfg, 1, data=mnist_1000, progress=False, checkpoint=ck)
    ck.write_bytes(ck.read_bytes()[:200])
    with pytest.raises(mf.RunFileError, match="unreadable checkpoint"):
        mf.train(cfg, 0, data=mnist_1000, progress=False, checkpoint=ck)

    evil = Malicious(tmp_path / "pwned")
    ck.write_bytes(pickle.dumps({"format": 1, "params": evil}))
    with pytest.raises(mf.RunFileError, match="unreadable checkpoint"):
        mf.train(cfg, 0, data=mnist_1000, progress=False, checkpoint=ck)
    assert not evil.marker.exists()


def test_malicious_payload_runs_when_unpickled(tmp_path):
    """The payload the refusal tests use does run code when unpickled naively, so their
    'marker does not exist' assertions can fail."""
    evil = Malicious(tmp_path / "pwned")
    pickle.loads(pickle.dumps(evil))
    assert evil.marker.read_text() == "pwned"


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
    assert _same(mf.load_run(cache / entries[0]), whole)


def _pipeline(out: Path, env_extra=None):
    env = {**os.environ, "MFCREDIT_OUTPUT": str(out), "MFCREDIT_CACHE": str(out / "cache"), "MFCREDIT_QUICK": "1",
           "MPLBACKEND": "Agg", "PYTHONHASHSEED": "0", "MFCREDIT_THREADS": "1"}
    cmd = [sys.executable, "-m", "mfcredit.pipeline", "--quick", "1", str(REPO / "notebooks" / "02-training.ipynb")]
    return subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)


def _outputs(out: Path) -> dict:
    """Figure files as bytes; result files as parsed JSON without the measured wall times (the only
    thing a resumed run legitimately changes: it spent its time differently)."""
    found = {}
    for p in sorted((out / "figures" / "quick").glob("*")) + sorted((out / "results" / "quick").glob("*.json")):
        if p.name.startswith("."):
            continue
        if p.suffix == ".json":
            found[p.relative_to(out).as_posix()] = {k: v for k, v in json.loads(p.read_text()).items() if k != "epoch_s"}
        else:
            found[p.relative_to(out).as_posix()] = p.read_bytes()
    return found


@pytest.mark.skipif(not (REPO / "notebooks" / "02-training.ipynb").exists(), reason="notebooks not built")
def test_sigkill_during_make_figures_then_rerun_gives_identical_files(tmp_path):
    """The figure pipeline (what `make figures` runs) killed with its kernel at random moments, then
    rerun: every figure file is byte-identical to an uninterrupted run's, every result equal (wall
    times aside), and nothing half-written is left."""
    ref = tmp_path / "ref"
    assert _pipeline(ref).wait(timeout=600) == 0
    expected = _outputs(ref)
    assert any(k.endswith(".png") for k in expected) and any(k.endswith(".json") for k in expected)
    out = tmp_path / "killed"
    rng = random.Random(7)
    for _ in range(3):
        proc = _pipeline(out)
        time.sleep(rng.uniform(2.0, 10.0))
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)  # the pipeline and its kernel
        proc.wait()
        for name, blob in _outputs(out).items():  # whatever is in place is complete
            assert blob == expected[name], f"{name} differs after a kill"
    assert _pipeline(out).wait(timeout=600) == 0
    assert _outputs(out) == expected
    assert not _junk(out / "figures") and not _junk(out / "results") and not _junk(out / "cache")
