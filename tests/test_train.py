"""Training loop, recipes, projection, determinism, divergence, saving and the run cache."""
import json
import math
import pickle

import pytest
import torch

import mfcredit as mf
from conftest import Malicious

QUICK = dict(n_train=2000, epochs=3, eval_every=1, batch_size=100)


@pytest.fixture(scope="module")
def small(mnist):
    return mf.Data(mnist.x_train[:2000], mnist.y_train[:2000], mnist.x_test[:2000], mnist.y_test[:2000])


# ---------------------------------------------------------------- recipes and validation

def test_paper_recipe_defaults():
    c = mf.TrainConfig()
    assert c.widths == (784, 100, 100, 10) and c.n_train == 10_000 and c.batch_size == 500 and c.epochs == 200
    assert c.lr == 0.1 and c.lr_halve_every == 20 and c.reset_adam_every_epoch and not c.decay_pi
    assert c.weight_decay == 1e-4 and c.init_xi == 0.01 and c.init_pi == 0.0
    assert c.init_m_std == pytest.approx(math.sqrt(2 / 784)) and c.test_metric == "sampled"
    assert [mf.lr_at(c, e) for e in (0, 19, 20, 40, 199)] == [0.1, 0.1, 0.05, 0.025, 0.1 * 0.5 ** 9]
    v = mf.recipe_2022()
    assert v.lr_halve_every == 0 and not v.reset_adam_every_epoch and v.decay_pi and v.epochs == 100
    assert v.test_metric == "mf_noisy" and mf.lr_at(v, 99) == 0.1
    cf = mf.recipe_cifar10()
    assert cf.widths == (3072, 200, 200, 10) and cf.batch_size == 200 and cf.lr == 0.006 and cf.init_m_std == 0.8


@pytest.mark.parametrize("field,value,match", [
    ("epochs", 0, "epochs"), ("epochs", 2.5, "epochs"), ("widths", (784, 0, 10), "widths"),
    ("widths", (784,), "widths"), ("lr", -1.0, "lr"), ("lr", float("nan"), "lr"), ("init_pi", 1.5, "init_pi"),
    ("decay_pi", "false", "decay_pi"), ("model", "sgd", "model"), ("dataset", "imagenet", "dataset"),
    ("batch_size", True, "batch_size"), ("test_metric", "best", "test_metric"), ("adam_betas", (0.9, 1.0), "adam_betas"),
])
def test_config_validation_names_the_field(field, value, match):
    with pytest.raises(ValueError, match=f"TrainConfig.{match}"):
        mf.TrainConfig(**{field: value})


def test_config_roundtrip_json():
    c = mf.recipe_2022(widths=[784, 50, 10])
    assert mf.TrainConfig.from_dict(json.loads(c.to_json())) == c
    with pytest.raises(ValueError, match="unknown"):
        mf.TrainConfig.from_dict({"epochz": 3})


# ---------------------------------------------------------------- the loop

def test_projection_clips_exactly():
    layer = mf.SpikeSlabLayer(4, 3)
    with torch.no_grad():
        layer.pi.copy_(torch.linspace(-0.5, 1.5, 12).reshape(3, 4))
        layer.xi.copy_(torch.linspace(-1, 1, 12).reshape(3, 4))
    layer.project_()
    assert layer.pi.min() == 0.0 and layer.pi.max() == 1.0 and (layer.pi == 0).sum() == 3 and (layer.pi == 1).sum() == 3
    assert layer.xi.min() == 0.0 and (layer.xi == 0).sum() == 6


def test_training_learns_and_polarises(small):
    run = mf.train(mf.TrainConfig(**{**QUICK, "epochs": 5}), seed=0, data=small, progress=False)
    for k in ("sampled", "mf_noisy", "mf_mean"):
        assert run.final(k) < 20.0, (k, run.final(k))  # chance is 90 %
    assert run.metrics["train_loss"][-1] < run.metrics["train_loss"][0]
    for pi, xi in zip(run.params["pi"], run.params["xi"]):
        assert pi.min() >= 0 and pi.max() <= 1 and xi.min() >= 0
    pi0, xi0 = run.params["pi"][0], run.params["xi"][0]
    assert (pi0 == 1).any() and (pi0 == 0).any() and (xi0 == 0).any()  # exact values from projection


def test_bp_baseline_trains(small):
    run = mf.train(mf.TrainConfig(model="bp", **QUICK), seed=0, data=small, progress=False)
    assert run.final() < 25.0
    assert run.metrics["test_error_sampled"] == run.metrics["test_error_mf_mean"]
    assert isinstance(run.network(), mf.PlainNet)


