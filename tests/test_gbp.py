"""Oracle: autograd's gradients of the reparameterised loss equal the closed-form gBP (paper.md §2).

Three implementations must agree: plain autograd through ``layer.field`` (the reference), the
hand-written backward of ``MeanFieldLinear`` that training uses, and ``gbp_gradients`` (the paper's
equations written out for reading).
"""
import pytest
import torch
import torch.nn.functional as F

import mfcredit as mf
from conftest import random_net


def relerr(a, b):
    return ((a - b).abs().max() / b.abs().max().clamp(min=1e-300)).item()


def reference_forward(layer, a, eps):
    """z = G + sqrt(Delta + 1e-20) eps through plain autograd."""
    G, Delta = layer.field(a)
    return G + torch.sqrt(Delta + mf.layers.SQRT_EPS) * eps


def autograd_gradients(net, x, y, eps, reference=True):
    zs, a = [], x
    for l, layer in enumerate(net.layers):
        z = reference_forward(layer, a, eps[l]) if reference else layer(a, eps[l])
        z.retain_grad()
        zs.append(z)
        a = torch.relu(z) if l < len(net.layers) - 1 else z
    net.zero_grad()
    F.cross_entropy(a, y).backward()
    return {"pi": [l.theta.grad[0] for l in net.layers], "m": [l.theta.grad[1] for l in net.layers],
            "xi": [l.theta.grad[2] for l in net.layers], "delta": [z.grad for z in zs]}


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
    fused = autograd_gradients(net, x, y, eps, reference=False)
    closed = mf.gbp_gradients(net, x, y, eps)
    for key in ("pi", "m", "xi", "delta"):
        for l, (a, f, c) in enumerate(zip(auto[key], fused[key], closed[key])):
            assert a.shape == c.shape == f.shape
            assert relerr(c, a) <= 1e-8, f"{key} layer {l}: closed form vs autograd, relative error {relerr(c, a):.2e}"
            assert relerr(f, a) <= 1e-8, f"{key} layer {l}: MeanFieldLinear vs autograd, relative error {relerr(f, a):.2e}"


@pytest.mark.parametrize("boundary", [False, True])
def test_mean_field_linear_gradcheck(boundary):
    """torch.autograd.gradcheck: the hand-written backward against finite differences, float64,
    with respect to the input and to theta = (pi, m, xi), also with pi in {0, 1} and xi = 0."""
    net = random_net((6, 4, 3), seed=7, boundary=boundary)
    layer = net.layers[0]
    g = torch.Generator().manual_seed(8)
    a = torch.rand(5, 6, generator=g, dtype=torch.float64, requires_grad=True)
    eps = torch.randn(5, 4, generator=g, dtype=torch.float64)
    theta = layer.theta.detach().clone().requires_grad_(True)
    assert torch.autograd.gradcheck(lambda a, t: mf.layers.MeanFieldLinear.apply(a, t, eps, layer.scale), (a, theta))


def test_replicated_layer_matches_each_replica():
    """A layer with a replica axis computes, for each r, what the unreplicated layer r computes."""
    nets = [random_net((6, 4, 3), seed=s) for s in (1, 2, 3)]
    big = mf.MFNet((6, 4, 3), dtype=torch.float64, replicas=3)
    with torch.no_grad():
        for l, layer in enumerate(big.layers):
            layer.theta.copy_(torch.stack([n.layers[l].theta for n in nets]))
    g = torch.Generator().manual_seed(4)
    x = torch.rand(3, 5, 6, generator=g, dtype=torch.float64)
    eps = [torch.randn(3, 5, n, generator=g, dtype=torch.float64) for n in (4, 3)]
    y = torch.randint(0, 3, (3, 5), generator=g)
    out = big(x, eps=eps)
    F.cross_entropy(out.flatten(0, 1), y.flatten(), reduction="none").view(3, 5).mean(1).sum().backward()
    for r, n in enumerate(nets):
        ref = n(x[r], eps=[e[r] for e in eps])
        assert torch.allclose(out[r], ref, rtol=1e-12, atol=1e-14)
        F.cross_entropy(ref, y[r]).backward()
        for lb, ln in zip(big.layers, n.layers):
            assert torch.allclose(lb.theta.grad[r], ln.theta.grad, rtol=1e-10, atol=1e-14)


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
        assert relerr(a.theta.grad[1], b.weight.grad) < 1e-8
    # and the exported mean network is that same plain network
    assert torch.allclose(mfn.mean_network()(x), bp(x), rtol=1e-12, atol=1e-14)
