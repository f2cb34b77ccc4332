"""Analyses of a network or a trained ensemble: test errors three ways, weight categories, sampled
sub-networks, and the target weight perturbation of Li & Huang, PRL 125, 178301 (2020),
arXiv:2001.03354.
Everything is vectorised over weights and samples.

``params`` below is a dict {'pi': [...], 'm': [...], 'xi': [...]} with one (N_l, N_{l-1}) tensor
per layer, as in ``Run.params`` or ``MFNet.state()``. ``include``, where a function takes it, is
one bool tensor per layer shaped like that layer's pi (True: the connection counts), as made by
:func:`live_connections`; None counts every connection.
"""
from __future__ import annotations

import math
from bisect import bisect_left

import torch

from .layers import forward, mean_field_forward, mean_product, sample_weights
from .model import PlainNet

VIP, UIP, VARIABLE = 0, 1, 2
CATEGORY_NAMES = ("VIP", "UIP", "variable")


def error_rate(logits: torch.Tensor, y: torch.Tensor) -> float:
    """Classification error in percent: logits (B, C), labels y (B,)."""
    return 100.0 * (logits.argmax(dim=-1) != y).double().mean().item()


#: Test images per torch thread that :func:`evaluate` passes at a time (make bench, evaluation row).
EVAL_BLOCK_PER_THREAD = 1000


@torch.no_grad()
def evaluate(net, x: torch.Tensor, y: torch.Tensor, generator: torch.Generator | None = None,
             block: int | None = None) -> dict:
    """Test error (%) three ways: 'sampled' (one sub-network drawn from the ensemble), 'mf_noisy'
    (the noisy mean-field pass) and 'mf_mean' (eps = 0). For a plain network the three coincide.
    x (B, N_0), y (B,).

    The images go through ``block`` at a time (default, on the CPU: :data:`EVAL_BLOCK_PER_THREAD`
    per torch thread; elsewhere all at once). On one thread, as in a sweep's workers, a block's
    activations then stay in the core's cache, which makes the evaluation faster; on two it makes no
    difference (make bench, evaluation row). The draws (the sub-network, then the noise of every
    layer for all of x) are made first, in the order of one pass over all of x, so the errors are
    those of that pass up to rounding in the products; with the default blocks of 10,000 images,
    on 1 and 2 threads, every image's logits are the same bits (tests/test_analysis.py). The
    mean-field passes run on the weight terms mu and var computed once for all blocks
    (:func:`mfcredit.layers.mean_field_forward`), and share the first layer's product s x mu^T,
    computed once per block (the largest product of the evaluation); the errors are those of
    separate passes of ``net`` (tests/test_analysis.py)."""
    n = len(x)
    if block is None:
        block = EVAL_BLOCK_PER_THREAD * torch.get_num_threads() if x.device.type == "cpu" else max(n, 1)
    if block < 1:
        raise ValueError(f"evaluate: block must be a positive number of images, got {block}")
    rows = [slice(i, i + block) for i in range(0, n, block)] or [slice(0, 0)]
    if isinstance(net, PlainNet):
        e = error_rate(torch.cat([net(x[r]) for r in rows]), y)
        return {"sampled": e, "mf_noisy": e, "mf_mean": e}
    weights = net.sample_weights(generator)
    eps = [x.new_empty((n, width)).normal_(generator=generator) for width in net.widths[1:]]
    terms = net.mean_field_terms()  # computed once for all blocks
    blocks = [_three_passes(weights, terms, eps, x, r) for r in rows]
    return {k: error_rate(torch.cat([b[k] for b in blocks]), y) for k in blocks[0]}


def _three_passes(weights, terms, eps, x, r) -> dict:
    """evaluate's logits of the images x[r] (r a slice): the sub-network ``weights``, and the noisy
    (``eps``, drawn for all of x) and eps = 0 mean-field passes on ``terms``, which share the first
    layer's product."""
    mu, _, s = terms[0]
    first = mean_product(x[r], mu, s)
    return {"sampled": forward(weights, x[r]),
            "mf_noisy": mean_field_forward(terms, x[r], [e[r] for e in eps], first),
            "mf_mean": mean_field_forward(terms, x[r], None, first)}


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


def dead_inputs(x: torch.Tensor) -> torch.Tensor:
    """Inputs that are 0 in every example of ``x`` (B, N_0): a bool mask (N_0,).

    Every gBP gradient of a first-layer connection (i, j) carries a factor a_j or a_j^2 (Eqs. 4-5 of
    the paper; notebook 1), so a connection from a dead input never receives one: it keeps pi = 0
    and the slab variance of its initialisation (shrunk only by weight decay), and stays "variable".
    """
    if x.dim() != 2:
        raise ValueError(f"dead_inputs: x must be (examples, inputs), got shape {tuple(x.shape)}")
    return (x == 0).all(dim=0)


