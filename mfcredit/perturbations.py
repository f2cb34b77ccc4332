"""Target weight perturbation of one layer (Li & Huang, PRL 125, 178301 (2020), arXiv:2001.03354,
Fig. 3): remove very important connections (VIPs) or switch on unimportant ones (UIPs), each beside
a control that acts on as many other connections, and measure the test error of sampled sub-networks.

    out = mf.perturbation(run.params, x_test, y_test, include=live, generator=mf.generator(0))
    out["vip_removal"]   # [(mean, sd) of the error (%) over sampled networks] per fraction f
"""
from __future__ import annotations

import math
from bisect import bisect_left

import torch

from .connections import CATEGORY_NAMES, UIP, VARIABLE, VIP, categories, include_masks
from .ensemble import errors_of, magnitude, sampled_predictions


def match_by_magnitude(target: torch.Tensor, pool: torch.Tensor) -> torch.Tensor:
    """For every value of ``target`` (k,), the index into ``pool`` (n,) of the nearest pool value,
    without replacement: (k,) int64, all different. Needs k <= n.

    Greedy: targets in decreasing order, each takes the nearest pool value not yet taken (on a tie the
    smaller one). Sorted pool and two "next free neighbour" tables with path halving: O((k + n) log n).
    """
    k, n = len(target), len(pool)
    if k > n:
        raise ValueError(f"match_by_magnitude: {k} targets but only {n} pool values to match them with")
    order = torch.argsort(pool, stable=True)
    vals = pool[order].tolist()
    right = list(range(n + 1))  # right[i]: a free position >= i (n: none)
    left = list(range(n + 1))   # left[i + 1]: a free position <= i, shifted by one (0: none)

    def find(parent, i):
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    chosen = [0] * k
    t_vals = target.tolist()
    for t_idx in sorted(range(k), key=lambda i: -t_vals[i]):
        t = t_vals[t_idx]
        p = bisect_left(vals, t)
        r, l = find(right, p), find(left, p) - 1
        j = l if r == n or (l >= 0 and t - vals[l] <= vals[r] - t) else r
        right[j], left[j + 1] = j + 1, j
        chosen[t_idx] = j
    return order[torch.tensor(chosen, dtype=torch.long)]


#: The curves :func:`perturbation` can draw: three removals, then two re-assignments of values.
CURVES = ("vip_removal", "random_removal", "matched_removal", "uip_activation", "random_resample")
REMOVALS, ASSIGNMENTS = CURVES[:3], CURVES[3:]


class _Layer:
    """The connections of the perturbed layer (flat indices): by category among the included ones,
    the donors of values (included non-UIPs), the counts and every connection's magnitude."""

    def __init__(self, params: dict, layer: int, include):
        self.pi, m, xi = (params[k][layer] for k in ("pi", "m", "xi"))
        keep = include_masks(params, include)[layer].flatten()
        cat = categories(self.pi, xi).flatten()
        self.idx = {c: torch.nonzero((cat == c) & keep).flatten() for c in (VIP, UIP, VARIABLE)}
        self.donors = torch.nonzero((cat != UIP) & keep).flatten()
        self.counts = {name: len(self.idx[c]) for name, c in zip(CATEGORY_NAMES, (VIP, UIP, VARIABLE))}
        self.size = magnitude(self.pi, m, xi).flatten()

    def pick(self, pool: torch.Tensor, k: int, generator) -> torch.Tensor:
        return pool[torch.randperm(len(pool), generator=generator)[:k]]


def _with_pi_one(params: dict, layer: int, chosen: torch.Tensor) -> dict:
    """A copy of ``params`` whose connections ``chosen`` (flat indices of layer ``layer``) have pi = 1."""
    pi = params["pi"][layer]
    new = pi.flatten().clone()
    new[chosen] = 1.0
    p = {k: list(v) for k, v in params.items()}
    p["pi"][layer] = new.reshape(pi.shape)
    return p


def _reassign(w: torch.Tensor, where, donors: torch.Tensor, values: str, generator) -> torch.Tensor:
    """In each sampled network w (S, N_l, N_{l-1}), the connections ``where()`` picks (flat indices, a
    new pick per network) get new values: copies of randomly chosen present weights among ``donors``
    of the same network (``values='layer'``), or N(0, 1) draws (``'normal'``)."""
    shape = w.shape
    w = w.reshape(shape[0], -1).clone()
    for s in range(w.shape[0]):
        chosen = where()
        if values == "normal":
            w[s, chosen] = torch.randn(len(chosen), generator=generator, dtype=w.dtype)
            continue
        present = donors[w[s, donors] != 0]
        if len(present) == 0:
            raise ValueError("perturbation: no present non-UIP weight in the layer to copy values from")
        w[s, chosen] = w[s, present[torch.randint(len(present), (len(chosen),), generator=generator)]]
    return w.reshape(shape)


