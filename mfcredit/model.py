"""Networks: the spike-and-slab ensemble (trained by gBP) and the plain standard-BP baseline.

Both stack bias-free layers with ReLU hidden units; the last layer's pre-activation is the logit
vector fed to softmax cross-entropy. ``widths = (N_0, N_1, ..., N_L)``, N_0 = input size.
"""
from __future__ import annotations

import math
from typing import Sequence

import torch
from torch import nn

from .analysis import forward_many
from .layers import PlainLayer, SpikeSlabLayer, sample_weight


def _check_widths(widths: Sequence[int]) -> tuple[int, ...]:
    widths = tuple(int(w) for w in widths)
    if len(widths) < 2 or any(w < 1 for w in widths):
        raise ValueError(f"widths must list at least two positive sizes (input and classes), got {widths}")
    return widths


class _Net(nn.Module):
    layer_class: type

    def __init__(self, widths: Sequence[int] = (784, 100, 100, 10), dtype=torch.float32, device=None,
                 replicas: int | None = None):
        super().__init__()
        self.widths = _check_widths(widths)
        self.replicas = replicas
        self.layers = nn.ModuleList(
            self.layer_class(a, b, dtype=dtype, device=device, replicas=replicas)
            for a, b in zip(self.widths[:-1], self.widths[1:])
        )

    @torch.no_grad()
    def project_(self) -> None:
        for layer in self.layers:
            layer.project_()

    @torch.no_grad()
    def decay_(self, factor: float, include_pi: bool = False) -> None:
        """Decoupled weight decay (the 'W' of AdamW) on every layer: p <- factor * p."""
        for layer in self.layers:
            layer.decay_(factor, include_pi)

    def _generators(self, generator) -> list:
        """One generator per replica (``generator`` must then be a list of R of them)."""
        if self.replicas is None:
            return [generator]
        if not isinstance(generator, (list, tuple)) or len(generator) != self.replicas:
            raise ValueError(f"a network of {self.replicas} replicas needs a list of {self.replicas} generators")
        return list(generator)

    def replica(self, r: int):
        """Replica ``r`` of a replicated network, as an ordinary (copied) network of the same class."""
        if self.replicas is None:
            raise ValueError("this network has no replicas")
        net = type(self)(self.widths, dtype=next(self.parameters()).dtype, device=next(self.parameters()).device)
        with torch.no_grad():
            for mine, theirs in zip(net.parameters(), self.parameters()):
                mine.copy_(theirs[r])
        return net

    def _run(self, x: torch.Tensor, layer_fn, collect: list | None = None) -> torch.Tensor:
        a = x
        for l, layer in enumerate(self.layers):
            z = layer_fn(l, layer, a)
            if collect is not None:
                collect.append(z)
            a = torch.relu(z) if l < len(self.layers) - 1 else z
        return a


