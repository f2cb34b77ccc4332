"""A run's record: saving and loading (atomic, refusing code and mismatches, usual permissions),
and checkpoints: an interrupted run resumes to the same numbers, a bad checkpoint is refused."""
import json
import pickle

import pytest
import torch

import mfcredit as mf
from conftest import Malicious
from mfcredit.runs import RunFileError, load_run, save_run

QUICK = dict(n_train=1000, epochs=1, batch_size=100)


@pytest.fixture(scope="module")
def run(mnist_1000):
    return mf.train(mf.TrainConfig(**QUICK), data=mnist_1000, progress=False)


def _same(a, b):
    return a.metrics == b.metrics and all(torch.equal(x, y) for k in a.params for x, y in zip(a.params[k], b.params[k]))


def test_save_load_roundtrip(run, tmp_path):
    save_run(run, tmp_path / "r")
    back = load_run(tmp_path / "r")
    assert back.config == run.config and back.metrics == run.metrics and back.seed == run.seed
    assert all(torch.equal(a, b) for k in run.params for a, b in zip(run.params[k], back.params[k]))
    save_run(run, tmp_path / "r")  # overwrite in place
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r"]


def test_load_refuses_code_and_mismatch(run, tmp_path):
    save_run(run, tmp_path / "r")

    evil = Malicious(tmp_path / "pwned")
    (tmp_path / "r" / "params.pt").write_bytes(pickle.dumps({"pi": evil}))
    with pytest.raises(RunFileError, match="refused"):
        load_run(tmp_path / "r")
    assert not evil.marker.exists()
    save_run(run, tmp_path / "r")
    with pytest.raises(RunFileError, match="different config"):
        load_run(tmp_path / "r", expect_config=run.config.replace(lr=0.2))
    cfg = json.loads((tmp_path / "r" / "config.json").read_text())
    cfg["widths"] = [784, 50, 10]
    (tmp_path / "r" / "config.json").write_text(json.dumps(cfg))
    with pytest.raises(RunFileError, match="layer shapes"):
        load_run(tmp_path / "r")
    (tmp_path / "r" / "metrics.json").unlink()
    with pytest.raises(RunFileError, match="missing metrics.json"):
        load_run(tmp_path / "r")


def test_bp_run_saved_with_its_weights_under_m_still_loads(mnist_1000, tmp_path):
    """Runs saved before the plain weights got their own name ('w') kept them under 'm'."""
    bp = mf.train(mf.TrainConfig(model="bp", **QUICK), data=mnist_1000, progress=False)
    save_run(mf.Run(bp.config, bp.seed, bp.metrics, {"m": bp.params["w"]}, bp.info), tmp_path / "old")
    back = load_run(tmp_path / "old")
    assert set(back.params) == {"w"} and all(torch.equal(a, b) for a, b in zip(back.params["w"], bp.params["w"]))


def test_saved_files_get_the_permissions_of_an_ordinary_write(run, tmp_path):
    """Atomic writes go through tempfile (0o600 files, 0o700 folders); what lands in place must have
    the mode a plain open()/mkdir() gives here instead, or other users cannot read the outputs."""
    plain_file, plain_dir = tmp_path / "plain.txt", tmp_path / "plain"
    plain_file.write_text("x")
    plain_dir.mkdir()
    mode = lambda p: p.stat().st_mode & 0o777  # noqa: E731
    mf.utils.atomic_write_bytes(tmp_path / "atomic.txt", b"x")
    assert mode(tmp_path / "atomic.txt") == mode(plain_file)
    folder = save_run(run, tmp_path / "run")
    assert mode(folder) == mode(plain_dir)
    assert {mode(f) for f in folder.iterdir()} == {mode(plain_file)}


def test_malicious_payload_runs_when_unpickled(tmp_path):
    """The payload the refusal tests use does run code when unpickled naively, so their
    'marker does not exist' assertions can fail."""
    evil = Malicious(tmp_path / "pwned")
    pickle.loads(pickle.dumps(evil))
    assert evil.marker.read_text() == "pwned"


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
    with pytest.raises(RunFileError, match="another config or seed"):
        mf.train(cfg.replace(lr=0.05), 0, data=mnist_1000, progress=False, checkpoint=ck)
    with pytest.raises(RunFileError, match="another config or seed"):
        mf.train(cfg, 1, data=mnist_1000, progress=False, checkpoint=ck)
    ck.write_bytes(ck.read_bytes()[:200])
    with pytest.raises(RunFileError, match="unreadable checkpoint"):
        mf.train(cfg, 0, data=mnist_1000, progress=False, checkpoint=ck)

    evil = Malicious(tmp_path / "pwned")
    ck.write_bytes(pickle.dumps({"format": 1, "params": evil}))
    with pytest.raises(RunFileError, match="unreadable checkpoint"):
        mf.train(cfg, 0, data=mnist_1000, progress=False, checkpoint=ck)
    assert not evil.marker.exists()
