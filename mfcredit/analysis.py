"""Analyses of a network or a trained ensemble: test errors three ways, weight categories, sampled
sub-networks, and the target weight perturbation of Li & Huang, PRL 125, 178301 (2020),
arXiv:2001.03354.
Everything is vectorised over weights and samples.

``params`` below is a dict {'pi': [...], 'm': [...], 'xi': [...]} with one (N_l, N_{l-1}) tensor
per layer, as in ``Run.params`` or ``MFNet.state()``.
"""
from __future__ import annotations

import math

import torch

from .layers import forward, sample_weights
from .model import PlainNet

VIP, UIP, VARIABLE = 0, 1, 2
CATEGORY_NAMES = ("VIP", "UIP", "variable")


def error_rate(logits: torch.Tensor, y: torch.Tensor) -> float:
    """Classification error in percent: logits (B, C), labels y (B,)."""
    return 100.0 * (logits.argmax(dim=-1) != y).double().mean().item()


@torch.no_grad()
def evaluate(net, x: torch.Tensor, y: torch.Tensor, generator: torch.Generator | None = None) -> dict:
    """Test error (%) three ways: 'sampled' (one sub-network drawn from the ensemble), 'mf_noisy'
    (the noisy mean-field pass) and 'mf_mean' (eps = 0). For a plain network the three coincide.
    The two mean-field passes share the first layer's product s x mu^T, computed once (the
    largest product of the evaluation: x is (B, N_0)); the errors are those of two separate passes."""
    if isinstance(net, PlainNet):
        e = error_rate(net(x), y)
        return {"sampled": e, "mf_noisy": e, "mf_mean": e}
    sampled = error_rate(forward(net.sample_weights(generator), x), y)
    first = net.layers[0].mean_product(x)
    return {
        "sampled": sampled,
        "mf_noisy": error_rate(net(x, noise=True, generator=generator, first=first), y),
        "mf_mean": error_rate(net(x, noise=False, first=first), y),
    }


def categories(pi: torch.Tensor, xi: torch.Tensor, tol: float = 0.0) -> torch.Tensor:
    """Category of every connection: 0 = VIP (pi == 0 and xi == 0), 1 = UIP (pi == 1), 2 = variable.

    ``tol`` > 0 relaxes the equalities to pi <= tol, xi <= tol, pi >= 1 - tol. Shape as ``pi``.
    """
    vip = (pi <= tol) & (xi <= tol)
    uip = pi >= 1 - tol
    cat = torch.full(pi.shape, VARIABLE, dtype=torch.int8)
    cat[uip] = UIP
    cat[vip] = VIP
    return cat


def category_fractions(params: dict, tol: float = 0.0) -> list[dict]:
    """Per layer: fractions of VIP, UIP and variable connections, and of pi == 0, pi == 1, xi == 0
    (with ``tol`` as in :func:`categories`). Returns one dict per layer."""
    rows = []
    for pi, xi in zip(params["pi"], params["xi"]):
        cat = categories(pi, xi, tol)
        n = pi.numel()
        rows.append({
            "n": n,
            "VIP": (cat == VIP).sum().item() / n,
            "UIP": (cat == UIP).sum().item() / n,
            "variable": (cat == VARIABLE).sum().item() / n,
            "pi==0": (pi <= tol).sum().item() / n,
            "pi==1": (pi >= 1 - tol).sum().item() / n,
            "xi==0": (xi <= tol).sum().item() / n,
        })
    return rows


# ---------------------------------------------------------------- sampled sub-networks

