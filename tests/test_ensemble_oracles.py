"""Oracles for the ensemble's building blocks: the disagreement of sampled sub-networks against a
double loop over pairs, the initialisation's statistics against their sampling distributions
(5 standard errors, derived here), and the mean-field pass against a plain re-implementation of the
paper's equations in float64."""
import itertools
import math

import pytest
import torch

import mfcredit as mf
from mfcredit.model import MFNet, PlainNet


# ---------------------------------------------------------------- disagreement

def disagreement_by_pairs(preds: torch.Tensor) -> float:
    """Mean over pairs a < b of rows of the fraction of columns where rows a and b differ: the
    definition, with a double loop over pairs and one over columns."""
    rows = preds.tolist()
    fractions = [sum(x != y for x, y in zip(rows[a], rows[b])) / len(rows[a])
                 for a, b in itertools.combinations(range(len(rows)), 2)]
    return sum(fractions) / len(fractions)


@pytest.mark.parametrize("S,B,C", [(2, 1, 2), (2, 7, 3), (3, 50, 10), (7, 33, 2), (12, 40, 5), (25, 9, 10)])
def test_disagreement_against_pair_loop(S, B, C):
    g = mf.generator(S * 1000 + B * 10 + C)
    preds = torch.randint(0, C, (S, B), generator=g)
    assert mf.ensemble.disagreement(preds) == pytest.approx(disagreement_by_pairs(preds), abs=1e-12)


def test_disagreement_by_hand_and_all_equal():
    # pairs (0, 1): column 2 differs -> 1/3; (0, 2): column 0 -> 1/3; (1, 2): columns 0 and 2 -> 2/3
    preds = torch.tensor([[0, 1, 2], [0, 1, 1], [1, 1, 2]])
    assert mf.ensemble.disagreement(preds) == pytest.approx(4 / 9, abs=1e-15)
    assert disagreement_by_pairs(preds) == pytest.approx(4 / 9, abs=1e-15)
    assert mf.ensemble.disagreement(torch.full((6, 20), 3)) == 0.0
    assert mf.ensemble.disagreement(torch.tensor([[0, 1], [1, 0]])) == 1.0  # every column differs


def small_ensemble(seed=0, widths=(12, 8, 5)):
    """A float64 ensemble with pi spread over [0, 1] and broad slabs, so sub-networks really differ."""
    g = mf.generator(seed)
    net = MFNet(widths, dtype=torch.float64).init_(1.0, 0.5, generator=g)
    with torch.no_grad():
        for layer in net.layers:
            layer.pi.uniform_(0, 0.8, generator=g)
    return net.state(), torch.rand(40, widths[0], generator=g, dtype=torch.float64), \
        torch.randint(0, widths[-1], (40,), generator=g)


def test_ensemble_study_disagreement_is_that_of_its_predictions():
    params, x, y = small_ensemble()
    study = mf.ensemble_study(params, x, y, n=15, generator=mf.generator(4))
    preds = mf.ensemble.sampled_predictions(params, x, 15, mf.generator(4))  # the same first draws
    assert preds.shape == (15, 40)
    assert study["disagreement"] == pytest.approx(disagreement_by_pairs(preds), abs=1e-12)
    assert 0 < study["disagreement"] < 1  # the sub-networks do differ, and not everywhere
    errors = [100.0 * sum(p != t for p, t in zip(row, y.tolist())) / len(row) for row in preds.tolist()]
    assert study["errors"].tolist() == pytest.approx(errors, abs=1e-12)


# ---------------------------------------------------------------- initialisation

def assert_within(value: float, expected: float, se: float, what: str, k: float = 5.0):
    assert abs(value - expected) <= k * se, f"{what}: {value}, expected {expected} +- {k} x {se:.3g}"


def check_normal(t: torch.Tensor, sd: float, what: str):
    """Mean 0 and sd ``sd`` within 5 standard errors: se(mean) = sd / sqrt(n), and for a normal
    sample se(sd) = sd / sqrt(2 n) (to leading order in 1/n)."""
    v = t.double().flatten()
    n = v.numel()
    assert_within(v.mean().item(), 0.0, sd / math.sqrt(n), f"{what} mean")
    assert_within(v.std().item(), sd, sd / math.sqrt(2 * n), f"{what} sd")


WIDE = (2000, 500, 10)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_mfnet_init_statistics(dtype):
    """m ~ m_std N(0, 1), pi = pi0 exactly, xi ~ xi_max U(0, 1). xi_max is a power of two, so
    xi_max * u is exact and xi < xi_max holds strictly. For U(0, a): mean a/2 with
    se = a / sqrt(12 n); variance a^2/12, whose sample estimate has variance (mu_4 - sigma^4) / n with
    mu_4 = a^4/80 and sigma^4 = a^4/144, so se = a^2 / sqrt(180 n)."""
    m_std, xi_max, pi0 = 0.3, 2.0 ** -7, 0.25
    net = MFNet(WIDE, dtype=dtype).init_(m_std, xi_max, pi0, generator=mf.generator(5))
    for l, layer in enumerate(net.layers):
        assert layer.theta.dtype == dtype and layer.theta.shape == (3, WIDE[l + 1], WIDE[l])
        check_normal(layer.m, m_std, f"layer {l} m")
        assert (layer.pi == pi0).all(), f"layer {l}: pi is not pi0 everywhere"
        xi = layer.xi.double().flatten()
        n = xi.numel()
        assert xi.min() >= 0 and xi.max() < xi_max, f"layer {l}: xi outside [0, xi_max)"
        assert_within(xi.mean().item(), xi_max / 2, xi_max / math.sqrt(12 * n), f"layer {l} xi mean")
        assert_within(xi.var().item(), xi_max ** 2 / 12, xi_max ** 2 / math.sqrt(180 * n), f"layer {l} xi variance")
    # the same seed, the same tensors; another seed, others
    same = MFNet(WIDE, dtype=dtype).init_(m_std, xi_max, pi0, generator=mf.generator(5))
    other = MFNet(WIDE, dtype=dtype).init_(m_std, xi_max, pi0, generator=mf.generator(6))
    for a, b, c in zip(net.layers, same.layers, other.layers):
        assert torch.equal(a.theta, b.theta)
        assert not torch.equal(a.m, c.m) and not torch.equal(a.xi, c.xi)


