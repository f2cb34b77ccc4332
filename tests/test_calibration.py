"""Calibration metrics against hand-computed small cases and brute-force loops; AUROC against the
O(n^2) pair-counting definition."""
import itertools
import math

import pytest
import torch

import mfcredit as mf
from mfcredit.calibration import auroc, brier, ece, entropy, nll, reliability_bins, sampled_probs

P = torch.tensor([[0.7, 0.2, 0.1], [0.1, 0.75, 0.15], [0.45, 0.3, 0.25], [0.05, 0.05, 0.9]])  # no confidence on a bin edge
Y = torch.tensor([0, 2, 1, 2])


def test_hand_computed_case():
    # by hand: p_y = 0.7, 0.15, 0.3, 0.9
    assert nll(P, Y) == pytest.approx(-(math.log(0.7) + math.log(0.15) + math.log(0.3) + math.log(0.9)) / 4)
    # (0.3^2 + 0.2^2 + 0.1^2) + (0.1^2 + 0.75^2 + 0.85^2) + (0.45^2 + 0.7^2 + 0.25^2) + (0.05^2 + 0.05^2 + 0.1^2)
    assert brier(P, Y) == pytest.approx((0.14 + 1.295 + 0.755 + 0.015) / 4)
    # confidences 0.7, 0.75, 0.45, 0.9; correct 1, 0, 0, 1. With 5 bins of width 0.2:
    # (0.6, 0.8]: {0.7 ok, 0.75 wrong} -> |0.5 - 0.725| * 2; (0.4, 0.6]: {0.45 wrong} -> 0.45; (0.8, 1]: {0.9 ok} -> 0.1
    assert ece(P, Y, n_bins=5) == pytest.approx((2 * 0.225 + 0.45 + 0.1) / 4)
    r = reliability_bins(P, Y, n_bins=5)
    assert r["count"].tolist() == [0, 0, 1, 2, 1]
    assert math.isnan(r["accuracy"][0]) and r["accuracy"][3].item() == 0.5


def brute_force(probs, y, n_bins):
    """ECE, Brier, NLL with plain Python loops over examples and bins."""
    n, c = probs.shape
    bins = [[] for _ in range(n_bins)]
    for i in range(n):
        conf = max(probs[i].tolist())
        pred = probs[i].tolist().index(conf)
        b = 0
        while b < n_bins - 1 and conf > (b + 1) / n_bins:
            b += 1
        bins[b].append((conf, pred == y[i].item()))
    e = sum(len(b) / n * abs(sum(ok for _, ok in b) / len(b) - sum(cf for cf, _ in b) / len(b)) for b in bins if b)
    br = sum(sum((probs[i, k].item() - (k == y[i].item())) ** 2 for k in range(c)) for i in range(n)) / n
    ll = -sum(math.log(probs[i, y[i]].item()) for i in range(n)) / n
    return e, br, ll


@pytest.mark.parametrize("seed", range(4))
def test_against_brute_force(seed):
    g = torch.Generator().manual_seed(seed)
    probs = torch.softmax(3 * torch.randn(300, 10, generator=g, dtype=torch.float64), 1)
    y = torch.randint(0, 10, (300,), generator=g)
    e, br, ll = brute_force(probs, y, 15)
    assert ece(probs, y) == pytest.approx(e, abs=1e-12)
    assert brier(probs, y) == pytest.approx(br, abs=1e-12)
    assert nll(probs, y) == pytest.approx(ll, abs=1e-12)


def test_perfect_and_uniform_predictors():
    y = torch.tensor([0, 1, 2, 1])
    onehot = torch.nn.functional.one_hot(y, 3).double()
    assert ece(onehot, y) == 0 and brier(onehot, y) == 0 and nll(onehot, y) == pytest.approx(0)
    uniform = torch.full((4, 3), 1 / 3, dtype=torch.float64)
    assert nll(uniform, y) == pytest.approx(math.log(3))
    assert entropy(uniform).tolist() == pytest.approx([math.log(3)] * 4)
    assert entropy(onehot).tolist() == pytest.approx([0.0] * 4)


def pair_count(neg, pos):
    return sum(1.0 if p > q else 0.5 if p == q else 0.0 for p, q in itertools.product(pos.tolist(), neg.tolist())) / (
        len(pos) * len(neg))


@pytest.mark.parametrize("seed", range(5))
def test_auroc_against_pair_counting(seed):
    g = torch.Generator().manual_seed(seed)
    neg = torch.randint(0, 8, (40 + seed,), generator=g).double()  # small integers: many ties
    pos = torch.randint(2, 10, (30,), generator=g).double()
    assert auroc(neg, pos) == pytest.approx(pair_count(neg, pos), abs=1e-12)


def test_auroc_known_values():
    assert auroc(torch.tensor([0.1, 0.2]), torch.tensor([0.5, 0.9, 3.0])) == 1.0
    assert auroc(torch.tensor([0.5, 0.9, 3.0]), torch.tensor([0.1, 0.2])) == 0.0
    same = torch.arange(10.0)
    assert auroc(same, same.clone()) == 0.5
    assert auroc(torch.ones(7), torch.ones(3)) == 0.5
    with pytest.raises(ValueError, match="non-empty"):
        auroc(torch.tensor([]), torch.ones(3))


def test_sampled_probs_prefixes_and_oracle():
    """K-averages equal the average over the same sub-networks drawn one by one from the same seed."""
    g = mf.generator(0)
    net = mf.MFNet((6, 5, 3), dtype=torch.float64).init_(1.0, 0.5, generator=g)
    with torch.no_grad():
        net.layers[0].pi.uniform_(0, 1, generator=g)
    params = net.state()
    x = torch.rand(8, 6, generator=g, dtype=torch.float64)
    got = sampled_probs(params, x, [1, 3, 7], generator=mf.generator(5), chunk=2, batch=3)
    assert sorted(got) == [1, 3, 7]
    g2 = mf.generator(5)
    one_by_one = []
    while len(one_by_one) < 7:  # same draws: chunks of 1, 2, 2, 2 (stopping at every K)
        n = {0: 1, 1: 2, 3: 2, 5: 2}[len(one_by_one)]
        ws = [mf.sample_weights(p, m, v, n, g2) for p, m, v in zip(params["pi"], params["m"], params["xi"])]
        one_by_one += list(torch.softmax(mf.layers.forward(ws, x), -1))
    for k in (1, 3, 7):
        assert torch.allclose(got[k], torch.stack(one_by_one[:k]).mean(0), atol=1e-12)
        assert torch.allclose(got[k].sum(1), torch.ones(8, dtype=torch.float64))


def test_batched_probs_equal_one_pass():
    g = mf.generator(1)
    net = mf.PlainNet((6, 5, 3), dtype=torch.float64).init_(1.0, generator=g)
    x = torch.rand(11, 6, generator=g, dtype=torch.float64)
    with torch.no_grad():
        assert torch.allclose(mf.calibration.batched_probs(net, x, batch=4), torch.softmax(net(x), -1), atol=1e-14)