def test_same_seed_same_numbers(small):
    a = mf.train(mf.TrainConfig(**QUICK), seed=3, data=small, progress=False)
    b = mf.train(mf.TrainConfig(**QUICK), seed=3, data=small, progress=False)
    c = mf.train(mf.TrainConfig(**QUICK), seed=4, data=small, progress=False)
    assert a.metrics == b.metrics
    assert all(torch.equal(x, y) for k in a.params for x, y in zip(a.params[k], b.params[k]))
    assert a.metrics != c.metrics
    assert len(mf.train_seeds(mf.TrainConfig(**{**QUICK, "epochs": 1}), seeds=(0, 1), data=small, progress=False)) == 2


def test_eval_every_does_not_change_training(small):
    a = mf.train(mf.TrainConfig(**QUICK), seed=1, data=small, progress=False)
    b = mf.train(mf.TrainConfig(**{**QUICK, "eval_every": 3}), seed=1, data=small, progress=False)
    assert a.metrics["train_loss"] == b.metrics["train_loss"]
    assert math.isnan(b.metrics["test_error_sampled"][0]) and not math.isnan(b.metrics["test_error_sampled"][-1])


def test_divergence_names_epoch_and_batch(small):
    bad = mf.Data(torch.full_like(small.x_train, float("nan")), small.y_train, small.x_test, small.y_test)
    with pytest.raises(mf.DivergenceError, match="epoch 1, batch 1"):
        mf.train(mf.TrainConfig(**QUICK), data=bad, progress=False)


def test_wrong_input_size(small):
    with pytest.raises(ValueError, match="widths"):
        mf.train(mf.TrainConfig(widths=(100, 10), **QUICK), data=small, progress=False)


def test_callback_and_threads(small):
    seen = []
    run = mf.train(mf.TrainConfig(**{**QUICK, "epochs": 2}), data=small, progress=False, threads=1,
                   on_epoch_end=lambda e, row, net: seen.append((e, row["epoch"], type(net).__name__)))
    assert seen == [(0, 1, "MFNet"), (1, 2, "MFNet")] and run.info["threads"] == 1


# ---------------------------------------------------------------- networks three ways

def test_sampled_and_mean_networks_are_plain_modules(small):
    run = mf.train(mf.TrainConfig(**{**QUICK, "epochs": 1}), data=small, progress=False)
    net = run.network()
    x = small.x_test[:50]
    assert torch.allclose(net.mean_network()(x), net(x, noise=False), atol=1e-5)
    g1, g2 = mf.generator(7), mf.generator(7)
    sub = net.sample(g1)
    assert isinstance(sub, torch.nn.Sequential)
    ws = net.sample_weights(g2)
    manual = torch.relu(torch.relu(x @ ws[0].T / 28) @ ws[1].T / 10) @ ws[2].T / 10
    assert torch.allclose(sub(x), manual, atol=1e-5)
    errs = mf.evaluate(net, small.x_test, small.y_test, mf.generator(0))
    assert set(errs) == {"sampled", "mf_noisy", "mf_mean"} and all(0 <= v <= 100 for v in errs.values())


# ---------------------------------------------------------------- saving, loading, cache

def test_save_load_roundtrip(small, tmp_path):
    run = mf.train(mf.TrainConfig(**{**QUICK, "epochs": 1}), data=small, progress=False)
    mf.save_run(run, tmp_path / "r")
    back = mf.load_run(tmp_path / "r")
    assert back.config == run.config and back.metrics == run.metrics and back.seed == run.seed
    assert all(torch.equal(a, b) for k in run.params for a, b in zip(run.params[k], back.params[k]))
    mf.save_run(run, tmp_path / "r")  # overwrite in place
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r"]


def test_load_refuses_code_and_mismatch(small, tmp_path):
    run = mf.train(mf.TrainConfig(**{**QUICK, "epochs": 1}), data=small, progress=False)
    mf.save_run(run, tmp_path / "r")

    evil = Malicious(tmp_path / "pwned")
    (tmp_path / "r" / "params.pt").write_bytes(pickle.dumps({"pi": evil}))
    with pytest.raises(mf.RunFileError, match="refused"):
        mf.load_run(tmp_path / "r")
    assert not evil.marker.exists()
    mf.save_run(run, tmp_path / "r")
    with pytest.raises(mf.RunFileError, match="different config"):
        mf.load_run(tmp_path / "r", expect_config=run.config.replace(lr=0.2))
    cfg = json.loads((tmp_path / "r" / "config.json").read_text())
    cfg["widths"] = [784, 50, 10]
    (tmp_path / "r" / "config.json").write_text(json.dumps(cfg))
    with pytest.raises(mf.RunFileError, match="layer shapes"):
        mf.load_run(tmp_path / "r")
    (tmp_path / "r" / "metrics.json").unlink()
    with pytest.raises(mf.RunFileError, match="missing metrics.json"):
        mf.load_run(tmp_path / "r")


