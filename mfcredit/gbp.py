"""gBP, the mean-field backpropagation of Li & Huang (PRL 125, 178301 (2020), arXiv:2001.03354),
three ways, for reading and for checking one another (tests/test_gbp.py, notebook 1):

  - :func:`gbp_gradients`: the closed-form equations of notebooks/01-theory.ipynb, line by line;
  - :func:`reference_gradients`: plain autograd of the reparameterised loss, the oracle;
  - training itself uses neither: it runs the hand-written backward of
    :class:`mfcredit.layers.MeanFieldLinear` (``reference_gradients(..., fused=True)`` goes through it).

The loss is the batch-mean cross-entropy of the mean-field pass z^l = G^l + sqrt(Delta^l) eps^l with
the noise eps held fixed. Notation (one layer l with fan-in N = N_{l-1}, s = 1/sqrt(N), B examples):
    a_j   layer input (B, N)          z_k, eps_k   pre-activation and its noise (B, N_l)
    sigma_k = sqrt(N (Delta_k + 1e-20))   the unscaled standard deviation of z_k (B, N_l)
    delta_k = dL/dz_k                 so delta^L = (softmax(z^L) - y)/B
"""
from __future__ import annotations

from typing import Sequence

import torch
import torch.nn.functional as F

from .layers import SQRT_EPS, feedforward
from .model import KEYS, MFNet


def gbp_gradients(net: MFNet, x: torch.Tensor, y: torch.Tensor, eps: Sequence[torch.Tensor]) -> dict:
    """Closed-form gradients of the batch-mean cross-entropy of ``net`` with noise ``eps`` held fixed.

    Args:
        x: inputs (B, N_0); y: integer labels (B,); eps: one (B, N_l) tensor per layer.
    Returns:
        {'pi': [...], 'm': [...], 'xi': [...]} with one (N_l, N_{l-1}) tensor per layer, and
        'delta': [...] the error dL/dz^l of every layer, shape (B, N_l).
    """
    B = x.shape[0]
    acts, zs, sigmas = [x], [], []
    with torch.no_grad():
        for l, layer in enumerate(net.layers):
            G, Delta = layer.field(acts[-1])
            sigma = torch.sqrt(layer.n_in * (Delta + SQRT_EPS))  # sqrt(N Delta): sd without the 1/sqrt(N)
            z = G + torch.sqrt(Delta + SQRT_EPS) * eps[l]
            zs.append(z)
            sigmas.append(sigma)
            acts.append(torch.relu(z) if l < len(net.layers) - 1 else z)

        onehot = torch.nn.functional.one_hot(y, zs[-1].shape[1]).to(x.dtype)
        delta = (torch.softmax(zs[-1], dim=1) - onehot) / B  # dL/dz^L; the 1/B is the batch mean
        grads = {"pi": [], "m": [], "xi": [], "delta": [None] * len(net.layers)}
        for l in reversed(range(len(net.layers))):
            layer = net.layers[l]
            pi, m, xi = layer.pi, layer.m, layer.xi
            mu, var = layer.moments()
            a, s = acts[l], layer.scale
            grads["delta"][l] = delta
            r = delta * eps[l] / sigmas[l]  # delta_k eps_k / sigma_k, (B, N_l)
            a2 = a * a
            da = delta.T @ a  # sum_b delta_k a_j
            ra2 = r.T @ a2  # sum_b (delta_k eps_k / sigma_k) a_j^2
            grads["m"].insert(0, s * ((1 - pi) * da + ra2 * mu * pi))
            grads["xi"].insert(0, s * 0.5 * ra2 * (1 - pi))
            grads["pi"].insert(0, -s * (da * m + 0.5 * ra2 * ((2 * pi - 1) * m * m + xi)))
            if l > 0:  # error of the layer below: f'(z) s sum_k [mu_ki delta_k + var_ki a_i delta_k eps_k / sigma_k]
                fprime = (zs[l - 1] > 0).to(x.dtype)
                delta = fprime * s * (delta @ mu + a * (r @ var))
    return grads


def reference_gradients(net: MFNet, x: torch.Tensor, y: torch.Tensor, eps: Sequence[torch.Tensor],
                        fused: bool = False) -> dict:
    """Autograd's gradients of the same loss as :func:`gbp_gradients`, same arguments, same result
    layout ({'pi', 'm', 'xi', 'delta'}, new tensors; the network's .grad is not touched).

    The oracle (``fused=False``) builds z = G + sqrt(Delta + 1e-20) eps from
    :meth:`SpikeSlabLayer.field` with ordinary torch operations; ``fused=True`` runs the network's
    own layers instead, i.e. the hand-written backward of :class:`MeanFieldLinear` that training uses.
    """
    def reference(layer, e):
        def z(a):
            G, Delta = layer.field(a)
            return G + torch.sqrt(Delta + SQRT_EPS) * e
        return z

    zs: list[torch.Tensor] = []
    layers = [(lambda a, layer=layer, e=e: layer(a, e)) if fused else reference(layer, e)
              for layer, e in zip(net.layers, eps)]
    loss = F.cross_entropy(feedforward(x, layers, zs), y)
    thetas = [layer.theta for layer in net.layers]
    found = torch.autograd.grad(loss, thetas + zs)
    g_theta, g_z = found[: len(thetas)], found[len(thetas):]
    grads = {k: [g[i] for g in g_theta] for i, k in enumerate(KEYS)}
    grads["delta"] = list(g_z)
    return grads


@torch.no_grad()
def random_net(widths: Sequence[int] = (7, 5, 4, 3), generator: torch.Generator | None = None,
               dtype: torch.dtype = torch.float64, boundary: bool = True) -> MFNet:
    """A small MFNet to check gradients on: pi ~ U(0, 1), m ~ N(0, 1), xi ~ 0.5 U(0, 1), layer by
    layer. With ``boundary``, every 5th pi is set to 0, every 7th (from the 2nd) to 1 and every 3rd
    xi to 0, so the edges of the parameter box (Delta = 0 included) are checked too."""
    net = MFNet(widths, dtype=dtype)
    for layer in net.layers:
        layer.pi.copy_(torch.rand(layer.pi.shape, generator=generator, dtype=dtype))
        layer.m.copy_(torch.randn(layer.m.shape, generator=generator, dtype=dtype))
        layer.xi.copy_(0.5 * torch.rand(layer.xi.shape, generator=generator, dtype=dtype))
        if boundary:
            layer.pi.view(-1)[::5] = 0.0
            layer.pi.view(-1)[1::7] = 1.0
            layer.xi.view(-1)[::3] = 0.0
    return net
