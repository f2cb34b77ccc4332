"""Sub-networks sampled from a trained ensemble: their logits, predictions and test errors, how much
they differ from one another, and each connection's size under the spike-and-slab law (Li & Huang,
PRL 125, 178301 (2020), arXiv:2001.03354). Everything is vectorised over weights and samples.

``params`` below is a dict {'pi': [...], 'm': [...], 'xi': [...]} with one (N_l, N_{l-1}) tensor
per layer, as in ``Run.params`` or ``MFNet.state()``.
"""
from __future__ import annotations

import math

import torch

from .layers import forward, sample_weights


@torch.no_grad()
def layer_samples(pi, m, xi, a: torch.Tensor, n: int, generator=None, chunk: int = 50) -> torch.Tensor:
    """Pre-activations z = s W a of ONE layer for a fixed input ``a`` (N_{l-1},) under ``n`` sampled
    weight matrices: (n, N_l), s = 1/sqrt(N_{l-1}). Their exact mean and variance are the mean-field
    (G, Delta). An input a_j = 0 adds exactly 0 to every z, so only the columns of W with a_j != 0 are
    drawn (an image's blank pixels cost nothing). Memory: ``chunk`` sampled matrices at a time (50
    first-layer matrices of 100 x 784 are 16 MB)."""
    live = a != 0
    pi, m, xi, a_live = pi[:, live], m[:, live], xi[:, live], a[live]
    out = []
    for start in range(0, n, chunk):
        w = sample_weights(pi, m, xi, min(chunk, n - start), generator)
        out.append((w @ a_live) / math.sqrt(a.shape[-1]))
    return torch.cat(out)


@torch.no_grad()
def sampled_logits(params: dict, x: torch.Tensor, n: int = 100, generator=None, chunk: int = 10,
                   override: dict | None = None) -> torch.Tensor:
    """Logits of ``n`` sub-networks sampled from ``params``: (n, B, N_L), ``chunk`` networks at a time
    (memory: about chunk * sum_l N_l N_{l-1} floats for the weights).

    ``override`` maps a layer index to a function ``f(W) -> W`` applied to that layer's sampled
    weights (S, N_l, N_{l-1}) before the forward pass (used by the perturbation experiment).
    """
    out = []
    for start in range(0, n, chunk):
        s = min(chunk, n - start)
        ws = [sample_weights(pi, m, xi, s, generator) for pi, m, xi in zip(params["pi"], params["m"], params["xi"])]
        for l, f in (override or {}).items():
            ws[l] = f(ws[l])
        out.append(forward(ws, x))
    return torch.cat(out)


@torch.no_grad()
def sampled_predictions(params: dict, x: torch.Tensor, n: int = 100, generator=None, chunk: int = 10,
                        override: dict | None = None) -> torch.Tensor:
    """Predicted classes of ``n`` sampled sub-networks: (n, B) int64; see :func:`sampled_logits`."""
    preds = []
    for start in range(0, n, chunk):  # argmax per chunk keeps only (chunk, B, N_L) logits alive
        preds.append(sampled_logits(params, x, min(chunk, n - start), generator, chunk, override).argmax(-1))
    return torch.cat(preds)


def errors_of(preds: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Error (%) of each row of predictions (S, B) against labels (B,): shape (S,)."""
    return 100.0 * (preds != y).double().mean(dim=1)


def disagreement(preds: torch.Tensor) -> float:
    """Mean over pairs of rows of ``preds`` (S, B) of the fraction of columns where the two differ.
    Counted per example from class counts: sum over ordered pairs a != b of [p_a == p_b] is
    sum_c n_c^2 - S, so no loop over the S (S - 1) / 2 pairs is needed."""
    n, b = preds.shape
    counts = torch.zeros((b, int(preds.max()) + 1), dtype=torch.float64)  # (B, C): n_c per example, exact
    counts.scatter_add_(1, preds.T, torch.ones((b, n), dtype=torch.float64))  # no (n, B, C) one-hot in memory
    same_pairs = (counts ** 2).sum(-1) - n  # ordered pairs a != b that agree, per example
    return (1 - same_pairs / (n * (n - 1))).mean().item()


def _mean_jaccard(pi: torch.Tensor, k: int, generator) -> float:
    """Mean over pairs of ``k`` fresh mask draws (present = [u >= pi]) of |A and B| / |A or B|."""
    masks = torch.rand((k, *pi.shape), generator=generator, dtype=pi.dtype) >= pi
    flat = masks.reshape(k, -1).double()
    inter = flat @ flat.T
    cnt = flat.sum(1)
    union = cnt[:, None] + cnt[None, :] - inter
    iu = torch.triu_indices(k, k, 1)
    return (inter[iu[0], iu[1]] / union[iu[0], iu[1]].clamp(min=1)).mean().item()


@torch.no_grad()
def ensemble_study(params: dict, x: torch.Tensor, y: torch.Tensor, n: int = 100, generator=None) -> dict:
    """Test errors of ``n`` sampled sub-networks and how different the sub-networks are.

    Returns errors (n,) in %, 'disagreement': mean over pairs of sub-networks of the fraction of
    test examples they classify differently (:func:`disagreement`), and 'shared': mean over pairs of
    the fraction of present connections that both share (Jaccard index of the masks, per layer, from
    min(n, 20) fresh mask draws).
    """
    preds = sampled_predictions(params, x, n, generator)
    shared = [_mean_jaccard(pi, min(n, 20), generator) for pi in params["pi"]]
    return {"errors": errors_of(preds, y), "disagreement": disagreement(preds), "shared": shared}


def magnitude(pi: torch.Tensor, m: torch.Tensor, xi: torch.Tensor) -> torch.Tensor:
    """Root mean square of each weight under the spike-and-slab law, sqrt(E[w^2]) =
    sqrt((1 - pi)(m^2 + xi)); |m| for a VIP. Shape as ``pi``."""
    return torch.sqrt((1 - pi) * (m * m + xi))
