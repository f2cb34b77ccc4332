"""How good a network's probabilities are, not only its argmax: negative log-likelihood, expected
calibration error, Brier score, reliability bins, and the AUROC of a score that should separate two
sets (here: MNIST test images from Fashion-MNIST ones, by predictive entropy).

``probs`` below is a (B, C) tensor of predicted class probabilities (rows sum to 1), ``y`` the (B,)
int64 labels. A predictor of the ensemble is one way of turning (pi, m, xi) into ``probs``:
softmax of the eps = 0 or the noisy mean-field logits, or the average of the softmax of K sampled
sub-networks (:func:`sampled_probs`).
"""
from __future__ import annotations

import math

import torch

from .layers import forward, sample_weights

#: Floor on a probability before its log (float32 softmax can round a true class to 0).
TINY = 1e-12


def nll(probs: torch.Tensor, y: torch.Tensor) -> float:
    """Mean negative log-likelihood -log p_y (nats), probabilities floored at :data:`TINY`."""
    return -probs.gather(1, y[:, None]).clamp(min=TINY).log().double().mean().item()


def brier(probs: torch.Tensor, y: torch.Tensor) -> float:
    """Brier score: mean over examples of sum_c (p_c - [y = c])^2, between 0 and 2."""
    onehot = torch.nn.functional.one_hot(y, probs.shape[1]).to(probs.dtype)
    return ((probs - onehot) ** 2).sum(1).double().mean().item()


def reliability_bins(probs: torch.Tensor, y: torch.Tensor, n_bins: int = 15) -> dict:
    """Equal-width bins of the confidence max_c p_c: bin b holds confidences in (b/n_bins, (b+1)/n_bins]
    (the first bin also holds 0). Returns 'count' (n_bins,), 'accuracy' and 'confidence' (n_bins,)
    (mean per bin, NaN for an empty bin) and 'edges' (n_bins + 1,)."""
    conf, pred = probs.max(1)
    conf = conf.double()
    b = (torch.ceil(conf * n_bins).long() - 1).clamp(0, n_bins - 1)
    count = torch.bincount(b, minlength=n_bins).double()
    correct = torch.bincount(b, weights=(pred == y).double(), minlength=n_bins)
    conf_sum = torch.bincount(b, weights=conf, minlength=n_bins)
    with torch.no_grad():
        acc = torch.where(count > 0, correct / count.clamp(min=1), torch.full_like(count, math.nan))
        mean_conf = torch.where(count > 0, conf_sum / count.clamp(min=1), torch.full_like(count, math.nan))
    return {"count": count, "accuracy": acc, "confidence": mean_conf,
            "edges": torch.linspace(0, 1, n_bins + 1, dtype=torch.float64)}


def ece(probs: torch.Tensor, y: torch.Tensor, n_bins: int = 15) -> float:
    """Expected calibration error: sum over bins of (n_b / n) |accuracy_b - mean confidence_b|,
    ``n_bins`` equal-width confidence bins (:func:`reliability_bins`)."""
    r = reliability_bins(probs, y, n_bins)
    keep = r["count"] > 0
    gap = (r["accuracy"][keep] - r["confidence"][keep]).abs()
    return (r["count"][keep] * gap).sum().item() / len(y)


def entropy(probs: torch.Tensor) -> torch.Tensor:
    """Predictive entropy -sum_c p_c log p_c (nats) of each row: (B,)."""
    p = probs.double()
    return -(p * p.clamp(min=TINY).log()).sum(1)


