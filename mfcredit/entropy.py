"""Entropy of each connection's spike-and-slab distribution, two conventions.

1. The paper's: S = -integral P ln P, as in Li & Huang, PRL 125, 178301 (2020), arXiv:2001.03354
   (:func:`connection_entropy`), which mixes a discrete spike with a continuous slab. The delta spike
   is regularised as a box of height 0.5e4 on |w| < 1e-4 (unit mass). Closed forms:
       pi == 1                                  S = 0
       xi <= 1e-8 and (m == 0 or pi == 0)       S = 0
       xi <= 1e-8 and 0 < pi < 1                S = -pi ln pi - (1 - pi) ln(1 - pi)
   otherwise a Monte Carlo estimate with ``n_mc`` draws eps_s, w_s = m + sqrt(xi) eps_s:
       S = -pi ln(pi + (1 - pi) N(0; m, xi) + 1e-6)
           - (1 - pi) mean_s ln[pi delta_reg(w_s) + (1 - pi) exp(-eps_s^2 / 2) / sqrt(2 pi xi)]
   At pi = 0 the estimate tends to 0.5 ln(2 pi e xi) (negative for small xi).

2. The Shannon entropy of the weight quantised to bins of width dw (:func:`quantised_entropy`),
   well defined for any mixture of spike and slab, at any dw: no regularised spike, no jump at xi = 1e-8.
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
                     generator: torch.Generator | None = None, dws=()) -> list[dict]:
    """Layer means of the connection entropy for several views of the same network, each connection's
    entropy computed once, and how much the estimator's jump at xi = XI_ZERO moves those means; with
    ``dws``, also the layer means of :func:`quantised_entropy` at each bin width ('H(dw=0.01)', ...).

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
        H = {f"H(dw={dw:g})": quantised_entropy(pi, m, xi, dw) for dw in dws}
        for name, mask in masks.items():
            keep = mask[l]
            rows.append({"view": name, "layer": l + 1, "S": S[keep].mean().item(),
                         "xi_zero": (xi[keep] <= XI_ZERO).double().mean().item(),
                         "S_gaussian_limit": S_lim[keep].mean().item(),
                         **{k: h[keep].mean().item() for k, h in H.items()}})
    return rows


# ---------------------------------------------------------------- the weight quantised to bins of width dw

#: Above this many bin widths per slab standard deviation, :func:`quantised_entropy` uses the
#: asymptotic form of the slab's sum (its error: tests/test_entropy.py).
ASYMPTOTIC_RATIO = 10.0
#: The slab's bins are summed out to this many standard deviations on each side of m.
TAIL = 8.5


def quantised_entropy(pi: torch.Tensor, m: torch.Tensor, xi: torch.Tensor, dw: float,
                      chunk: int = 1 << 13) -> torch.Tensor:
    """Shannon entropy (nats) of each connection's weight rounded to the nearest multiple of ``dw``,
    same shape as ``pi`` (float64). A well-defined convention, unlike the entropy of a density with a
    spike: bin k holds w in [(k - 1/2) dw, (k + 1/2) dw); the spike's mass pi goes in bin 0, the
    slab's mass per bin comes from the normal CDF, (1 - pi) [Phi((b_hi - m) / s) - Phi((b_lo - m) / s)]
    with s = sqrt(xi); H = -sum_k p_k ln p_k. No Monte Carlo. Limits: H = 0 for pi = 1; for xi = 0
    the slab is a point in bin round(m / dw), so H = 0 if that is bin 0, else the binary entropy of pi.

    Where the slab spans many bins (s > :data:`ASYMPTOTIC_RATIO` dw) its sum is replaced by the
    asymptotic form (1 - pi) [h - ln dw - ln(1 - pi) + dw^2 / (24 s^2)], h = ln(s sqrt(2 pi e)) the
    slab's differential entropy, with the zero bin, which the spike shares, kept exact. Its error is bounded by a test
    against the exact sum; the sums and the limits are checked against numerical integration."""
    shape = pi.shape
    pi, m, xi = (t.detach().double().flatten() for t in (pi, m, xi))
    H = torch.zeros_like(pi)
    s = torch.sqrt(xi)
    point = (xi == 0) & (pi < 1)
    away = point & (torch.round(m / dw) != 0)
    H[away] = _binary(pi[away])
    wide = ~point & (pi < 1) & (s > ASYMPTOTIC_RATIO * dw)
    H[wide] = _asymptotic(pi[wide], m[wide], s[wide], dw)
    narrow = torch.nonzero(~point & (pi < 1) & ~wide).flatten()
    for start in range(0, len(narrow), chunk):
        j = narrow[start:start + chunk]
        H[j] = _binned(pi[j], m[j], s[j], dw)
    return H.reshape(shape)


