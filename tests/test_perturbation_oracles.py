"""The target weight perturbation (mf.perturbation) computes the errors of networks that were really
perturbed: on small deterministic ensembles (pi in {0, 1}; VIPs with Xi = 0 and "variable"
connections with a Xi so small that every sample has the value m), every curve at f = 1 equals the
error of a plain forward pass on weights set by hand. The labels are the unperturbed network's own
predictions, so the unperturbed error is 0 and every perturbation that changes a prediction shows."""
import math

import pytest
import torch

import mfcredit as mf
from mfcredit.layers import forward

WIDTHS = (6, 5, 3)
TINY = 1e-30  # a variable connection's Xi: its samples equal m to 1e-15


def network(kinds, m0, seed=0):
    """An ensemble whose first layer has the categories ``kinds`` (5 x 6 of 'V' VIP, 'U' UIP, 'v'
    variable) and means ``m0``; the second layer is all VIPs with random means."""
    g = mf.generator(seed)
    pi0 = torch.tensor([[1.0 if k == "U" else 0.0 for k in row] for row in kinds], dtype=torch.float64)
    xi0 = torch.tensor([[TINY if k == "v" else 0.0 for k in row] for row in kinds], dtype=torch.float64)
    m1 = torch.randn(3, 5, generator=g, dtype=torch.float64) * 2
    return {"pi": [pi0, torch.zeros(3, 5, dtype=torch.float64)], "m": [m0, m1],
            "xi": [xi0, torch.zeros(3, 5, dtype=torch.float64)]}


def weights(p, layer0):
    """The deterministic network with first-layer weights ``layer0``."""
    return [layer0, p["m"][1]]


def present(p):
    """The first layer of every sample: m where pi = 0, 0 where pi = 1."""
    return torch.where(p["pi"][0] == 1, torch.zeros_like(p["m"][0]), p["m"][0])


def error(ws, x, y):
    return 100.0 * (forward(ws, x).argmax(1) != y).double().mean().item()


def data(p, n=400, seed=1):
    x = torch.rand(n, 6, generator=mf.generator(seed), dtype=torch.float64)
    return x, forward(weights(p, present(p)), x).argmax(1)  # labels: the unperturbed predictions


def run(p, x, y, **kw):
    return mf.perturbation(p, x, y, fractions=[0.0, 1.0], n_samples=4, generator=mf.generator(5), **kw)


KINDS = ["VUvvvv", "vVvUvv", "vvVvUv", "vvvVvU", "vvvvvv"]  # 4 VIPs, 4 UIPs, 22 variable


def test_removal_curves_equal_hand_zeroed_networks():
    """All VIPs removed: the VIPs zeroed by hand. The matched control: the variable connections
    nearest in magnitude to the VIPs, which here are plain to see (|m| = 1, 2, 3, 4 for the VIPs,
    1.05, 2.05, 3.05, 4.05 for four variable ones, 8 or more for the rest), zeroed by hand."""
    m0 = torch.full((5, 6), 9.0, dtype=torch.float64) + torch.arange(30, dtype=torch.float64).reshape(5, 6) / 10
    vips = [(0, 0), (1, 1), (2, 2), (3, 3)]
    near = [(4, 0), (4, 1), (4, 2), (4, 3)]  # variable
    for k, ((i, j), (a, b)) in enumerate(zip(vips, near)):
        m0[i, j], m0[a, b] = (-1) ** k * (k + 1), (-1) ** (k + 1) * (k + 1.05)
    p = network(KINDS, m0)
    x, y = data(p)
    out = run(p, x, y, curves=("vip_removal", "matched_removal"))
    assert out["counts"] == {"VIP": 4, "UIP": 4, "variable": 22}
    w = present(p)
    no_vips, no_near = w.clone(), w.clone()
    for (i, j), (a, b) in zip(vips, near):
        no_vips[i, j], no_near[a, b] = 0.0, 0.0
    want_vip, want_matched = error(weights(p, no_vips), x, y), error(weights(p, no_near), x, y)
    assert want_vip > 0 and want_matched > 0 and want_vip != want_matched  # the test can tell them apart
    assert out["unperturbed"] == (0.0, 0.0)
    assert out["vip_removal"][1] == pytest.approx((want_vip, 0.0), abs=1e-9)
    assert out["matched_removal"][1] == pytest.approx((want_matched, 0.0), abs=1e-9)


def test_random_control_removes_what_it_draws():
    """With exactly as many variable connections as VIPs, the random control at f = 1 removes them all."""
    kinds = ["VUUUUU", "vVUUUU", "UvVUUU", "UUvVUU", "UUUvUU"]  # 4 VIPs, 4 variable, 22 UIPs
    m0 = torch.arange(1, 31, dtype=torch.float64).reshape(5, 6) * torch.tensor([1.0, -1.0]).repeat(15).reshape(5, 6)
    p = network(kinds, m0, seed=2)
    x, y = data(p, seed=3)
    out = run(p, x, y, curves=("random_removal",))
    w = present(p)
    want = error(weights(p, torch.where(p["xi"][0] > 0, torch.zeros_like(w), w)), x, y)
    assert want > 0 and out["random_removal"][1] == pytest.approx((want, 0.0), abs=1e-9)


def test_uip_activation_and_its_control_give_the_values_they_say():
    """Every present non-UIP weight of the first layer is 2.5, so an activated UIP copies 2.5: all UIPs
    switched on equal the network with 2.5 everywhere. Its control gives as many non-UIP connections
    the value 2.5, which they have already: the error stays the unperturbed one. With N(0, 1) values
    the result differs from both (the values are really drawn)."""
    kinds = ["VUUVVV", "VVUVVU", "UVVVUV", "VVVUVV", "VUVVVV"]
    m0 = torch.full((5, 6), 2.5, dtype=torch.float64)
    m0[p_u := torch.tensor([[k == "U" for k in row] for row in kinds])] = -7.0  # never seen unless switched on
    p = network(kinds, m0, seed=4)
    x, y = data(p, seed=5)
    out = run(p, x, y, curves=("uip_activation", "random_resample"))
    want = error(weights(p, torch.full((5, 6), 2.5, dtype=torch.float64)), x, y)
    assert want > 0, "switching the UIPs on must change some prediction, or the test could not fail"
    assert out["uip_activation"][1] == pytest.approx((want, 0.0), abs=1e-9)
    assert out["random_resample"][1] == pytest.approx((0.0, 0.0), abs=1e-9)
    normal = run(p, x, y, curves=("uip_activation",), uip_values="normal")
    assert not math.isclose(normal["uip_activation"][1][0], want) and normal["uip_activation"][1][1] > 0
    assert p_u.sum() == out["counts"]["UIP"]


def test_sampled_logits_apply_the_override():
    """The hook the activation uses: an override that zeroes the first layer gives the logits of a
    network whose first layer is zero, for every sampled network."""
    p = network(KINDS, torch.randn(5, 6, generator=mf.generator(6), dtype=torch.float64))
    x = torch.rand(7, 6, generator=mf.generator(7), dtype=torch.float64)
    got = mf.ensemble.sampled_logits(p, x, n=3, generator=mf.generator(8), override={0: torch.zeros_like})
    want = forward(weights(p, torch.zeros(5, 6, dtype=torch.float64)), x)
    assert torch.allclose(got, want.expand(3, -1, -1), rtol=0, atol=1e-12)
