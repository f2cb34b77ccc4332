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


def scores_by_loops(probs, y, n_bins):
    """error (%), NLL (p_y floored at calibration.TINY), ECE and Brier with plain Python loops over
    examples and bins. The bin of a confidence c is the b with b/n < c <= (b+1)/n (the first bin also
    holds 0), decided in exact rational arithmetic, so a confidence on an edge goes to the bin below."""
    from fractions import Fraction

    rows, labels = probs.tolist(), y.tolist()
    n = len(rows)
    wrong, nll_sum, brier_sum = 0, 0.0, 0.0
    bins = [[] for _ in range(n_bins)]
    for row, label in zip(rows, labels):
        conf = max(row)
        pred = row.index(conf)  # the first of tied maxima
        wrong += pred != label
        nll_sum += -math.log(max(row[label], mf.calibration.TINY))
        brier_sum += sum((p - (k == label)) ** 2 for k, p in enumerate(row))
        b = next(b for b in range(n_bins) if Fraction(conf) <= Fraction(b + 1, n_bins))
        assert b == 0 or Fraction(conf) > Fraction(b, n_bins)
        bins[b].append((conf, pred == label))
    ece_sum = 0.0
    for members in bins:
        if members:
            acc = sum(ok for _, ok in members) / len(members)
            mean_conf = sum(c for c, _ in members) / len(members)
            ece_sum += len(members) * abs(acc - mean_conf)
    return {"error": 100.0 * wrong / n, "nll": nll_sum / n, "ece": ece_sum / n, "brier": brier_sum / n}


#: Confidences in 64ths: on the edges k/8 (0.25 ... 1) and between them, so a bin holds both kinds.
EDGES = (16, 24, 32, 40, 48, 56, 64)
BETWEEN = (19, 29, 37, 45, 51, 61)


def edge_cases(n_classes=5, seed=0):
    """Rows whose confidence lies exactly on a bin edge k/8 or between edges (every value a multiple
    of 1/64, exact in binary; no tied maxima), half of them giving the true class probability exactly 0."""
    g = torch.Generator().manual_seed(seed)
    rows, labels = [], []
    for top in EDGES + BETWEEN:
        for zero_true in (False, True):
            for _ in range(3):
                rest = 64 - top
                others = [0] * (n_classes - 1)
                for _ in range(rest):  # share the rest among the others, each below top
                    k = int(torch.randint(0, n_classes - 1, (1,), generator=g))
                    while others[k] + 1 >= top:
                        k = (k + 1) % (n_classes - 1)
                    others[k] += 1
                where = int(torch.randint(0, n_classes, (1,), generator=g))
                row = others[:where] + [top] + others[where:]
                zeros = [k for k, v in enumerate(row) if v == 0]
                label = zeros[0] if zero_true and zeros else int(torch.randint(0, n_classes, (1,), generator=g))
                rows.append([v / 64 for v in row])
                labels.append(label)
    return torch.tensor(rows, dtype=torch.float64), torch.tensor(labels)


@pytest.mark.parametrize("n_bins", [4, 8, 16])
def test_scores_against_loops_with_edges_and_zero_probabilities(n_bins):
    probs, y = edge_cases()
    assert (probs.sum(1) == 1).all()
    on_edge = (probs.max(1).values * 8) == (probs.max(1).values * 8).round()
    assert on_edge.sum() == 6 * len(EDGES) and (~on_edge).sum() == 6 * len(BETWEEN)  # on edges of 4, 8, 16 bins
    assert (probs.gather(1, y[:, None]) == 0).sum() >= 5  # the floor at TINY is used
    got, want = mf.calibration.scores(probs, y, n_bins), scores_by_loops(probs, y, n_bins)
    assert set(got) == {"error", "nll", "ece", "brier"}
    for k in want:
        assert got[k] == pytest.approx(want[k], rel=1e-12, abs=1e-12), k
    zeros = int((probs.gather(1, y[:, None]) == 0).sum())
    assert math.isfinite(got["nll"]) and got["nll"] >= zeros * -math.log(1e-12) / len(y)  # 27.6 per zero


@pytest.mark.parametrize("seed,dtype", [(0, torch.float64), (1, torch.float64), (2, torch.float32)])
def test_scores_against_loops_on_random_probabilities(seed, dtype):
    g = torch.Generator().manual_seed(seed)
    probs = torch.softmax(4 * torch.randn(500, 10, generator=g, dtype=torch.float64), 1)
    probs[:40, 3] = 0.0  # exact zeros, renormalised below; some rows with label 3 hit the floor
    probs = (probs / probs.sum(1, keepdim=True)).to(dtype)
    y = torch.randint(0, 10, (500,), generator=g)
    y[:20] = 3
    rel = 1e-12 if dtype == torch.float64 else 1e-6  # float32: the log and the squares are float32
    for n_bins in (10, 15):
        got, want = mf.calibration.scores(probs, y, n_bins), scores_by_loops(probs, y, n_bins)
        for k in want:
            assert got[k] == pytest.approx(want[k], rel=rel, abs=rel), (k, n_bins)


def test_temperature_fit_against_a_grid_search():
    """The fitted temperature is the minimum of the validation NLL found by a fine grid (1e-4 in log T),
    for over-confident (T > 1) and under-confident (T < 1) logits; it beats T = 1 and keeps the argmax."""
    g = torch.Generator().manual_seed(0)
    y = torch.randint(0, 10, (3000,), generator=g)
    base = torch.randn(3000, 10, generator=g, dtype=torch.float64) + 2.0 * torch.nn.functional.one_hot(y, 10)
    for scale in (3.0, 0.4):
        logits = scale * base
        T = mf.calibration.fit_temperature(logits, y)
        def grid_min(lo, hi, step):  # log T on a grid, every NLL from its own log-softmax
            logs = torch.arange(lo, hi, step, dtype=torch.float64)
            nll = torch.cat([-torch.log_softmax(logits / torch.exp(c)[:, None, None], -1)
                             .gather(2, y.expand(len(c), -1)[..., None]).mean((1, 2)) for c in logs.split(50)])
            return logs[nll.argmin()].item()

        coarse = grid_min(math.log(0.05), math.log(20.0), 1e-2)
        best = math.exp(grid_min(coarse - 0.02, coarse + 0.02, 1e-4))
        assert abs(math.log(T) - math.log(best)) < 2e-4, (scale, T, best)
        assert (T > 1) == (scale > 1)
        assert mf.calibration.nll(torch.softmax(logits / T, 1), y) <= mf.calibration.nll(torch.softmax(logits, 1), y)
        assert torch.equal((logits / T).argmax(1), logits.argmax(1))
