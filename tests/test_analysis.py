"""Weight categories, entropy (closed-form limits and the Gaussian limit), ensembles, perturbation."""
import math

import pytest
import torch

import mfcredit as mf


def test_categories_exact_and_tolerant():
    pi = torch.tensor([0.0, 0.0, 1.0, 0.5, 1e-9, 0.0])
    xi = torch.tensor([0.0, 0.1, 0.3, 0.0, 0.0, 1e-9])
    assert mf.categories(pi, xi).tolist() == [0, 2, 1, 2, 2, 2]
    assert mf.categories(pi, xi, tol=1e-6).tolist() == [0, 2, 1, 2, 0, 0]
    rows = mf.category_fractions({"pi": [pi], "xi": [xi]})
    assert rows[0]["VIP"] == pytest.approx(1 / 6) and rows[0]["UIP"] == pytest.approx(1 / 6)
    assert rows[0]["variable"] == pytest.approx(4 / 6) and rows[0]["xi==0"] == pytest.approx(3 / 6)


def test_entropy_closed_form_limits():
    d = dict(dtype=torch.float64)
    pi = torch.tensor([1.0, 0.0, 0.3, 0.3, 0.0], **d)
    m = torch.tensor([2.0, 1.0, 0.0, 0.7, 0.5], **d)
    xi = torch.tensor([0.5, 0.0, 0.0, 0.0, 1e-9], **d)
    S = mf.connection_entropy(pi, m, xi)
    h = -0.3 * math.log(0.3) - 0.7 * math.log(0.7)
    assert S.tolist() == [0.0, 0.0, 0.0, pytest.approx(h, abs=1e-12), 0.0]


@pytest.mark.parametrize("xi", [0.3, 1e-3])
def test_entropy_gaussian_limit(xi):
    """pi = 0: S -> 0.5 ln(2 pi e xi). MC error of the mean of eps^2/2 over n draws: sqrt(0.5 / n)."""
    n = 20_000
    S = mf.connection_entropy(torch.zeros(50), torch.randn(50, generator=mf.generator(0)), torch.full((50,), xi),
                              n_mc=n, generator=mf.generator(1))
    assert torch.allclose(S, torch.full((50,), 0.5 * math.log(2 * math.pi * math.e * xi), dtype=torch.float64),
                          atol=5 * math.sqrt(0.5 / n))
    if xi < 1 / (2 * math.pi * math.e):
        assert (S < 0).all()


def test_entropy_spike_and_slab_between_limits():
    """A mixture far from the spike: S ~ binary entropy + (1 - pi) * Gaussian entropy (disjoint supports)."""
    pi, m, xi = 0.4, 3.0, 0.01
    S = mf.connection_entropy(torch.tensor([pi]), torch.tensor([m]), torch.tensor([xi]), n_mc=50_000,
                              generator=mf.generator(2)).item()
    expect = -pi * math.log(pi) - (1 - pi) * math.log(1 - pi) + (1 - pi) * 0.5 * math.log(2 * math.pi * math.e * xi)
    # the spike term uses ln(pi + ... + 1e-6) and the box delta: tiny deviations only
    assert S == pytest.approx(expect, abs=0.02)


def deterministic_params(widths=(20, 8, 3), seed=0):
    """pi in {0, 1}, xi = 0: every sample is the same network."""
    g = mf.generator(seed)
    pis = [(torch.rand(b, a, generator=g) < 0.3).float() for a, b in zip(widths[:-1], widths[1:])]
    ms = [torch.randn(b, a, generator=g) for a, b in zip(widths[:-1], widths[1:])]
    return {"pi": pis, "m": ms, "xi": [torch.zeros_like(p) for p in pis]}


def test_ensemble_of_identical_subnetworks():
    p = deterministic_params()
    x = torch.rand(100, 20, generator=mf.generator(1))
    y = torch.randint(0, 3, (100,), generator=mf.generator(2))
    res = mf.ensemble_study(p, x, y, n=30, generator=mf.generator(3))
    assert res["errors"].shape == (30,) and res["errors"].std() == 0
    assert res["disagreement"] == 0.0 and res["shared"] == [1.0, 1.0]
    net = mf.MFNet((20, 8, 3))
    with torch.no_grad():
        for layer, pi, m in zip(net.layers, p["pi"], p["m"]):
            layer.pi.copy_(pi), layer.m.copy_(m)
    assert res["errors"][0].item() == pytest.approx(mf.evaluate(net, x, y)["mf_mean"])


