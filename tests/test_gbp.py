"""Oracle: autograd's gradients of the reparameterised loss equal the closed-form gBP.

Three implementations must agree: plain autograd through ``layer.field`` (the reference,
``mf.reference_gradients``), the hand-written backward of ``MeanFieldLinear`` that training uses
(``fused=True``), and ``mf.gbp_gradients`` (the equations written out for reading).
"""
import pytest
import torch
import torch.nn.functional as F

import mfcredit as mf
from mfcredit.gbp import random_net
from mfcredit.layers import PlainLinear


def relerr(a, b):
    return ((a - b).abs().max() / b.abs().max().clamp(min=1e-300)).item()


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("widths", [(7, 5, 4, 3), (20, 9, 6)])
def test_gbp_closed_form_equals_autograd(seed, widths):
    net = random_net(widths, mf.generator(seed))
    g = torch.Generator().manual_seed(100 + seed)
    B = 8
    x = torch.rand(B, widths[0], generator=g, dtype=torch.float64)
    y = torch.randint(0, widths[-1], (B,), generator=g)
    eps = [torch.randn(B, n, generator=g, dtype=torch.float64) for n in widths[1:]]
    auto = mf.reference_gradients(net, x, y, eps)
    fused = mf.reference_gradients(net, x, y, eps, fused=True)
    closed = mf.gbp_gradients(net, x, y, eps)
    for key in ("pi", "m", "xi", "delta"):
        for l, (a, f, c) in enumerate(zip(auto[key], fused[key], closed[key])):
            assert a.shape == c.shape == f.shape
            assert relerr(c, a) <= 1e-8, f"{key} layer {l}: closed form vs autograd, relative error {relerr(c, a):.2e}"
            assert relerr(f, a) <= 1e-8, f"{key} layer {l}: MeanFieldLinear vs autograd, relative error {relerr(f, a):.2e}"


def test_reference_gradients_are_the_plain_autograd_gradients():
    """The oracle is what .backward() gives through the reference forward, and leaves .grad alone."""
    net = random_net((6, 4, 3), mf.generator(1))
    g = mf.generator(2)
    x = torch.rand(5, 6, generator=g, dtype=torch.float64)
    y = torch.randint(0, 3, (5,), generator=g)
    eps = [torch.randn(5, n, generator=g, dtype=torch.float64) for n in (4, 3)]
    ref = mf.reference_gradients(net, x, y, eps)
    assert all(layer.theta.grad is None for layer in net.layers)
    a = x
    for l, layer in enumerate(net.layers):
        G, Delta = layer.field(a)
        z = G + torch.sqrt(Delta + mf.layers.SQRT_EPS) * eps[l]
        a = torch.relu(z) if l == 0 else z
    F.cross_entropy(a, y).backward()
    for l, layer in enumerate(net.layers):
        for i, key in enumerate(("pi", "m", "xi")):
            assert torch.equal(ref[key][l], layer.theta.grad[i])


@pytest.mark.parametrize("boundary", [False, True])
def test_mean_field_linear_gradcheck(boundary):
    """torch.autograd.gradcheck: the hand-written backward against finite differences, float64,
    with respect to the input and to theta = (pi, m, xi), also with pi in {0, 1} and xi = 0."""
    net = random_net((6, 4, 3), mf.generator(7), boundary=boundary)
    layer = net.layers[0]
    g = torch.Generator().manual_seed(8)
    a = torch.rand(5, 6, generator=g, dtype=torch.float64, requires_grad=True)
    eps = torch.randn(5, 4, generator=g, dtype=torch.float64)
    theta = layer.theta.detach().clone().requires_grad_(True)
    assert torch.autograd.gradcheck(lambda a, t: mf.MeanFieldLinear.apply(a, t, eps, layer.scale), (a, theta))


def test_plain_linear_gradcheck():
    """The baseline layer's hand-written backward against finite differences, float64."""
    g = mf.generator(9)
    a = torch.rand(5, 6, generator=g, dtype=torch.float64, requires_grad=True)
    w = torch.randn(4, 6, generator=g, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda a, w: PlainLinear.apply(a, w, 6 ** -0.5), (a, w))


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
