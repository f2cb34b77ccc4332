"""Pruning by credit: remove connections in the order a score gives, without retraining, and measure
the test error of what is left.

A score is one (N_l, N_{l-1}) tensor per layer; LOWER scores are removed first. The scores
(:func:`keep_scores`):

- 'presence' = 1 - pi, the probability that the ensemble keeps the connection (remove the most
  often absent first: the ensemble's own credit);
- 'rms' = sqrt((1 - pi)(m^2 + xi)), the root mean square of w under
  P(w) = pi delta(w) + (1 - pi) N(m, xi) (remove the smallest expected magnitude first);
- 'mean' = |(1 - pi) m|, the magnitude of the ensemble's mean weight, i.e. of the eps = 0 network's
  weight (magnitude pruning of the ensemble's own mean network: the control that separates the
  credit from the size of the mean);
- 'magnitude' = |w| of a plain network (standard magnitude pruning);
- 'random' = uniform random numbers (the control).

Removing a connection of the ensemble sets its pi to 1 (always absent): the eps = 0 network then
has weight (1 - pi) m = 0 there, and every sampled sub-network lacks it. Removing one of a plain
network sets w = 0. :func:`blank_first` makes every score remove the first layer's connections from
blank pixels first. Ties (e.g. the many pi exactly 0) are broken at random, so the order within a
tie carries no hidden second score. ``params`` is {'pi', 'm', 'xi'} (ensemble) or {'w'} (plain),
one (N_l, N_{l-1}) tensor per layer, as ``Run.params``.
"""
from __future__ import annotations

import math

import torch

from .ensemble import errors_of, magnitude, sampled_predictions
from .layers import feedforward, forward, linear

SCORES = ("presence", "rms", "mean", "magnitude", "random")


def keep_scores(params: dict, kind: str, generator: torch.Generator | None = None) -> list[torch.Tensor]:
    """Per-layer scores (lower = removed first) of kind 'presence', 'rms', 'mean', 'magnitude' or
    'random' (module docstring). 'presence', 'rms' and 'mean' need an ensemble, 'magnitude' a plain network."""
    if kind not in SCORES:
        raise ValueError(f"unknown score {kind!r}; choose one of {SCORES}")
    plain = "w" in params
    if kind in ("presence", "rms", "mean") and plain:
        raise ValueError(f"score {kind!r} needs an ensemble's (pi, m, xi); a plain network has only 'w'")
    if kind == "magnitude" and not plain:
        raise ValueError("score 'magnitude' needs a plain network's weights {'w': [...]}")
    shapes = [t.shape for t in (params["w"] if plain else params["pi"])]
    if kind == "random":
        return [torch.rand(s, generator=generator, dtype=torch.float64) for s in shapes]
    if kind == "magnitude":
        return [w.abs() for w in params["w"]]
    if kind == "presence":
        return [1 - pi for pi in params["pi"]]
    if kind == "mean":
        return [w.abs() for w in mean_weights(params)]
    return [magnitude(pi, m, xi) for pi, m, xi in zip(params["pi"], params["m"], params["xi"])]  # rms


def blank_first(scores: list[torch.Tensor], dead: torch.Tensor) -> list[torch.Tensor]:
    """``scores`` with the first layer's connections from blank pixels scored -inf, so that every score
    removes them first. ``dead`` (N_0,) bool: the inputs that are 0 in every training image
    (:func:`mfcredit.connections.dead_inputs`). Such a connection never gets a gradient, so its pi stays
    at its initial 0 and the credit 1 - pi = 1 would keep it to the last; its input is 0 on every
    training image, so removing it costs (almost) nothing. Without this, a comparison of scores would
    partly measure "pi never moved" rather than credit. Returns new tensors; ``scores`` is unchanged."""
    out = [s.clone() for s in scores]
    if dead.shape != (out[0].shape[1],):
        raise ValueError(f"blank_first: dead must have one entry per input ({out[0].shape[1]}), got shape {tuple(dead.shape)}")
    out[0][:, dead] = -math.inf
    return out