def test_plainnet_init_statistics():
    m_std = 0.07
    net = PlainNet(WIDE).init_(m_std, generator=mf.generator(8))
    for l, layer in enumerate(net.layers):
        assert layer.weight.shape == (WIDE[l + 1], WIDE[l])
        check_normal(layer.weight, m_std, f"layer {l} W")
    same = PlainNet(WIDE).init_(m_std, generator=mf.generator(8))
    other = PlainNet(WIDE).init_(m_std, generator=mf.generator(9))
    for a, b, c in zip(net.layers, same.layers, other.layers):
        assert torch.equal(a.weight, b.weight) and not torch.equal(a.weight, c.weight)


def test_init_statistics_can_fail():
    """The checks above reject what they should: a slightly wrong sd, a shifted mean."""
    t = torch.randn(10 ** 6, generator=mf.generator(1), dtype=torch.float64)
    with pytest.raises(AssertionError, match="sd"):
        check_normal(1.01 * t, 1.0, "scaled by 1.01")
    with pytest.raises(AssertionError, match="mean"):
        check_normal(t + 0.01, 1.0, "shifted by 0.01")


# ---------------------------------------------------------------- the mean-field pass

def mean_field_by_the_equations(net: MFNet, x: torch.Tensor, eps: list | None) -> list[torch.Tensor]:
    """z^l of every layer, written from the paper's equations with nothing of the package's layer code:
    mu = (1 - pi) m, var = (1 - pi)(xi + pi m^2), s = 1/sqrt(fan-in),
    G = s a mu^T, Delta = s^2 a^2 var^T, z = G + sqrt(Delta + 1e-20) eps (eps = 0: z = G),
    a = ReLU(z) between layers."""
    zs, a = [], x
    for l, layer in enumerate(net.layers):
        pi, m, xi = (t.detach() for t in (layer.theta[0], layer.theta[1], layer.theta[2]))
        mu = (1 - pi) * m
        var = (1 - pi) * (xi + pi * m * m)
        s = 1.0 / math.sqrt(pi.shape[1])
        G = s * (a @ mu.T)
        Delta = s * s * ((a * a) @ var.T)
        z = G if eps is None else G + torch.sqrt(Delta + 1e-20) * eps[l]
        zs.append(z)
        a = torch.relu(z)
    return zs


def random_ensemble(widths, seed):
    g = mf.generator(seed)
    net = MFNet(widths, dtype=torch.float64)
    with torch.no_grad():
        for layer in net.layers:
            layer.pi.uniform_(0, 1, generator=g)
            layer.m.normal_(0, 1, generator=g)
            layer.xi.uniform_(0, 0.5, generator=g)
            layer.pi.view(-1)[::5] = 0.0  # the edges of the box too
            layer.pi.view(-1)[1::7] = 1.0
            layer.xi.view(-1)[::3] = 0.0
    return net


@pytest.mark.parametrize("widths,seed", [((7, 6, 5, 3), 0), ((20, 9, 4), 1), ((5, 3), 2)])
def test_preactivations_against_the_equations(widths, seed):
    net = random_ensemble(widths, seed)
    x = torch.rand(11, widths[0], generator=mf.generator(seed + 100), dtype=torch.float64)
    zs = net.preactivations(x, noise=True, generator=mf.generator(seed + 200))
    # MFNet.forward draws all layers' noise first, layer by layer, as normal_ on x's dtype
    g = mf.generator(seed + 200)
    eps = [torch.empty(x.shape[0], n, dtype=torch.float64).normal_(generator=g) for n in widths[1:]]
    expected = mean_field_by_the_equations(net, x, eps)
    assert len(zs) == len(net.layers) == len(widths) - 1
    for l, (z, e) in enumerate(zip(zs, expected)):
        assert z.shape == (11, widths[l + 1]) and z.dtype == torch.float64
        assert torch.allclose(z, e, rtol=1e-12, atol=1e-12), f"layer {l}: max diff {(z - e).abs().max():.3e}"
    # the noise matters (otherwise the comparison above would not test its use)
    no_noise = mean_field_by_the_equations(net, x, None)
    assert not torch.allclose(zs[-1], no_noise[-1], atol=1e-6)
    zs0 = net.preactivations(x, noise=False)
    assert len(zs0) == len(no_noise)
    for l, (z, e) in enumerate(zip(zs0, no_noise)):
        assert z.shape == e.shape and torch.allclose(z, e, rtol=1e-12, atol=1e-12), f"noise=False, layer {l}"
    # the logits are the last pre-activation
    assert torch.allclose(net(x, generator=mf.generator(seed + 200)), zs[-1], rtol=0, atol=0)
