"""The three kinds of connection of Li & Huang, PRL 125, 178301 (2020), arXiv:2001.03354, and which
connections count: VIPs (pi = 0 and xi = 0: always present, one value), UIPs (pi = 1: always
absent) and variable ones; connections from inputs that are blank in every training image.

``params`` below is a dict {'pi': [...], 'm': [...], 'xi': [...]} with one (N_l, N_{l-1}) tensor
per layer, as in ``Run.params`` or ``MFNet.state()``. ``include``, where a function takes it, is
one bool tensor per layer shaped like that layer's pi (True: the connection counts), as made by
:func:`live_connections`; None counts every connection.
"""
from __future__ import annotations

import torch

VIP, UIP, VARIABLE = 0, 1, 2
CATEGORY_NAMES = ("VIP", "UIP", "variable")


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


def moved_fractions(params: dict, pi_max: list[torch.Tensor], include=None) -> list[dict]:
    """Where pi starts matters: the recipe starts every pi at exactly 0, so "pi == 0 at the end" lumps
    together connections whose pi never left 0 and connections driven back to it. With ``pi_max``
    (the largest pi each connection reached during training, one tensor per layer, as
    ``Run.pi_max``), per layer among the connections ``include`` keeps:

    - 'never_moved': fraction with pi_max == 0 (pi was 0 after every step);
    - 'pi0_never_moved': of the connections with pi == 0 at the end, the fraction that never moved;
    - 'moved_n': how many moved (pi_max > 0); 'moved_pi==0', 'moved_pi==1', 'moved_xi==0': the
      fractions of those with pi == 0, pi == 1 and xi == 0 at the end (the polarisation of the
      connections that did move; NaN where none moved).
    """
    rows = []
    for pi, xi, top, keep in zip(params["pi"], params["xi"], pi_max, include_masks(params, include)):
        pi, xi, top = pi[keep], xi[keep], top[keep]
        moved, zero = top > 0, pi == 0
        n_moved = int(moved.sum())

        def among(mask, of):
            count = int(of.sum())
            return (mask & of).sum().item() / count if count else float("nan")

        rows.append({"n": pi.numel(), "never_moved": (~moved).double().mean().item(),
                     "pi0_never_moved": among(~moved, zero), "moved_n": n_moved,
                     "moved_pi==0": among(zero, moved), "moved_pi==1": among(pi == 1, moved),
                     "moved_xi==0": among(xi == 0, moved)})
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