def test_ensemble_disagreement_of_random_subnetworks():
    p = deterministic_params()
    p["pi"] = [torch.full_like(t, 0.5) for t in p["pi"]]
    x = torch.rand(200, 20, generator=mf.generator(1))
    y = torch.randint(0, 3, (200,), generator=mf.generator(2))
    res = mf.ensemble_study(p, x, y, n=40, generator=mf.generator(3))
    assert 0.05 < res["disagreement"] < 0.9
    assert all(abs(s - 1 / 3) < 0.05 for s in res["shared"])  # Jaccard of two p=0.5 masks: 0.25/0.75


def test_perturbation_curves():
    g = mf.generator(0)
    pi = torch.zeros(6, 20)
    pi[:, 10:14] = 1.0  # 24 UIPs
    pi[:, 14:] = 0.3  # 36 variable
    xi = torch.zeros(6, 20)
    xi[:, 5:10] = 0.2  # 30 variable (pi = 0, xi > 0); VIPs: columns 0-4 = 30
    p = {"pi": [pi, torch.zeros(3, 6)], "m": [torch.randn(6, 20, generator=g), torch.randn(3, 6, generator=g)],
         "xi": [xi, torch.zeros(3, 6)]}
    x = torch.rand(300, 20, generator=g)
    y = torch.randint(0, 3, (300,), generator=g)
    out = mf.perturbation(p, x, y, n_samples=5, generator=mf.generator(1))
    assert out["counts"] == {"VIP": 30, "UIP": 24, "variable": 66}
    assert len(out["vip_removal"]) == len(out["uip_activation"]) == len(out["variable_removal"]) == 11
    assert out["variable_short"] == []
    assert all(0 <= m <= 100 for m, s in out["vip_removal"] + out["uip_activation"])
    few = mf.perturbation({**p, "pi": [torch.where(pi == 0.3, torch.ones_like(pi), pi), p["pi"][1]],
                           "xi": [torch.zeros_like(xi), p["xi"][1]]}, x, y, n_samples=2, generator=mf.generator(1))
    assert few["counts"]["variable"] == 0 and few["variable_short"] == [f for f in few["fractions"] if f > 0]
    assert all(math.isnan(m) for m, s in few["variable_removal"][1:])


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_evaluate_shares_the_first_product_bit_for_bit(dtype):
    """evaluate computes s x mu^T of the first layer once for both mean-field passes; the logits are
    those of two separate passes (the noisy one through MeanFieldLinear's own product), bit for bit."""
    net = mf.MFNet((784, 60, 40, 10), dtype=dtype).init_(0.05, 0.01, 0.0, generator=mf.generator(1))
    with torch.no_grad():
        for layer in net.layers:
            layer.pi.uniform_(0, 1, generator=mf.generator(2))
    x = torch.rand(300, 784, generator=mf.generator(3), dtype=dtype)
    y = torch.randint(0, 10, (300,), generator=mf.generator(4))
    with torch.no_grad():
        first = net.layers[0].mean_product(x)
        assert torch.equal(net(x, noise=True, generator=mf.generator(5), first=first),
                           net(x, noise=True, generator=mf.generator(5)))
        assert torch.equal(net(x, noise=False, first=first), net(x, noise=False))
        g = mf.generator(6)  # the evaluation as two separate passes, drawing in the same order
        old = {"sampled": mf.analysis.error_rate(mf.layers.forward(net.sample_weights(g), x), y),
               "mf_noisy": mf.analysis.error_rate(net(x, noise=True, generator=g), y),
               "mf_mean": mf.analysis.error_rate(net(x, noise=False), y)}
    assert mf.evaluate(net, x, y, mf.generator(6)) == old


def test_entropy_does_not_depend_on_chunk():
    """Chunking (memory) must not change the Monte Carlo draws, hence the entropies, bit for bit."""
    g = mf.generator(0)
    pi = torch.rand(40, 50, generator=g)
    pi[pi < 0.3] = 0
    m, xi = torch.randn(40, 50, generator=g), torch.rand(40, 50, generator=g) * 0.1
    full = mf.connection_entropy(pi, m, xi, n_mc=30, generator=mf.generator(1), chunk=1 << 20)
    for chunk in (16, 160, 1 << 10):
        assert torch.equal(mf.connection_entropy(pi, m, xi, n_mc=30, generator=mf.generator(1), chunk=chunk), full)