class MFNet(_Net):
    """The spike-and-slab ensemble: one (pi, m, xi) triple per connection, mean-field forward.

    With ``replicas=R`` it holds R independent networks; inputs and outputs get a leading R axis and
    ``generator`` is a list of R generators (one noise stream per replica).

    Three ways to run it on x of shape (B, N_0), each returning logits (B, N_L):
      - ``net(x, generator=g)``: the noisy mean-field pass, eps ~ N(0, 1) fresh per unit and example
        in every layer (paper.md §1);
      - ``net(x, noise=False)``: the eps = 0 pass, i.e. the mean network W = mu;
      - ``net.sample(g)(x)``: one sub-network drawn from the distribution, an ordinary torch module.
    """

    layer_class = SpikeSlabLayer

    @torch.no_grad()
    def init_(self, m_std: float, xi_max: float, pi0: float = 0.0, generator=None):
        """Paper init: m ~ m_std * N(0, 1), pi = pi0, xi ~ xi_max * U(0, 1), in every layer.

        Replica r is drawn from generator[r] exactly as an unreplicated network from that generator.
        """
        for r, g in enumerate(self._generators(generator)):
            for layer in self.layers:
                pi, m, xi = (t if self.replicas is None else t[r] for t in (layer.pi, layer.m, layer.xi))
                m.copy_(m_std * torch.randn(m.shape, generator=g, dtype=m.dtype, device=m.device))
                pi.fill_(pi0)
                xi.copy_(xi_max * torch.rand(xi.shape, generator=g, dtype=xi.dtype, device=xi.device))
        return self

    def forward(self, x: torch.Tensor, noise: bool = True, generator: torch.Generator | None = None,
                eps: Sequence[torch.Tensor] | None = None, collect: list | None = None) -> torch.Tensor:
        """Mean-field forward. ``eps`` (one (B, N_l) tensor per layer) overrides fresh noise;
        ``collect``, if a list, receives every layer's pre-activation."""

        gens = self._generators(generator) if eps is None and noise else None

        def step(l, layer, a):
            if eps is not None:
                e = eps[l]
            elif noise:
                lead = (self.replicas, a.shape[-2]) if self.replicas else a.shape[:-1]
                e = a.new_empty(lead + (layer.n_out,))
                for r, g in enumerate(gens):  # replica r's noise from its own stream
                    (e[r] if self.replicas else e).normal_(generator=g)
            else:
                e = None
            return layer(a, e)

        return self._run(x, step, collect)

    @torch.no_grad()
    def preactivations(self, x: torch.Tensor, noise: bool = True, generator=None) -> list[torch.Tensor]:
        """Pre-activations z^l of every layer (list of (B, N_l)) in one mean-field pass."""
        zs: list[torch.Tensor] = []
        self.forward(x, noise=noise, generator=generator, collect=zs)
        return zs

    def param_groups(self) -> dict[str, list[torch.Tensor]]:
        """Parameters by name: {'pi': [...], 'm': [...], 'xi': [...]}, views of each layer's theta."""
        return {k: [getattr(layer, k) for layer in self.layers] for k in ("pi", "m", "xi")}

    @torch.no_grad()
    def sample_weights(self, generator=None) -> list[torch.Tensor]:
        """One draw of every weight matrix from P(w); list of (N_l, N_{l-1}) tensors, unscaled
        ((R, N_l, N_{l-1}) with replicas, ``generator`` then a list: per replica, layer by layer)."""
        if self.replicas:
            draws = [[sample_weight(layer.pi[r], layer.m[r], layer.xi[r], g) for layer in self.layers]
                     for r, g in enumerate(self._generators(generator))]
            return [torch.stack([d[l] for d in draws]) for l in range(len(self.layers))]
        return [layer.sample_weight(generator) for layer in self.layers]

    @torch.no_grad()
    def mean_weights(self) -> list[torch.Tensor]:
        """mu = (1 - pi) m for every layer: the eps = 0 network."""
        return [layer.moments()[0].clone() for layer in self.layers]

    def sample(self, generator: torch.Generator | None = None) -> nn.Sequential:
        """One sampled sub-network as an ordinary ``nn.Sequential`` of bias-free Linear + ReLU."""
        return to_module(self.sample_weights(generator))

    def mean_network(self) -> nn.Sequential:
        """The mean network (weights mu) as an ordinary torch module; equals ``net(x, noise=False)``."""
        return to_module(self.mean_weights())

    def sampled_forward(self, x: torch.Tensor, generator=None) -> torch.Tensor:
        """Logits of one freshly sampled sub-network per replica (or of one, without replicas)."""
        return forward_many(self.sample_weights(generator), x)

    def state(self) -> dict[str, list[torch.Tensor]]:
        """Detached copies of (pi, m, xi) per layer: {'pi': [...], 'm': [...], 'xi': [...]}."""
        return {k: [p.detach().clone() for p in ps] for k, ps in self.param_groups().items()}


class PlainNet(_Net):
    """Standard network z = W a / sqrt(N_{l-1}) with ReLU, trained by ordinary backprop (the baseline)."""

    layer_class = PlainLayer

    @torch.no_grad()
    def init_(self, m_std: float, xi_max: float = 0.0, pi0: float = 0.0, generator=None):
        """Same init as the ensemble's means: W ~ m_std * N(0, 1) (replica r from generator[r])."""
        for r, g in enumerate(self._generators(generator)):
            for layer in self.layers:
                w = layer.weight if self.replicas is None else layer.weight[r]
                w.copy_(m_std * torch.randn(w.shape, generator=g, dtype=w.dtype, device=w.device))
        return self

    def forward(self, x: torch.Tensor, noise: bool = False, generator=None, eps=None) -> torch.Tensor:
        return self._run(x, lambda l, layer, a: layer(a))

    def param_groups(self) -> dict[str, list[nn.Parameter]]:
        return {"m": [layer.weight for layer in self.layers]}

    def sample(self, generator=None) -> nn.Sequential:
        return self.mean_network()

    def mean_network(self) -> nn.Sequential:
        return to_module([layer.weight.detach().clone() for layer in self.layers])


def to_module(weights: Sequence[torch.Tensor]) -> nn.Sequential:
    """Ordinary network from unscaled weight matrices; the 1/sqrt(fan-in) is folded into nn.Linear."""
    if any(w.dim() != 2 for w in weights):
        raise ValueError("to_module needs 2-D weight matrices; take one replica first (net.replica(r))")
    mods: list[nn.Module] = []
    for l, w in enumerate(weights):
        lin = nn.Linear(w.shape[1], w.shape[0], bias=False, dtype=w.dtype, device=w.device)
        with torch.no_grad():
            lin.weight.copy_(w / math.sqrt(w.shape[1]))
        mods.append(lin)
        if l < len(weights) - 1:
            mods.append(nn.ReLU())
    return nn.Sequential(*mods).requires_grad_(False)


def build(kind: str, widths: Sequence[int], dtype=torch.float32, device=None, replicas: int | None = None) -> _Net:
    """``kind`` is 'gbp' (the spike-and-slab ensemble) or 'bp' (plain baseline)."""
    if kind == "gbp":
        return MFNet(widths, dtype=dtype, device=device, replicas=replicas)
    if kind == "bp":
        return PlainNet(widths, dtype=dtype, device=device, replicas=replicas)
    raise ValueError(f"model kind must be 'gbp' or 'bp', got {kind!r}")
