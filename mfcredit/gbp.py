"""gBP in closed form: the mean-field backpropagation of paper.md §2, written out by hand.

Training uses autograd (it computes exactly this); this module exists so that the equations can be
read, and checked against autograd in the tests and in notebook 1.

Notation (one layer l with fan-in N = N_{l-1}, s = 1/sqrt(N), B examples in the batch):
    a_j   layer input (B, N)          z_k, eps_k   pre-activation and its noise (B, N_l)
    D_k = sqrt(N (Delta_k + 1e-20))   the unscaled standard deviation of z_k (B, N_l)
    delta_k = dL/dz_k                 with L the batch-mean cross-entropy, so delta^L = (softmax(z^L) - y)/B
"""
from __future__ import annotations

from typing import Sequence

import torch

from .layers import SQRT_EPS
from .model import MFNet


def gbp_gradients(net: MFNet, x: torch.Tensor, y: torch.Tensor, eps: Sequence[torch.Tensor]) -> dict:
    """Closed-form gradients of the batch-mean cross-entropy of ``net`` with noise ``eps`` held fixed.

    Args:
        x: inputs (B, N_0); y: integer labels (B,); eps: one (B, N_l) tensor per layer.
    Returns:
        {'pi': [...], 'm': [...], 'xi': [...]} with one (N_l, N_{l-1}) tensor per layer, and
        'delta': [...] the error dL/dz^l of every layer, shape (B, N_l), the last one first computed.
    """
    B = x.shape[0]
    acts, zs, Ds = [x], [], []
    with torch.no_grad():
        for l, layer in enumerate(net.layers):
            G, Delta = layer.field(acts[-1])
            D = torch.sqrt(layer.n_in * (Delta + SQRT_EPS))
            z = G + torch.sqrt(Delta + SQRT_EPS) * eps[l]
            zs.append(z)
            Ds.append(D)
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
            r = delta * eps[l] / Ds[l]  # delta_k eps_k / D_k, (B, N_l)
            a2 = a * a
            da = delta.T @ a  # sum_b delta_k a_j
            ra2 = r.T @ a2  # sum_b (delta_k eps_k / D_k) a_j^2
            grads["m"].insert(0, s * ((1 - pi) * da + ra2 * mu * pi))
            grads["xi"].insert(0, s * 0.5 * ra2 * (1 - pi))
            grads["pi"].insert(0, -s * (da * m + 0.5 * ra2 * ((2 * pi - 1) * m * m + xi)))
            if l > 0:  # error of the layer below: f'(z) s sum_k [mu_ki delta_k + var_ki a_i delta_k eps_k / D_k]
                fprime = (zs[l - 1] > 0).to(x.dtype)
                delta = fprime * s * (delta @ mu + a * (r @ var))
    return grads