@torch.no_grad()
def layer_samples(pi, m, xi, a: torch.Tensor, n: int, generator=None, chunk: int = 50) -> torch.Tensor:
    """Pre-activations z = s W a of ONE layer for a fixed input ``a`` (N_{l-1},) under ``n`` sampled
    weight matrices: (n, N_l). Their exact mean and variance are the mean-field (G, Delta). Memory:
    ``chunk`` sampled matrices at a time (50 first-layer matrices of 100 x 784 are 16 MB)."""
    out = []
    for start in range(0, n, chunk):
        w = sample_weights(pi, m, xi, min(chunk, n - start), generator)
        out.append((w @ a) / math.sqrt(a.shape[-1]))
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
    test examples they classify differently, and 'shared': mean over pairs of the fraction of
    present connections that both share (Jaccard index of the masks, per layer, from min(n, 20)
    fresh mask draws).
    """
    preds = sampled_predictions(params, x, n, generator)
    errs = errors_of(preds, y)
    # pairwise disagreement, via one-hot counts per example: sum over pairs of [p_a != p_b]
    onehot = torch.nn.functional.one_hot(preds, int(preds.max()) + 1).double()  # (n, B, C)
    same_pairs = (onehot.sum(0) ** 2).sum(-1) - n  # ordered pairs a != b that agree, per example
    disagreement = (1 - same_pairs / (n * (n - 1))).mean().item()
    shared = [_mean_jaccard(pi, min(n, 20), generator) for pi in params["pi"]]
    return {"errors": errs, "disagreement": disagreement, "shared": shared}


# ---------------------------------------------------------------- target weight perturbation

def _stats(errs: torch.Tensor) -> tuple[float, float]:
    return (errs.mean().item(), errs.std().item() if len(errs) > 1 else 0.0)


@torch.no_grad()
def perturbation(params: dict, x: torch.Tensor, y: torch.Tensor, fractions=None, n_samples: int = 10,
                 layer: int = 0, generator: torch.Generator | None = None) -> dict:
    """Target weight perturbation of one layer: remove VIPs (pi := 1), activate UIPs, or remove
    as many variable weights as a control. Returns test errors in %.

    For each fraction f:
      - 'vip_removal': int(f * N_VIP) VIPs picked at random get pi = 1; mean error of ``n_samples``
        sampled networks;
      - 'uip_activation': int(f * N_UIP) UIPs picked, one network sampled, those weights set to
        N(0, 1) values; mean over ``n_samples`` repeats, each with a new pick and a new sample;
      - 'variable_removal' (control): the same NUMBER int(f * N_VIP) of variable weights get pi = 1;
        NaN where fewer variable weights exist than that (reported in 'variable_short').
    Every curve entry is (mean, sd) over the samples; 'counts' gives N_VIP, N_UIP, N_variable.
    """
    fractions = [round(0.1 * i, 10) for i in range(11)] if fractions is None else list(fractions)
    pi = params["pi"][layer]
    cat = categories(pi, params["xi"][layer]).flatten()
    idx = {c: torch.nonzero(cat == c).flatten() for c in (VIP, UIP, VARIABLE)}
    counts = {name: len(idx[c]) for name, c in zip(CATEGORY_NAMES, (VIP, UIP, VARIABLE))}

    def pick(c, k):
        return idx[c][torch.randperm(len(idx[c]), generator=generator)[:k]]

    def errors_with_pi_one(chosen):  # sampled errors after setting pi = 1 on the chosen connections
        new = pi.flatten().clone()
        new[chosen] = 1.0
        p = {k: list(v) for k, v in params.items()}
        p["pi"][layer] = new.reshape(pi.shape)
        return _stats(errors_of(sampled_predictions(p, x, n_samples, generator), y))

    def activate(w, ku):  # in each sampled network (S, N_l, N_{l-1}), ku new UIPs get N(0, 1) weights
        w = w.reshape(w.shape[0], -1).clone()
        for s in range(w.shape[0]):
            chosen = pick(UIP, ku)
            w[s, chosen] = torch.randn(len(chosen), generator=generator, dtype=w.dtype)
        return w.reshape(-1, *pi.shape)

    out = {"fractions": fractions, "vip_removal": [], "uip_activation": [], "variable_removal": [],
           "variable_short": [], "counts": counts}
    for f in fractions:
        k = int(f * counts["VIP"])
        out["vip_removal"].append(errors_with_pi_one(pick(VIP, k)))
        if k > counts["variable"]:
            out["variable_removal"].append((math.nan, math.nan))
            out["variable_short"].append(f)
        else:
            out["variable_removal"].append(errors_with_pi_one(pick(VARIABLE, k)))
        ku = int(f * counts["UIP"])
        preds = sampled_predictions(params, x, n_samples, generator, override={layer: lambda w: activate(w, ku)})
        out["uip_activation"].append(_stats(errors_of(preds, y)))
    return out