def live_connections(params: dict, dead: torch.Tensor) -> list[torch.Tensor]:
    """The ``include`` masks that leave out the first-layer connections from ``dead`` inputs (a bool
    mask (N_0,), see :func:`dead_inputs`): one bool tensor per layer, shaped like pi, all True
    beyond the first layer."""
    pis = params["pi"]
    if dead.shape != (pis[0].shape[1],):
        raise ValueError(f"live_connections: dead must have one entry per input ({pis[0].shape[1]}), "
                         f"got shape {tuple(dead.shape)}")
    first = (~dead.bool()).expand(pis[0].shape).clone()
    return [first] + [torch.ones(pi.shape, dtype=torch.bool) for pi in pis[1:]]


def include_masks(params: dict, include) -> list[torch.Tensor]:
    """One bool mask per layer, shaped like its pi: ``include`` checked against the layers of ``params``
    (a ValueError naming the expected shapes if it does not fit), or all True if ``include`` is None."""
    pis = params["pi"]
    if include is None:
        return [torch.ones(pi.shape, dtype=torch.bool) for pi in pis]
    if len(include) != len(pis) or any(k.shape != pi.shape for k, pi in zip(include, pis)):
        raise ValueError("include must hold one bool mask per layer, shaped like that layer's pi "
                         f"{[tuple(pi.shape) for pi in pis]}; got {[tuple(k.shape) for k in include]}")
    return [k.bool() for k in include]


def category_fractions(params: dict, tol: float = 0.0, include=None) -> list[dict]:
    """Per layer: fractions of VIP, UIP and variable connections, and of pi == 0, pi == 1, xi == 0
    (with ``tol`` as in :func:`categories`), among the connections ``include`` keeps (all by
    default); 'n' is their number. Returns one dict per layer."""
    rows = []
    for pi, xi, keep in zip(params["pi"], params["xi"], include_masks(params, include)):
        pi, xi = pi[keep], xi[keep]
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


@torch.no_grad()
def absence(params: dict, deltas=(1e-6, 1e-3, 0.1, 0.5), n_samples: int = 20, generator=None,
            include=None) -> list[dict]:
    """How many connections are absent, read three ways, per layer (among ``include``):

    - 'exact': fraction with pi == 1 (the UIPs);
    - 'above': for each delta in ``deltas``, the fraction with pi > 1 - delta (absent in more than a
      fraction 1 - delta of the sub-networks);
    - 'mean_pi': the mean of pi, which is the expected fraction of connections absent from one
      sampled sub-network;
    - 'sampled' / 'sampled_sd': the fraction absent in each of ``n_samples`` sampled masks
      (present = [u >= pi], as in sampling), mean and sd over the masks.
    """
    rows = []
    for pi, keep in zip(params["pi"], include_masks(params, include)):
        p = pi[keep].double()
        absent = torch.stack([(torch.rand(p.shape, generator=generator, dtype=p.dtype) < p).double().mean()
                              for _ in range(n_samples)])
        rows.append({"exact": (p == 1).double().mean().item(),
                     "above": [(p > 1 - d).double().mean().item() for d in deltas],
                     "mean_pi": p.mean().item(),
                     "sampled": absent.mean().item(),
                     "sampled_sd": absent.std().item() if n_samples > 1 else 0.0})
    return rows


# ---------------------------------------------------------------- sampled sub-networks

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


def magnitude(pi: torch.Tensor, m: torch.Tensor, xi: torch.Tensor) -> torch.Tensor:
    """Root mean square of each weight under the spike-and-slab law, sqrt(E[w^2]) =
    sqrt((1 - pi)(m^2 + xi)); |m| for a VIP. Shape as ``pi``."""
    return torch.sqrt((1 - pi) * (m * m + xi))


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


#: The curves :func:`perturbation` can draw.
CURVES = ("vip_removal", "random_removal", "matched_removal", "uip_activation")


