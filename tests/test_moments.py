"""Oracle: mean-field moments (G, Delta) of every pre-activation vs Monte Carlo over sampled networks.

For a fixed layer input a, z_i = s sum_j w_ij a_j has mean G_i and variance Delta_i EXACTLY
(independent weights), so the Monte Carlo estimates over S sampled weight matrices must agree within
sampling error: |mean - G| <= 5 sqrt(Delta / S) and |var - Delta| <= 5 sqrt((mu4 - var^2) / S),
with mu4 the 4th central moment estimated from the samples. Each bound fails by chance with
probability < 1e-6 (Chebyshev-free: the estimators are asymptotically normal at S = 20,000); the
seed is fixed, so the test is deterministic.
"""
import torch

import mfcredit as mf
from mfcredit.gbp import random_net

S = 20_000


def test_mean_field_moments_match_monte_carlo():
    widths = (60, 30, 20, 5)
    net = random_net(widths, mf.generator(3))
    g = torch.Generator().manual_seed(11)
    x = torch.rand(4, widths[0], generator=g, dtype=torch.float64)
    a = x
    checked = 0
    for l, layer in enumerate(net.layers):
        G, Delta = layer.field(a)  # (B, n_out)
        W = mf.sample_weights(layer.pi.detach(), layer.m.detach(), layer.xi.detach(), S, g)  # (S, out, in)
        z = (a.detach() @ W.transpose(-1, -2)) * layer.scale  # (S, B, out)
        mean, var = z.mean(0), z.var(0)
        mu4 = ((z - mean) ** 4).mean(0)
        assert torch.all((mean - G.detach()).abs() <= 5 * torch.sqrt(Delta.detach() / S) + 1e-12), f"layer {l} mean"
        assert torch.all((var - Delta.detach()).abs() <= 5 * torch.sqrt((mu4 - var ** 2).clamp(min=0) / S) + 1e-12), \
            f"layer {l} variance"
        checked += G.numel()
        a = torch.relu(layer(a, None)).detach()  # next layer's input: the mean network's activity
    assert checked == 4 * (30 + 20 + 5)


def test_sampled_presence_and_slab_moments():
    """Sampled weights: present with probability 1 - pi, slab mean m and variance xi."""
    g = torch.Generator().manual_seed(0)
    pi = torch.tensor([[0.0, 0.3, 1.0, 0.5]], dtype=torch.float64)
    m = torch.tensor([[1.0, -2.0, 3.0, 0.5]], dtype=torch.float64)
    xi = torch.tensor([[0.0, 0.25, 1.0, 4.0]], dtype=torch.float64)
    W = mf.sample_weights(pi, m, xi, 100_000, g)[:, 0, :]
    present = (W != 0).double().mean(0)
    assert torch.allclose(present, 1 - pi[0], atol=5 * 0.5 / 100_000 ** 0.5)
    assert torch.all(W[:, 0] == 1.0) and torch.all(W[:, 2] == 0.0)
    mu, var = mf.layers.moments(pi, m, xi)
    assert torch.allclose(W.mean(0), mu[0], atol=0.05)
    assert torch.allclose(W.var(0), var[0], rtol=0.05, atol=1e-12)
