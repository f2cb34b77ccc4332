"""The spike-and-slab layer: finite and equal to the autograd reference for any shape and any
parameters on or inside the boundary (hypothesis), the network run on weight terms computed once,
sampling on the boundaries, the projection."""
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import mfcredit as mf
from mfcredit.layers import SQRT_EPS, SpikeSlabLayer, field_terms, mean_field_forward, mean_product

#: 300 examples per property, the same ones on every run (derandomize): CI is reproducible.
SETTINGS = settings(max_examples=300, deadline=None, derandomize=True, database=None,
                    suppress_health_check=[HealthCheck.too_slow])


def _fill(layer, g, pi_mode, xi_mode, m_scale):
    dt = layer.theta.dtype
    shape = layer.pi.shape
    with torch.no_grad():
        pi = {"zero": torch.zeros(shape, dtype=dt), "one": torch.ones(shape, dtype=dt),
              "uniform": torch.rand(shape, generator=g, dtype=dt),
              "mixed": torch.randint(0, 3, shape, generator=g).to(dt) / 2}[pi_mode]
        xi = {"zero": torch.zeros(shape, dtype=dt), "uniform": torch.rand(shape, generator=g, dtype=dt),
              "large": 1e4 * torch.rand(shape, generator=g, dtype=dt)}[xi_mode]
        layer.pi.copy_(pi)
        layer.m.copy_(m_scale * torch.randn(shape, generator=g, dtype=dt))
        layer.xi.copy_(xi)


@SETTINGS
@given(n_in=st.integers(1, 12), n_out=st.integers(1, 12), batch=st.integers(1, 6),
       pi_mode=st.sampled_from(["zero", "one", "uniform", "mixed"]), xi_mode=st.sampled_from(["zero", "uniform", "large"]),
       m_scale=st.sampled_from([0.0, 1e-30, 1.0, 1e4]), a_scale=st.sampled_from([0.0, 1.0, 1e3]),
       dtype=st.sampled_from([torch.float32, torch.float64]), seed=st.integers(0, 2**20))
def test_layer_is_finite_and_matches_the_reference(n_in, n_out, batch, pi_mode, xi_mode, m_scale, a_scale, dtype, seed):
    """Any shape, pi on {0, 1} or inside, xi = 0 (so Delta = 0 is reached), extreme m, large inputs:
    forward and every gradient stay finite, Delta >= 0, and the fused layer equals plain autograd."""
    g = torch.Generator().manual_seed(seed)
    layer = SpikeSlabLayer(n_in, n_out, dtype=dtype)
    _fill(layer, g, pi_mode, xi_mode, m_scale)
    a = (a_scale * torch.rand((batch, n_in), generator=g, dtype=dtype)).requires_grad_()
    eps = torch.randn((batch, n_out), generator=g, dtype=dtype)
    up = torch.randn((batch, n_out), generator=g, dtype=dtype)
    z = layer(a, eps)
    (z * up).sum().backward()
    assert z.shape == (batch, n_out)
    assert torch.isfinite(z).all() and torch.isfinite(layer.theta.grad).all() and torch.isfinite(a.grad).all()
    G, Delta = layer.field(a.detach())
    assert (Delta >= 0).all()
    ref = G + torch.sqrt(Delta + SQRT_EPS) * eps
    scale = (G.abs() + torch.sqrt(Delta + SQRT_EPS) * eps.abs()).max().item()
    tol = (1e-5 if dtype == torch.float32 else 1e-12) * max(scale, 1e-10)
    assert (z.detach() - ref).abs().max().item() <= tol
    if pi_mode == "one":  # every connection absent: z is the 1e-10 eps of the regulariser alone
        assert torch.allclose(z.detach(), 1e-10 * eps, rtol=1e-5, atol=0)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_the_network_on_weight_terms_computed_once_gives_its_own_logits_bit_for_bit(dtype):
    """mean_field_forward on net.mean_field_terms() (what evaluate runs, block by block) gives the
    logits of the network's own forward, through MeanFieldLinear, bit for bit: the noisy pass with
    the same eps and the eps = 0 pass, each with and without the first layer's product given, with
    pi on {0, 1/2, 1} and units whose every connection is absent (Delta = 0). A first product that
    is given reaches the logits; and nothing is recorded for autograd, even from terms that are."""
    net = mf.MFNet((30, 20, 15, 5), dtype=dtype)
    g = torch.Generator().manual_seed(0)
    for layer in net.layers:
        _fill(layer, g, "mixed", "uniform", 1.0)
        with torch.no_grad():
            layer.pi[:2] = 1.0  # two units per layer with no connection: G = 0 and Delta = 0
    x = torch.rand(40, 30, generator=g, dtype=dtype)
    eps = [torch.randn(40, w, generator=g, dtype=dtype) for w in net.widths[1:]]
    zs = []
    noisy, mean = net(x, eps=eps, collect=zs).detach(), net(x, noise=False).detach()
    for z, e in zip(zs, eps):  # Delta = 0 reached: z is the 1e-10 eps of the regulariser alone
        assert torch.allclose(z[:, :2].detach(), 1e-10 * e[:, :2], rtol=1e-5, atol=0)
    terms = net.mean_field_terms()
    first = mean_product(x, terms[0][0], terms[0][2])
    for given in (None, first):
        assert torch.equal(mean_field_forward(terms, x, eps, given), noisy)
        assert torch.equal(mean_field_forward(terms, x, None, given), mean)
    assert not torch.equal(mean_field_forward(terms, x, None, first + 1), mean)
    assert not torch.equal(noisy, mean)  # the noise is there
    recorded = []
    for layer in net.layers:  # theta requires grad: these terms carry a graph
        _, _, mu, _, _, var = field_terms(layer.theta)
        recorded.append((mu, var, layer.scale))
    assert recorded[0][0].requires_grad and not mean_field_forward(recorded, x, eps).requires_grad


