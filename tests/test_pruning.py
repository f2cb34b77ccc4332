"""Pruning: exact counts, removal in score order, and pruned networks against networks zeroed by hand."""
import math

import pytest
import torch

import mfcredit as mf
from mfcredit.pruning import (apply_masks, keep_mask, keep_scores, mean_weights, pruning_curve, removal_order,
                              sparsity_at_loss)


@pytest.fixture
def ensemble():
    g = mf.generator(0)
    net = mf.MFNet((12, 7, 5, 3), dtype=torch.float64).init_(1.0, 0.5, generator=g)
    with torch.no_grad():
        for layer in net.layers:
            layer.pi.uniform_(0, 1, generator=g)
            layer.pi[:, :2] = 0.0  # exact ties, as after training
    x = torch.rand(40, 12, generator=g, dtype=torch.float64)
    y = torch.randint(0, 3, (40,), generator=g)
    return net.state(), x, y


@pytest.mark.parametrize("fraction", [0.0, 0.1, 0.37, 0.5, 0.99, 1.0])
def test_pruned_fraction_exact_and_in_score_order(ensemble, fraction):
    params, _, _ = ensemble
    for kind in ("presence", "rms", "mean", "random"):
        for score in keep_scores(params, kind, mf.generator(1)):
            mask = keep_mask(removal_order(score, mf.generator(2)), fraction, score.shape)
            assert (~mask).sum().item() == round(fraction * score.numel())
            if 0 < (~mask).sum() < mask.numel():  # every removed score <= every kept score
                assert score[~mask].max() <= score[mask].min()


def test_ties_broken_at_random_but_order_respected():
    score = torch.tensor([1.0, 0.0, 1.0, 0.0, 1.0, 0.0, 2.0])
    orders = {tuple(removal_order(score, mf.generator(s)).tolist()) for s in range(20)}
    assert len(orders) > 1  # ties in more than one order
    for o in orders:
        assert sorted(o[:3]) == [1, 3, 5] and o[-1] == 6


def test_scores_by_hand(ensemble):
    params, _, _ = ensemble
    pi, m, xi = (params[k][1] for k in ("pi", "m", "xi"))
    assert torch.equal(keep_scores(params, "presence")[1], 1 - pi)
    assert keep_scores(params, "mean")[1][2, 1].item() == abs((1 - pi[2, 1].item()) * m[2, 1].item())
    i, j = 3, 4
    assert keep_scores(params, "rms")[1][i, j].item() == pytest.approx(
        math.sqrt((1 - pi[i, j].item()) * (m[i, j].item() ** 2 + xi[i, j].item())))
    # the rms is the root of E[w^2] under P(w), checked by sampling
    w = mf.sample_weights(pi[i, j], m[i, j], xi[i, j], 200_000, mf.generator(3))
    assert (w ** 2).mean().sqrt().item() == pytest.approx(keep_scores(params, "rms")[1][i, j].item(), rel=0.02)
    with pytest.raises(ValueError, match="magnitude"):
        keep_scores(params, "magnitude")
    for kind in ("presence", "rms", "mean"):
        with pytest.raises(ValueError, match="ensemble"):
            keep_scores({"w": params["m"]}, kind)
    with pytest.raises(ValueError, match="unknown score"):
        keep_scores(params, "size")


@pytest.mark.parametrize("kind", ["rms", "mean"])
def test_pruned_eps0_equals_hand_zeroed_network(ensemble, kind):
    """Pruned by a score, the eps = 0 network errs as the mean network with the lowest-scored weights
    zeroed by hand; by the 'mean' score those are its smallest weights |(1 - pi) m|."""
    params, x, y = ensemble
    scores = keep_scores(params, kind)
    fractions = [0.0, 0.3, 0.8]
    for layers in ([0], [1], [2], [0, 1, 2]):
        curve = pruning_curve(params, scores, fractions, x, y, layers=layers, generator=mf.generator(4))
        g = mf.generator(4)
        orders = {l: removal_order(scores[l], g) for l in layers}
        for f, err in zip(fractions, curve["mean"]):
            ws = [(1 - pi) * m for pi, m in zip(params["pi"], params["m"])]
            for l in layers:  # zero by hand the round(f n) lowest-scored weights of layer l
                flat = ws[l].flatten().clone()
                if kind == "mean":  # the removed ones are the smallest |mu| (ties aside)
                    k = round(f * flat.numel())
                    assert flat[orders[l][:k]].abs().max() <= flat[orders[l][k:]].abs().min() if 0 < k < flat.numel() else True
                flat[orders[l][: round(f * flat.numel())]] = 0.0
                ws[l] = flat.reshape(ws[l].shape)
            logits = mf.layers.forward(ws, x)
            assert err == pytest.approx(100.0 * (logits.argmax(1) != y).double().mean().item())
            pruned = apply_masks(params, {l: keep_mask(orders[l], f, scores[l].shape) for l in layers})
            assert all(torch.allclose(a, b) for a, b in zip(mean_weights(pruned), ws))