def _removed(t: _Layer, k: int, curves, generator) -> tuple[dict, bool]:
    """The connections each removal curve sets to pi = 1 when k VIPs are removed, and whether the
    controls are impossible (fewer variable connections than k)."""
    vips = t.pick(t.idx[VIP], k, generator)
    removed = {"vip_removal": vips}
    short = k > t.counts["variable"]
    if not short and "matched_removal" in curves:
        removed["matched_removal"] = t.idx[VARIABLE][match_by_magnitude(t.size[vips], t.size[t.idx[VARIABLE]])]
    if not short and "random_removal" in curves:
        removed["random_removal"] = t.pick(t.idx[VARIABLE], k, generator)
    return removed, short


@torch.no_grad()
def perturbation(params: dict, x: torch.Tensor, y: torch.Tensor, fractions=None, n_samples: int = 10,
                 layer: int = 0, generator: torch.Generator | None = None, include=None, curves=CURVES,
                 uip_values: str = "layer") -> dict:
    """Target weight perturbation of one layer (paper Fig. 3). Only connections that ``include``
    keeps take part (pass :func:`mfcredit.live_connections` so that no dead input is "removed", a
    no-op). Test errors in %; x (B, N_0), y (B,).

    For each fraction f, with N_c the number of connections of category c:
      - 'vip_removal': k = int(f * N_VIP) VIPs picked at random get pi = 1;
      - 'matched_removal' (control): for each of those k VIPs, the variable connection nearest in
        :func:`mfcredit.ensemble.magnitude` (without replacement, :func:`match_by_magnitude`) gets pi = 1;
      - 'random_removal' (control): k variable connections picked at random get pi = 1;
      - 'uip_activation': int(f * N_UIP) UIPs picked; in each sampled network they get values from
        the same layer of that network: ``uip_values='layer'`` copies randomly chosen present weights
        of the layer's other (non-UIP) included connections, 'normal' draws N(0, 1) values;
      - 'random_resample' (control of the activation): as many included non-UIP connections picked at
        random get new values drawn the same way (so a connection that matters loses its value).
    Each entry is (mean, sd) over ``n_samples`` sampled networks (a new pick for each re-assignment).
    Where nothing changes (k = 0) the entry is 'unperturbed', evaluated once. The removal controls
    are NaN where fewer variable connections exist than k ('variable_short' lists those f). 'counts'
    gives N_VIP, N_UIP, N_variable; 'magnitudes' the magnitudes of the VIPs and of both removal
    controls' connections at the largest fraction. ``curves`` picks which curves to compute.
    """
    fractions = [round(0.1 * i, 10) for i in range(11)] if fractions is None else list(fractions)
    unknown = set(curves) - set(CURVES)
    if unknown or uip_values not in ("layer", "normal"):
        raise ValueError(f"perturbation: curves must be among {CURVES} (got unknown {sorted(unknown)}) and "
                         f"uip_values 'layer' or 'normal' (got {uip_values!r})")
    t = _Layer(params, layer, include)

    def errors(p=params, override=None):
        errs = errors_of(sampled_predictions(p, x, n_samples, generator, override=override), y)
        return errs.mean().item(), errs.std().item() if len(errs) > 1 else 0.0

    pools = {"uip_activation": t.idx[UIP], "random_resample": t.donors}
    unperturbed = errors()
    out = {"fractions": fractions, "unperturbed": unperturbed, **{c: [] for c in curves},
           "variable_short": [], "counts": t.counts, "magnitudes": {}}
    for f in fractions:
        k, ku = int(f * t.counts["VIP"]), int(f * t.counts["UIP"])
        removed, short = _removed(t, k, curves, generator)
        if short:
            out["variable_short"].append(f)
        for c in (c for c in REMOVALS if c in curves):
            out[c].append(unperturbed if k == 0 else errors(_with_pi_one(params, layer, removed[c])) if c in removed
                          else (math.nan, math.nan))
        for c in (c for c in ASSIGNMENTS if c in curves):
            where = (lambda pool=pools[c]: t.pick(pool, ku, generator))
            out[c].append(unperturbed if ku == 0 else errors(override={
                layer: lambda w, where=where: _reassign(w, where, t.donors, uip_values, generator)}))
        if f == max(fractions):
            out["magnitudes"] = {c: t.size[v] for c, v in removed.items()}
    return out