def test_sampling_on_the_boundaries():
    layer = SpikeSlabLayer(50, 40, dtype=torch.float64)
    g = torch.Generator().manual_seed(0)
    with torch.no_grad():
        layer.m.normal_(generator=g)
        layer.pi.fill_(1.0)
        assert (mf.sample_weights(layer.pi, layer.m, layer.xi, generator=g) == 0).all()  # pi = 1: absent for sure
        assert (mf.sample_weights(layer.pi, layer.m, layer.xi, 3, g) == 0).all()
        layer.pi.fill_(0.0)
        layer.xi.zero_()
        assert torch.equal(mf.sample_weights(layer.pi, layer.m, layer.xi, generator=g), layer.m)  # pi = 0, xi = 0: m


def test_projection_clips_exactly():
    net = mf.MFNet((4, 3))
    layer = net.layers[0]
    with torch.no_grad():
        layer.pi.copy_(torch.linspace(-0.5, 1.5, 12).reshape(3, 4))
        layer.xi.copy_(torch.linspace(-1, 1, 12).reshape(3, 4))
    net.project_()
    assert layer.pi.min() == 0.0 and layer.pi.max() == 1.0 and (layer.pi == 0).sum() == 3 and (layer.pi == 1).sum() == 3
    assert layer.xi.min() == 0.0 and (layer.xi == 0).sum() == 6


def test_inplace_forward_gives_the_same_numbers_and_keeps_autograd():
    """forward() scales and rectifies in place when no gradient is recorded: the same bits as the
    out-of-place expression, and with gradients it stays out of place (autograd still works)."""
    import math

    g = mf.generator(3)
    ws = [torch.randn(5, 7, 12, generator=g), torch.randn(5, 4, 7, generator=g)]
    x = torch.rand(9, 12, generator=g)
    z1 = torch.relu(mf.layers.linear(x, ws[0]) / math.sqrt(12))
    expected = mf.layers.linear(z1, ws[1]) / math.sqrt(7)
    assert torch.equal(mf.layers.forward(ws, x), expected)
    w = [t.clone().requires_grad_() for t in ws]
    mf.layers.forward(w, x).sum().backward()
    assert all(t.grad is not None and torch.isfinite(t.grad).all() for t in w)
