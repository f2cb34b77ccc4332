"""Entropy S = -integral P ln P of each connection's spike-and-slab distribution, as in Li & Huang,
PRL 125, 178301 (2020), arXiv:2001.03354.

The delta spike is regularised as a box of height 0.5e4 on |w| < 1e-4 (unit mass). Closed forms:
    pi == 1                                  S = 0
    xi <= 1e-8 and (m == 0 or pi == 0)       S = 0
    xi <= 1e-8 and 0 < pi < 1                S = -pi ln pi - (1 - pi) ln(1 - pi)
otherwise a Monte Carlo estimate with ``n_mc`` draws eps_s, w_s = m + sqrt(xi) eps_s:
    S = -pi ln(pi + (1 - pi) N(0; m, xi) + 1e-6)
        - (1 - pi) mean_s ln[pi delta_reg(w_s) + (1 - pi) exp(-eps_s^2 / 2) / sqrt(2 pi xi)]
At pi = 0 the estimate tends to 0.5 ln(2 pi e xi) (negative for small xi).
"""
from __future__ import annotations

import math

import torch

from .connections import include_masks  # the one check of include masks

BOX_HEIGHT = 0.5e4
BOX_HALF_WIDTH = 1e-4
XI_ZERO = 1e-8


def connection_entropy(pi: torch.Tensor, m: torch.Tensor, xi: torch.Tensor, n_mc: int = 100,
                       generator: torch.Generator | None = None, chunk: int = 1 << 14) -> torch.Tensor:
    """Entropy of every connection, same shape as ``pi`` (computed in float64, vectorised).

    The Monte Carlo draws are independent per connection; rows are processed ``chunk`` at a time
    so memory stays at about chunk * n_mc * 8 bytes (13 MB) per temporary; the draws, and so the
    result, do not depend on ``chunk`` when it is a multiple of 16 (torch fills normals in blocks of 16).
    """
    shape = pi.shape
    pi, m, xi = (t.detach().double().flatten() for t in (pi, m, xi))
    S = torch.zeros_like(pi)
    small = xi <= XI_ZERO
    binary = small & (m != 0) & (pi > 0) & (pi < 1)
    p = pi[binary]
    S[binary] = -p * torch.log(p) - (1 - p) * torch.log1p(-p)
    mc = ~small & (pi < 1)
    ids = torch.nonzero(mc).flatten()
    for start in range(0, len(ids), chunk):
        j = ids[start: start + chunk]
        p, mm, v = pi[j, None], m[j, None], xi[j, None]
        eps = torch.randn((len(j), n_mc), generator=generator, dtype=torch.float64)
        w = mm + torch.sqrt(v) * eps
        delta_reg = BOX_HEIGHT * (w.abs() < BOX_HALF_WIDTH).double()
        slab = torch.exp(-0.5 * eps * eps) / torch.sqrt(2 * math.pi * v)
        spike_term = -p * torch.log(p + (1 - p) * torch.exp(-mm * mm / (2 * v)) / torch.sqrt(2 * math.pi * v) + 1e-6)
        slab_term = -(1 - p) * torch.log(p * delta_reg + (1 - p) * slab).mean(dim=1, keepdim=True)
        S[j] = (spike_term + slab_term).flatten()
    return S.reshape(shape)


def _included(params: dict, include):
    """(pi, m, xi) of each layer restricted to the connections ``include`` keeps (all if None)."""
    for pi, m, xi, keep in zip(params["pi"], params["m"], params["xi"], include_masks(params, include)):
        yield pi[keep], m[keep], xi[keep]


def layer_entropies(params: dict, n_mc: int = 100, generator: torch.Generator | None = None,
                    include=None) -> list[float]:
    """Average connection entropy of each layer of ``params`` ({'pi','m','xi'} lists), over the
    connections ``include`` keeps (one bool mask per layer, see :func:`mfcredit.connections.live_connections`;
    None: all)."""
    return [connection_entropy(pi, m, xi, n_mc, generator).mean().item()
            for pi, m, xi in _included(params, include)]


def entropy_by_layer(params: dict, views: dict | None = None, n_mc: int = 100,
                     generator: torch.Generator | None = None) -> list[dict]:
    """Layer means of the connection entropy for several views of the same network, each connection's
    entropy computed once, and how much the estimator's jump at xi = XI_ZERO moves those means.

    ``views`` maps a name to an ``include`` mask list (see :func:`layer_entropies`; None: every
    connection); default {'all': None}. One row per view and layer (1-based 'layer'), over the
    view's connections:
      'S'                 the layer mean, as :func:`layer_entropies` estimates it;
      'xi_zero'           the fraction with xi <= 1e-8;
      'S_gaussian_limit'  the layer mean with the connections of xi <= 1e-8 and pi < 1 evaluated by
                          the estimator at the smallest xi above 1e-8 instead of the closed form
                          (0 or the binary entropy of pi): the other side of the jump, where the
                          estimate tends to the Gaussian entropy, 0.5 ln(2 pi e 1e-8) ~ -7.8 for pi = 0.
    """
    views = {"all": None} if views is None else views
    masks = {name: include_masks(params, inc) for name, inc in views.items()}
    above = math.nextafter(XI_ZERO, math.inf)
    rows = []
    for l, (pi, m, xi) in enumerate(zip(params["pi"], params["m"], params["xi"])):
        S = connection_entropy(pi, m, xi, n_mc, generator)
        moved = (xi <= XI_ZERO) & (pi < 1)
        S_lim = S.clone()
        S_lim[moved] = connection_entropy(pi[moved], m[moved], torch.full((int(moved.sum()),), above, dtype=torch.float64),
                                          n_mc, generator)
        for name, mask in masks.items():
            keep = mask[l]
            rows.append({"view": name, "layer": l + 1, "S": S[keep].mean().item(),
                         "xi_zero": (xi[keep] <= XI_ZERO).double().mean().item(),
                         "S_gaussian_limit": S_lim[keep].mean().item()})
    return rows