def _plogp(p: torch.Tensor) -> torch.Tensor:
    """-p ln p, 0 at p = 0."""
    return torch.where(p > 0, -p * torch.log(p.clamp(min=1e-300)), torch.zeros_like(p))


def _binary(p: torch.Tensor) -> torch.Tensor:
    return _plogp(p) + _plogp(1 - p)


def _zero_bin(m, s, dw):
    """The slab's mass in bin 0, [-dw/2, dw/2)."""
    return torch.special.ndtr((dw / 2 - m) / s) - torch.special.ndtr((-dw / 2 - m) / s)


def _asymptotic(pi, m, s, dw):
    """H with the slab's bins other than 0 summed by the asymptotic form (see :func:`quantised_entropy`)."""
    q, s0 = 1 - pi, _zero_bin(m, s, dw)
    h = torch.log(s * math.sqrt(2 * math.pi * math.e))
    smooth = (dw / s) ** 2 / 24  # the next term of the sum's expansion in dw / s (Sheppard's correction)
    return q * (h - math.log(dw) - torch.log(q) + smooth) - _plogp(q * s0) + _plogp(pi + q * s0)


def _binned(pi, m, s, dw):
    """H summed bin by bin over m +- TAIL s (every bin with slab mass above ~1e-17)."""
    lo = torch.floor((m - TAIL * s) / dw + 0.5)
    n = int(torch.max(torch.floor((m + TAIL * s) / dw + 0.5) - lo).item()) + 1
    k = lo[:, None] + torch.arange(n, dtype=torch.float64)  # (connections, bins)
    cdf = torch.special.ndtr(((k[:, :1] - 0.5 + torch.arange(n + 1, dtype=torch.float64)) * dw - m[:, None]) / s[:, None])
    mass = (1 - pi)[:, None] * (cdf[:, 1:] - cdf[:, :-1])
    mass = mass + torch.where(k == 0, pi[:, None], torch.zeros_like(mass))
    spike_outside = (k == 0).any(1).logical_not()  # bin 0 beyond m +- TAIL s: the spike alone
    return _plogp(mass).sum(1) + torch.where(spike_outside, _plogp(pi), torch.zeros_like(pi))


def directions(first: list, last: list, sd_first: list, sd_last: list, k: float = 2.0) -> dict:
    """The directions of per-layer entropy means (a claim about depth and data size that does not
    depend on where a convention puts its zero): the 1-based layer with the highest and with the
    lowest mean at the first size (``first``), and per layer the sign of the change to the last size:
    '+' or '-' where |last - first| exceeds ``k`` times the larger of the two sds over runs, '0' where
    it does not (the change cannot be told from run-to-run noise)."""
    signs = []
    for a, b, sa, sb in zip(first, last, sd_first, sd_last):
        noise = k * max(0.0 if sa is None or math.isnan(sa) else sa, 0.0 if sb is None or math.isnan(sb) else sb)
        signs.append("0" if abs(b - a) <= noise else "+" if b > a else "-")
    return {"highest": 1 + max(range(len(first)), key=lambda i: first[i]),
            "lowest": 1 + min(range(len(first)), key=lambda i: first[i]), "change": " ".join(signs)}
