"""The planted problems (mfcredit.planted), where the truth is known by construction: noise pixels that
carry no label information, and a teacher whose labels come out as documented."""
import math

import numpy as np
import pytest
import torch
from scipy import stats

import mfcredit as mf
from mfcredit import planted, training


def test_noise_pixels_follow_the_real_marginal_and_carry_no_label_information(mnist):
    """Drawn from the pool of real pixel values: the same distribution (two-sample KS test, and the
    share of exact zeros within 5 standard errors), and independent of the label: a chi-square test of
    independence between the label and the binned value (zero, dim, bright) of the 20 planted pixels
    of 10,000 images, p > 0.001 (a 1-in-1000 false alarm). The same test finds the label in one real
    pixel near the centre, so it has the power to see a dependence."""
    x, y = mnist.x_train[:10_000], mnist.y_train[:10_000]
    noise = planted.noise_pixels(x, len(x), 20, mf.generator(0))
    assert noise.shape == (10_000, 20)
    real = x.flatten()
    zero_real, zero_noise = (real == 0).double().mean().item(), (noise == 0).double().mean().item()
    assert abs(zero_real - zero_noise) < 5 * math.sqrt(zero_real * (1 - zero_real) / noise.numel())
    sub = real[torch.randperm(len(real), generator=mf.generator(1))[:20_000]]
    assert stats.ks_2samp(noise.flatten().numpy(), sub.numpy()).pvalue > 0.001
    bins = np.digitize(noise.numpy(), [1e-9, 0.5])  # zero, dim, bright
    table = np.zeros((10, 3))  # every planted value of every image, against the image's label
    np.add.at(table, (np.repeat(y.numpy(), noise.shape[1]), bins.flatten()), 1)
    assert stats.chi2_contingency(table).pvalue > 0.001
    # the test has power: a real pixel near the centre carries the label
    centre = np.digitize(x[:, 14 * 28 + 14].numpy(), [1e-9, 0.5])
    table = np.zeros((10, 3))
    np.add.at(table, (y.numpy(), centre), 1)
    assert stats.chi2_contingency(table).pvalue < 1e-10


def test_planted_inputs_in_training_fixed_or_redrawn(mnist_1000):
    """The run's data: 784 real pixels then K planted ones; the test images' planted pixels fixed;
    the training images' drawn once, or anew at every epoch with redraw_noise (no two epochs alike)."""
    cfg = mf.TrainConfig(widths=(804, 100, 100, 10), noise_inputs=20, n_train=500, batch_size=100, epochs=3,
                         eval_every=3)
    gen = torch.Generator().manual_seed(7)
    d = training._tensors(cfg, mnist_1000, torch.device("cpu"), gen)
    x, xt = d["train"][0], d["test"][0]
    assert x.shape == (500, 804) and xt.shape == (500, 804)
    assert torch.equal(x[:, :784], mnist_1000.x_train[:500]) and torch.equal(xt[:, :784], mnist_1000.x_test)
    assert set(x[:, 784:].unique().tolist()) <= set(mnist_1000.x_train[:500].unique().tolist())
    before = x[:, 784:].clone()
    training._redraw(cfg, d, gen)
    assert not torch.equal(before, d["train"][0][:, 784:]) and torch.equal(d["train"][0][:, :784], x[:, :784])
    seen = []
    for redraw in (False, True):
        run = mf.train(cfg.replace(redraw_noise=redraw), seed=0, data=mnist_1000, progress=False, threads=1,
                       on_epoch_end=lambda e, row, net: None)
        seen.append(run.metrics["train_loss"])
    assert seen[0] != seen[1]  # same seed, same start: only the redrawn pixels differ


def test_teacher_labels_come_out_as_documented():
    """An independent implementation of the documented rule (numpy, float64) gives every label; the
    labels do not change when the unused inputs do, and do when the used ones do; every class occurs."""
    t = planted.teacher()
    assert t.used.sum() == planted.TEACHER_USED and (t.w1[:, ~t.used] == 0).all()
    data = mf.load_dataset("teacher", n_train=5000)
    x = data.x_train.double().numpy()
    w1, w2, u = t.w1.numpy(), t.w2.numpy(), int(t.used.sum())
    sigma = np.sqrt((w1 ** 2).sum(1) / u)
    out = (np.maximum(x @ w1.T / np.sqrt(u), 0) - sigma / np.sqrt(2 * np.pi)) @ w2.T
    # x was stored in float32: labels are those of the stored inputs
    assert (out.argmax(1) == data.y_train.numpy()).mean() > 0.999
    g = mf.generator(3)
    x64 = torch.randn(4000, planted.TEACHER_INPUTS, generator=g, dtype=torch.float64)
    shuffled = x64.clone()
    shuffled[:, ~t.used] = torch.randn(4000, int((~t.used).sum()), generator=g, dtype=torch.float64)
    assert torch.equal(t.labels(x64), t.labels(shuffled))
    moved = x64.clone()
    moved[:, t.used] = torch.randn(4000, u, generator=g, dtype=torch.float64)
    assert (t.labels(moved) != t.labels(x64)).double().mean() > 0.5
    share = torch.bincount(data.y_test, minlength=10).double() / len(data.y_test)
    assert share.min() > 0.03 and share.max() < 0.2


def test_teacher_data_is_fixed_and_splits_do_not_overlap():
    a = mf.load_dataset("teacher", n_train=1000)
    b = mf.load_dataset("teacher", n_train=2000)
    assert torch.equal(a.x_train, b.x_train[:1000]) and torch.equal(a.x_test, b.x_test)
    assert a.x_train.shape == (1000, planted.TEACHER_INPUTS) and a.x_test.shape == (planted.TEACHER_TEST, 200)
    few = mf.load_dataset("teacher", n_train=10, n_test=50)
    assert torch.equal(few.x_test, a.x_test[:50]) and torch.equal(few.y_test, a.y_test[:50])
    xv, yv = mf.data.validation_split("teacher", n=10_000, n_train=2000)
    full = mf.load_dataset("teacher")
    assert torch.equal(xv, full.x_train[-10_000:]) and torch.equal(yv, full.y_train[-10_000:])
    with pytest.raises(ValueError, match="overlap"):
        mf.data.validation_split("teacher", n=10_000, n_train=55_000)
    with pytest.raises(ValueError, match="n_train"):
        mf.load_dataset("teacher", n_train=0)
    run = mf.train(mf.TrainConfig(dataset="teacher", widths=(200, 20, 10), n_train=1000, batch_size=100, epochs=2),
                   progress=False, threads=1)
    assert run.final() < 90
