"""Oracle: autograd's gradients of the reparameterised loss equal the closed-form gBP (paper.md §2)."""
import pytest
import torch
import torch.nn.functional as F

import mfcredit as mf
from conftest import random_net


def relerr(a, b):
    return ((a - b).abs().max() / b.abs().max().clamp(min=1e-300)).item()


def autograd_gradients(net, x, y, eps):
    zs, a = [], x
    for l, layer in enumerate(net.layers):
        z = layer(a, eps[l])
        z.retain_grad()
        zs.append(z)
        a = torch.relu(z) if l < len(net.layers) - 1 else z
    net.zero_grad()
    F.cross_entropy(a, y).backward()
    return {"pi": [l.pi.grad for l in net.layers], "m": [l.m.grad for l in net.layers],
            "xi": [l.xi.grad for l in net.layers], "delta": [z.grad for z in zs]}


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("widths", [(7, 5, 4, 3), (20, 9, 6)])
def test_gbp_closed_form_equals_autograd(seed, widths):
    net = random_net(widths, seed=seed)
    g = torch.Generator().manual_seed(100 + seed)
    B = 8
    x = torch.rand(B, widths[0], generator=g, dtype=torch.float64)
    y = torch.randint(0, widths[-1], (B,), generator=g)
    eps = [torch.randn(B, n, generator=g, dtype=torch.float64) for n in widths[1:]]
    auto = autograd_gradients(net, x, y, eps)
    closed = mf.gbp_gradients(net, x, y, eps)
    for key in ("pi", "m", "xi", "delta"):
        for l, (a, c) in enumerate(zip(auto[key], closed[key])):
            assert a.shape == c.shape
            assert relerr(c, a) <= 1e-8, f"{key} layer {l}: relative error {relerr(c, a):.2e}"


def test_reduces_to_bp_at_pi0_xi0():
    """At pi = 0, xi = 0 the ensemble is the plain network W = m: same outputs, same m-gradients."""
    g = torch.Generator().manual_seed(5)
    widths = (12, 8, 6, 4)
    mfn, bp = mf.MFNet(widths, dtype=torch.float64), mf.PlainNet(widths, dtype=torch.float64)
    mfn.init_(0.5, 0.0, 0.0, generator=g)  # xi ~ 0 * U(0, 1) = 0 exactly, pi = 0
    with torch.no_grad():
        for a, b in zip(mfn.layers, bp.layers):
            b.weight.copy_(a.m)
    x = torch.rand(10, widths[0], generator=g, dtype=torch.float64)
    y = torch.randint(0, widths[-1], (10,), generator=g)
    assert torch.equal(mfn(x, noise=False), bp(x))
    # with noise on, only the 1e-20 regulariser remains: sqrt(1e-20) * eps = 1e-10 * eps
    noisy = mfn(x, generator=g)
    assert relerr(noisy, bp(x)) < 1e-8
    F.cross_entropy(mfn(x, generator=g), y).backward()
    F.cross_entropy(bp(x), y).backward()
    for a, b in zip(mfn.layers, bp.layers):
        assert relerr(a.m.grad, b.weight.grad) < 1e-8
    # and the exported mean network is that same plain network
    assert torch.allclose(mfn.mean_network()(x), bp(x), rtol=1e-12, atol=1e-14)