def auroc(negative: torch.Tensor, positive: torch.Tensor) -> float:
    """Area under the ROC curve of a score that should be larger on ``positive`` than on
    ``negative``: P(score of a random positive > score of a random negative), ties counting 1/2
    (the Mann-Whitney U statistic over n_pos n_neg, from average ranks). 1 = perfect separation,
    0.5 = no information."""
    s = torch.cat([negative.double().flatten(), positive.double().flatten()])
    n_neg, n_pos = negative.numel(), positive.numel()
    if n_neg == 0 or n_pos == 0:
        raise ValueError(f"auroc needs both sets non-empty, got {n_neg} negatives and {n_pos} positives")
    values, inverse, counts = torch.unique(s, return_inverse=True, return_counts=True)
    first = torch.cumsum(counts, 0) - counts  # 0-based rank of each distinct value's first occurrence
    avg_rank = (first + (counts - 1) / 2.0 + 1).double()  # average 1-based rank of the tied group
    rank_pos = avg_rank[inverse[n_neg:]].sum().item()
    return (rank_pos - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg)


def scores(probs: torch.Tensor, y: torch.Tensor, n_bins: int = 15) -> dict:
    """Error (%), NLL, ECE and Brier score of one predictor, in one dict."""
    return {"error": 100.0 * (probs.argmax(1) != y).double().mean().item(), "nll": nll(probs, y),
            "ece": ece(probs, y, n_bins), "brier": brier(probs, y)}


def fit_temperature(logits: torch.Tensor, y: torch.Tensor, bounds=(0.05, 20.0)) -> float:
    """Temperature scaling (Guo et al., ICML 2017): the T > 0 that minimises the NLL of softmax(logits / T)
    on held-out (validation) logits (B, C) and labels (B,), searched over log T within ``bounds``
    (bounded Brent, to about 1e-6 in log T). One number per network; it never changes the argmax."""
    z, labels = logits.detach().double(), y

    def nll_at(log_t):
        return torch.nn.functional.cross_entropy(z / math.exp(log_t), labels).item()

    from scipy import optimize  # imported here: only temperature scaling needs it, and it is large

    res = optimize.minimize_scalar(nll_at, bounds=tuple(math.log(b) for b in bounds), method="bounded",
                                   options={"xatol": 1e-7})
    return math.exp(res.x)


@torch.no_grad()
def batched_logits(f, x: torch.Tensor, batch: int = 2500) -> torch.Tensor:
    """f(x) computed ``batch`` rows of x at a time (memory: one batch's activations): (B, C)."""
    return torch.cat([f(x[i:i + batch]) for i in range(0, len(x), batch)])


@torch.no_grad()
def batched_probs(f, x: torch.Tensor, batch: int = 2500) -> torch.Tensor:
    """softmax(f(x)) computed ``batch`` rows of x at a time (memory: one batch's activations): (B, C)."""
    return torch.cat([torch.softmax(f(x[i:i + batch]), -1) for i in range(0, len(x), batch)])


@torch.no_grad()
def sampled_probs(params: dict, x: torch.Tensor, ks, generator=None, chunk: int = 5, batch: int = 2500) -> dict:
    """Average predicted probabilities of the first K sub-networks sampled from ``params``
    ({'pi', 'm', 'xi'} lists), for every K in ``ks``: {K: (B, C) tensor}. The sub-networks are drawn
    ``chunk`` at a time and run on ``batch`` rows of x at a time; only the running sum of their
    softmax is kept, so memory is that of ``chunk`` weight samples plus (chunk, batch, N_l)
    activations, whatever max(ks) is. The K = 10 average is the first 10 of the K = 100 ones."""
    ks = sorted(set(int(k) for k in ks))
    if not ks or ks[0] < 1:
        raise ValueError(f"ks must be positive integers, got {ks}")
    total, done, out = None, 0, {}
    while done < ks[-1]:
        n = min(chunk, next(k for k in ks if k > done) - done)  # stop exactly at every K
        ws = [sample_weights(pi, m, xi, n, generator) for pi, m, xi in zip(params["pi"], params["m"], params["xi"])]
        p = torch.cat([torch.softmax(forward(ws, x[i:i + batch]), -1).sum(0) for i in range(0, len(x), batch)])
        total = p if total is None else total + p
        done += n
        if done in ks:
            out[done] = total / done
    return out