@torch.no_grad()
def perturbation(params: dict, x: torch.Tensor, y: torch.Tensor, fractions=None, n_samples: int = 10,
                 layer: int = 0, generator: torch.Generator | None = None, include=None, curves=CURVES,
                 uip_values: str = "layer") -> dict:
    """Target weight perturbation of one layer (paper Fig. 3): remove VIPs, activate UIPs, and two
    controls. Only connections that ``include`` keeps take part (pass :func:`live_connections` so
    that no dead input is "removed", a no-op). Test errors in %.

    For each fraction f, with N_c the number of connections of category c:
      - 'vip_removal': k = int(f * N_VIP) VIPs picked at random get pi = 1;
      - 'matched_removal' (control): for each of those k VIPs, the variable connection nearest in
        :func:`magnitude` (without replacement, :func:`match_by_magnitude`) gets pi = 1 instead;
      - 'random_removal' (control): k variable connections picked at random get pi = 1;
      - 'uip_activation': int(f * N_UIP) UIPs picked; in each sampled network they get values from
        the same layer of that network: ``uip_values='layer'`` copies randomly chosen present weights
        of the layer's other (non-UIP) included connections, 'normal' draws N(0, 1) values.
    Each entry is (mean, sd) over ``n_samples`` sampled networks (a new pick for each activation).
    Where nothing changes (k = 0) the entry is 'unperturbed', evaluated once. The controls are NaN
    where fewer variable connections exist than k ('variable_short' lists those f). 'counts' gives
    N_VIP, N_UIP, N_variable; 'magnitudes' the magnitudes of the VIPs and of both controls' connections
    removed at the largest fraction. ``curves`` picks which curves to compute (of :data:`CURVES`).
    """
    fractions = [round(0.1 * i, 10) for i in range(11)] if fractions is None else list(fractions)
    unknown = set(curves) - set(CURVES)
    if unknown or uip_values not in ("layer", "normal"):
        raise ValueError(f"perturbation: curves must be among {CURVES} (got unknown {sorted(unknown)}) and "
                         f"uip_values 'layer' or 'normal' (got {uip_values!r})")
    pi, m, xi = (params[k][layer] for k in ("pi", "m", "xi"))
    keep = include_masks(params, include)[layer].flatten()
    cat = categories(pi, xi).flatten()
    idx = {c: torch.nonzero((cat == c) & keep).flatten() for c in (VIP, UIP, VARIABLE)}
    donors = torch.nonzero((cat != UIP) & keep).flatten()
    counts = {name: len(idx[c]) for name, c in zip(CATEGORY_NAMES, (VIP, UIP, VARIABLE))}
    size = magnitude(pi, m, xi).flatten()

    def pick(c, k):
        return idx[c][torch.randperm(len(idx[c]), generator=generator)[:k]]

    def errors(p=params, override=None):
        return _stats(errors_of(sampled_predictions(p, x, n_samples, generator, override=override), y))

    def errors_with_pi_one(chosen):  # sampled errors after setting pi = 1 on the chosen connections
        new = pi.flatten().clone()
        new[chosen] = 1.0
        p = {k: list(v) for k, v in params.items()}
        p["pi"][layer] = new.reshape(pi.shape)
        return errors(p)

    def activate(w, ku):  # in each sampled network (S, N_l, N_{l-1}), ku UIPs get values
        w = w.reshape(w.shape[0], -1).clone()
        for s in range(w.shape[0]):
            chosen = pick(UIP, ku)
            if uip_values == "normal":
                w[s, chosen] = torch.randn(len(chosen), generator=generator, dtype=w.dtype)
            else:
                present = donors[w[s, donors] != 0]
                if len(present) == 0:
                    raise ValueError("perturbation: no present non-UIP weight in the layer to copy values from")
                w[s, chosen] = w[s, present[torch.randint(len(present), (len(chosen),), generator=generator)]]
        return w.reshape(-1, *pi.shape)

    unperturbed = errors()
    out = {"fractions": fractions, "unperturbed": unperturbed, **{c: [] for c in curves},
           "variable_short": [], "counts": counts, "magnitudes": {}}
    for f in fractions:
        k, ku = int(f * counts["VIP"]), int(f * counts["UIP"])
        vips = pick(VIP, k)
        removed = {"vip_removal": vips}
        if k > counts["variable"]:
            out["variable_short"].append(f)
        elif "matched_removal" in curves:
            removed["matched_removal"] = idx[VARIABLE][match_by_magnitude(size[vips], size[idx[VARIABLE]])]
        if k <= counts["variable"] and "random_removal" in curves:
            removed["random_removal"] = pick(VARIABLE, k)
        for c in ("vip_removal", "matched_removal", "random_removal"):
            if c in curves:
                out[c].append(unperturbed if k == 0 else errors_with_pi_one(removed[c]) if c in removed
                              else (math.nan, math.nan))
        if "uip_activation" in curves:
            out["uip_activation"].append(unperturbed if ku == 0 else
                                         errors(override={layer: lambda w: activate(w, ku)}))
        if f == max(fractions):
            out["magnitudes"] = {c: size[v] for c, v in removed.items()}
    return out