def test_cache_trains_once(small, tmp_path, monkeypatch):
    cfg = mf.TrainConfig(**{**QUICK, "epochs": 1})
    a = mf.cached_train(cfg, 0, cache_dir=tmp_path, data=small, progress=False)
    monkeypatch.setattr(mf.cache, "train", lambda *a, **k: pytest.fail("retrained a cached run"))
    b = mf.cached_train(cfg, 0, cache_dir=tmp_path, data=small, progress=False)
    assert a.metrics == b.metrics
    assert mf.run_key(cfg, 0) != mf.run_key(cfg, 1) != mf.run_key(cfg.replace(lr=0.05), 0)


# ---------------------------------------------------------------- replicas trained together

@pytest.mark.parametrize("model", ["gbp", "bp"])
def test_replicas_equal_sequential_runs_at_one_thread(small, model):
    """R seeds in one batched run give, bit for bit, the runs trained one at a time (1 thread)."""
    cfg = mf.TrainConfig(model=model, **QUICK)
    together = mf.train_many(cfg, [0, 1, 2], data=small, progress=False, threads=1)
    for r, seed in enumerate([0, 1, 2]):
        alone = mf.train(cfg, seed, data=small, progress=False, threads=1)
        assert together[r].seed == seed and together[r].metrics == alone.metrics
        assert all(torch.equal(a, b) for k in alone.params for a, b in zip(alone.params[k], together[r].params[k]))


def test_replicas_at_two_threads_differ_only_by_rounding(small):
    """With 2 threads the batched matrix products sum in another order: float64 runs still agree
    bit for bit here, float32 agree to rounding after one step (training then amplifies it)."""
    cfg64 = mf.TrainConfig(**{**QUICK, "dtype": "float64", "epochs": 2})
    together = mf.train_many(cfg64, [0, 1], data=small, progress=False, threads=2)
    alone = mf.train(cfg64, 1, data=small, progress=False, threads=2)
    diff = max((a - b).abs().max().item() for k in alone.params for a, b in zip(alone.params[k], together[1].params[k]))
    assert diff <= 1e-10
    one_step = mf.TrainConfig(**{**QUICK, "n_train": 100, "epochs": 1})
    together = mf.train_many(one_step, [0, 1], data=small, progress=False, threads=2)
    alone = mf.train(one_step, 1, data=small, progress=False, threads=2)
    diff = max((a - b).abs().max().item() for k in alone.params for a, b in zip(alone.params[k], together[1].params[k]))
    assert diff <= 1e-5


def test_replica_seeds_must_be_distinct(small):
    with pytest.raises(ValueError, match="distinct"):
        mf.train_many(mf.TrainConfig(**QUICK), [1, 1], data=small, progress=False)


def test_replica_network_api():
    gens = [mf.generator(s) for s in (0, 1)]
    net = mf.MFNet((6, 5, 3), replicas=2).init_(0.5, 0.1, generator=gens)
    single = mf.MFNet((6, 5, 3)).init_(0.5, 0.1, generator=mf.generator(1))
    assert all(torch.equal(a, b) for a, b in zip(net.replica(1).parameters(), single.parameters()))
    with pytest.raises(ValueError, match="list of 2 generators"):
        net(torch.rand(2, 4, 6), generator=mf.generator(0))
    with pytest.raises(ValueError, match="replica"):
        net.sample([mf.generator(0), mf.generator(1)])
    x = torch.rand(4, 6)  # one input shared by both replicas: noise is still drawn per replica
    out = net(x, generator=[mf.generator(5), mf.generator(6)])
    assert out.shape == (2, 4, 3)
    assert torch.allclose(out[1], net.replica(1)(x, generator=mf.generator(6)), atol=1e-6)


def test_saved_files_get_the_permissions_of_an_ordinary_write(small, tmp_path):
    """Atomic writes go through tempfile (0o600 files, 0o700 folders); what lands in place must have
    the mode a plain open()/mkdir() gives here instead, or other users cannot read the outputs."""
    plain_file, plain_dir = tmp_path / "plain.txt", tmp_path / "plain"
    plain_file.write_text("x")
    plain_dir.mkdir()
    mode = lambda p: p.stat().st_mode & 0o777  # noqa: E731
    mf.utils.atomic_write_bytes(tmp_path / "atomic.txt", b"x")
    assert mode(tmp_path / "atomic.txt") == mode(plain_file)
    run = mf.train(mf.TrainConfig(**{**QUICK, "epochs": 1}), data=small, progress=False)
    folder = mf.save_run(run, tmp_path / "run")
    assert mode(folder) == mode(plain_dir)
    assert {mode(f) for f in folder.iterdir()} == {mode(plain_file)}
