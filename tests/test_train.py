"""The training loop: learning, the baseline, determinism, divergence, callbacks, and the three
ways of running a trained network."""
import math

import pytest
import torch

import mfcredit as mf
from mfcredit.layers import forward
from mfcredit.training import DivergenceError

QUICK = dict(n_train=2000, epochs=3, eval_every=1, batch_size=100)


@pytest.fixture(scope="module")
def small(mnist):
    return mf.Data(mnist.x_train[:2000], mnist.y_train[:2000], mnist.x_test[:2000], mnist.y_test[:2000])


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
    assert set(run.params) == {"w"} and [tuple(w.shape) for w in run.params["w"]] == [(100, 784), (100, 100), (10, 100)]
    net = run.network()
    assert isinstance(net, mf.PlainNet) and torch.equal(net.layers[2].weight, run.params["w"][2])


def test_same_seed_same_numbers(small):
    a = mf.train(mf.TrainConfig(**QUICK), seed=3, data=small, progress=False)
    b = mf.train(mf.TrainConfig(**QUICK), seed=3, data=small, progress=False)
    c = mf.train(mf.TrainConfig(**QUICK), seed=4, data=small, progress=False)
    assert a.metrics == b.metrics
    assert all(torch.equal(x, y) for k in a.params for x, y in zip(a.params[k], b.params[k]))
    assert a.metrics != c.metrics


def test_eval_every_does_not_change_training(small):
    a = mf.train(mf.TrainConfig(**QUICK), seed=1, data=small, progress=False)
    b = mf.train(mf.TrainConfig(**{**QUICK, "eval_every": 3}), seed=1, data=small, progress=False)
    assert a.metrics["train_loss"] == b.metrics["train_loss"]
    assert math.isnan(b.metrics["test_error_sampled"][0]) and not math.isnan(b.metrics["test_error_sampled"][-1])


def test_test_metric_does_not_change_training(small):
    """The headline metric only picks which error Run.final reports: same parameters, same errors."""
    a = mf.train(mf.TrainConfig(**QUICK), seed=2, data=small, progress=False)
    b = mf.train(mf.TrainConfig(**{**QUICK, "test_metric": "mf_noisy"}), seed=2, data=small, progress=False)
    assert a.metrics == b.metrics
    assert all(torch.equal(x, y) for k in a.params for x, y in zip(a.params[k], b.params[k]))
    assert b.final() == a.final("mf_noisy") and a.final() == a.final("sampled")


def test_divergence_names_epoch_and_batch(small):
    bad = mf.Data(torch.full_like(small.x_train, float("nan")), small.y_train, small.x_test, small.y_test)
    with pytest.raises(DivergenceError, match="epoch 1, batch 1"):
        mf.train(mf.TrainConfig(**QUICK), data=bad, progress=False)


def test_divergence_is_reported_with_a_huge_learning_rate(mnist):
    data = mf.Data(mnist.x_train[:500] * 1e30, mnist.y_train[:500], mnist.x_test[:100], mnist.y_test[:100])
    with pytest.raises(DivergenceError, match="diverged at epoch 1"):
        mf.train(mf.TrainConfig(n_train=500, epochs=2, batch_size=100, lr=1e3), data=data, progress=False)


def test_wrong_input_size(small):
    with pytest.raises(ValueError, match="widths"):
        mf.train(mf.TrainConfig(widths=(100, 10), **QUICK), data=small, progress=False)


def test_callback_and_threads(small):
    seen = []
    run = mf.train(mf.TrainConfig(**{**QUICK, "epochs": 2}), data=small, progress=False, threads=1,
                   on_epoch_end=lambda e, row, net: seen.append((e, row["epoch"], type(net).__name__)))
    assert seen == [(0, 1, "MFNet"), (1, 2, "MFNet")] and run.info["threads"] == 1


@pytest.mark.parametrize("threads", [1, 2])
def test_training_flushes_denormals_on_every_thread_then_restores(small, threads):
    from mfcredit.utils import flushes_denormals, num_threads

    seen = []
    with num_threads(threads):
        (torch.ones(1 << 20) * 2).sum()  # torch's threads exist before training starts
        assert not flushes_denormals()
        mf.train(mf.TrainConfig(**{**QUICK, "epochs": 1}), data=small, progress=False, threads=threads,
                 on_epoch_end=lambda e, row, net: seen.append((flushes_denormals(), flushes_denormals(everywhere=False))))
        assert seen == [(True, True)]
        assert not flushes_denormals(everywhere=False)  # the caller's mode is back


@pytest.mark.skipif(mf.utils._openmp() is None, reason="torch's threads here are not libgomp's")
def test_torch_flush_setting_alone_misses_the_other_threads():
    """Why :func:`mfcredit.utils.set_flush_denormals` reaches every thread itself: the probe tells."""
    from mfcredit.utils import flush_denormals, flushes_denormals, num_threads

    with num_threads(2):
        (torch.ones(1 << 20) * 2).sum()
        torch.set_flush_denormal(True)
        try:
            assert flushes_denormals(everywhere=False) and not flushes_denormals()
            with flush_denormals():
                assert flushes_denormals()
            assert flushes_denormals(everywhere=False)  # it was on before: it stays on here
        finally:
            mf.utils.set_flush_denormals(False)
        assert not flushes_denormals(everywhere=False) and not flushes_denormals()


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
    assert torch.allclose(forward(ws, x), manual, atol=1e-5)
    errs = mf.evaluate(net, small.x_test, small.y_test, mf.generator(0))
    assert set(errs) == {"sampled", "mf_noisy", "mf_mean"} and all(0 <= v <= 100 for v in errs.values())


def test_forward_runs_many_sampled_networks_at_once():
    """One (S, N_l, N_{l-1}) stack per layer gives, network by network, the single-network logits."""
    net = mf.MFNet((6, 5, 3)).init_(0.5, 0.1, 0.2, generator=mf.generator(0))
    stacks = [mf.sample_weights(layer.pi.detach(), layer.m.detach(), layer.xi.detach(), 4, mf.generator(1))
              for layer in net.layers]
    x = torch.rand(7, 6, generator=mf.generator(2))
    out = forward(stacks, x)
    assert out.shape == (4, 7, 3)
    for s in range(4):
        assert torch.allclose(out[s], forward([w[s] for w in stacks], x), atol=1e-6)