def test_sampled_subnetworks_lack_removed_connections(ensemble):
    params, x, y = ensemble
    score = keep_scores(params, "presence")[0]
    keep = keep_mask(removal_order(score, mf.generator(0)), 0.6, score.shape)
    pruned = apply_masks(params, {0: keep})
    w = mf.sample_weights(pruned["pi"][0], pruned["m"][0], pruned["xi"][0], 50, mf.generator(1))
    assert (w[:, ~keep] == 0).all() and (w[:, keep] != 0).any()
    curve = pruning_curve(params, keep_scores(params, "presence"), [0.0, 1.0], x, y, n_samples=3,
                          generator=mf.generator(2))
    assert len(curve["sampled"]) == 2
    # everything removed: every logit is 0 and argmax picks class 0
    assert curve["sampled"][1] == pytest.approx(100.0 * (y != 0).double().mean().item())


def test_plain_network_magnitude_pruning(ensemble):
    params, x, y = ensemble
    plain = {"w": [m.clone() for m in params["m"]]}
    scores = keep_scores(plain, "magnitude")
    curve = pruning_curve(plain, scores, [0.0, 0.5], x, y, layers=[1], generator=mf.generator(0))
    w = [t.clone() for t in plain["w"]]
    cut = w[1].abs().flatten().sort().values[round(0.5 * w[1].numel()) - 1]
    w[1][w[1].abs() <= cut] = 0.0  # no ties among random floats
    assert curve["mean"][1] == pytest.approx(100.0 * (mf.layers.forward(w, x).argmax(1) != y).double().mean().item())
    with pytest.raises(ValueError, match="ensemble"):
        pruning_curve(plain, scores, [0.0], x, y, n_samples=2)


def test_sparsity_at_loss():
    f = [0.0, 0.5, 0.9, 0.99]
    assert sparsity_at_loss(f, [2.0, 2.5, 4.0, 10.0]) == pytest.approx(0.5 + 0.4 * 0.5 / 1.5)
    assert math.isnan(sparsity_at_loss(f, [2.0, 2.1, 2.9, 3.0]))
    assert sparsity_at_loss(f, [2.0, 3.5, 4.0, 10.0], points=1.0) == pytest.approx(0.5 * 1.0 / 1.5)
    with pytest.raises(ValueError, match="start at 0"):
        sparsity_at_loss([0.1, 0.5], [1.0, 2.0])


def test_blank_pixel_connections_go_first_under_every_score(ensemble):
    params, _, _ = ensemble
    dead = torch.zeros(12, dtype=torch.bool)
    dead[[0, 5, 11]] = True
    for kind in ("presence", "rms", "mean", "random"):
        scores = keep_scores(params, kind, mf.generator(1))
        first = mf.pruning.blank_first(scores, dead)
        assert torch.equal(scores[0], keep_scores(params, kind, mf.generator(1))[0])  # the input is left alone
        n_dead = 7 * 3  # the first layer's 7 units times 3 blank inputs
        order = removal_order(first[0], mf.generator(2))
        removed = torch.zeros(7 * 12, dtype=torch.bool)
        removed[order[:n_dead]] = True
        assert removed.reshape(7, 12)[:, dead].all() and not removed.reshape(7, 12)[:, ~dead].any()
        assert all(torch.equal(a, b) for a, b in zip(first[1:], scores[1:]))  # deeper layers unchanged
    with pytest.raises(ValueError, match="one entry per input"):
        mf.pruning.blank_first(scores, torch.zeros(5, dtype=torch.bool))