def removal_order(score: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
    """Flat indices of ``score`` from first removed (lowest) to last, ties in random order: (numel,)."""
    flat = score.flatten()
    perm = torch.randperm(flat.numel(), generator=generator)
    return perm[torch.sort(flat[perm], stable=True).indices]


def n_removed(fraction: float, n: int) -> int:
    """Connections removed out of ``n`` for a fraction: round(fraction * n)."""
    if not 0.0 <= fraction <= 1.0:
        raise ValueError(f"fraction removed must be in [0, 1], got {fraction}")
    return int(round(fraction * n))


def keep_mask(order: torch.Tensor, fraction: float, shape) -> torch.Tensor:
    """Boolean mask of ``shape`` (True = kept) with the first round(fraction * n) of ``order`` removed."""
    mask = torch.ones(math.prod(shape), dtype=torch.bool)
    mask[order[: n_removed(fraction, mask.numel())]] = False
    return mask.reshape(shape)


def apply_masks(params: dict, masks: dict) -> dict:
    """A copy of ``params`` with the connections where ``masks[l]`` is False removed in layer l:
    pi := 1 for an ensemble, w := 0 for a plain network. Layers not in ``masks`` are unchanged."""
    out = {k: list(v) for k, v in params.items()}
    for l, keep in masks.items():
        if "w" in params:
            out["w"][l] = torch.where(keep, params["w"][l], torch.zeros_like(params["w"][l]))
        else:
            out["pi"][l] = torch.where(keep, params["pi"][l], torch.ones_like(params["pi"][l]))
    return out


def mean_weights(params: dict) -> list[torch.Tensor]:
    """The eps = 0 network's weights: (1 - pi) m per layer for an ensemble, w for a plain network."""
    if "w" in params:
        return list(params["w"])
    return [(1 - pi) * m for pi, m in zip(params["pi"], params["m"])]


@torch.no_grad()
def pruning_curve(params: dict, scores: list[torch.Tensor], fractions, x: torch.Tensor, y: torch.Tensor,
                  layers=None, n_samples: int = 0, generator: torch.Generator | None = None) -> dict:
    """Test errors (%) after removing, in each layer of ``layers`` (default all), the fraction f of
    its connections with the lowest score, for every f in ``fractions`` (the removed sets are nested:
    one order per layer). Returns 'fractions', 'mean' (the eps = 0 network, or the plain network)
    and, if ``n_samples`` > 0 (ensembles only), 'sampled': the mean error of ``n_samples`` sub-networks
    sampled from the pruned distribution. Shapes: x (B, N_0), y (B,)."""
    layers = list(range(len(scores))) if layers is None else sorted(layers)
    orders = {l: removal_order(scores[l], generator) for l in layers}
    w0 = mean_weights(params)
    start = layers[0]  # the layers before the first pruned one never change: their output is computed once
    head = feedforward(x, [lambda a, w=w: linear(a, w) / math.sqrt(w.shape[-1]) for w in w0[:start]])
    a = torch.relu(head) if start > 0 else x
    out = {"fractions": [float(f) for f in fractions], "mean": [], "sampled": []}
    for f in fractions:
        p = apply_masks(params, {l: keep_mask(orders[l], f, scores[l].shape) for l in layers})
        logits = forward(mean_weights(p)[start:], a)
        out["mean"].append(100.0 * (logits.argmax(-1) != y).double().mean().item())
        if n_samples:
            if "w" in params:
                raise ValueError("sampled sub-networks need an ensemble; a plain network has one set of weights")
            out["sampled"].append(errors_of(sampled_predictions(p, x, n_samples, generator), y).mean().item())
    return out


def sparsity_at_loss(fractions, errors, points: float = 1.0) -> float:
    """The fraction removed at which the error first exceeds its value at fraction 0 by ``points``
    (percentage points), linearly interpolated between the grid points around the crossing; NaN if
    it never does on the grid. ``fractions`` ascending, starting at 0."""
    f = [float(v) for v in fractions]
    e = [float(v) for v in errors]
    if f[0] != 0.0:
        raise ValueError(f"fractions must start at 0 (the unpruned network), got {f[0]}")
    target = e[0] + points
    for i in range(1, len(f)):
        if e[i] > target:
            return f[i - 1] + (f[i] - f[i - 1]) * (target - e[i - 1]) / (e[i] - e[i - 1])
    return math.nan
