"""Networks: the spike-and-slab ensemble (trained by gBP) and the plain standard-BP baseline.

Both stack bias-free layers with ReLU hidden units (:func:`mfcredit.layers.feedforward`); the last
layer's pre-activation is the logit vector fed to softmax cross-entropy.
``widths = (N_0, N_1, ..., N_L)``, N_0 = input size. Parameters by name (``net.state()``, ``Run.params``):
'pi', 'm', 'xi' for the ensemble, 'w' for the plain network, one (N_l, N_{l-1}) tensor per layer.
"""
from __future__ import annotations

import math
from functools import partial
from typing import Sequence

import torch
from torch import nn

from .layers import PlainLayer, SpikeSlabLayer, feedforward, field_terms, sample_weights

KEYS = ("pi", "m", "xi")


class _Net(nn.Module):
    """What both networks share: the widths and the stack of layers."""

    layer_class: type

    def __init__(self, widths: Sequence[int] = (784, 100, 100, 10), dtype=torch.float32, device=None):
        super().__init__()
        self.widths = tuple(int(w) for w in widths)
        if len(self.widths) < 2 or any(w < 1 for w in self.widths):
            raise ValueError(f"widths must list at least two positive sizes (input and classes), got {self.widths}")
        self.layers = nn.ModuleList(self.layer_class(a, b, dtype=dtype, device=device)
                                    for a, b in zip(self.widths[:-1], self.widths[1:]))


class MFNet(_Net):
    """The spike-and-slab ensemble: one (pi, m, xi) triple per connection, mean-field forward.

    Three ways to run it on x of shape (B, N_0), each returning logits (B, N_L):
      - ``net(x, generator=g)``: the noisy mean-field pass, z = G + sqrt(Delta) eps with
        eps ~ N(0, 1) fresh per unit and example in every layer;
      - ``net(x, noise=False)``: the eps = 0 pass, i.e. the mean network W = mu;
      - ``net.sample(g)(x)``: one sub-network drawn from the distribution, an ordinary torch module
        (or ``mfcredit.layers.forward(net.sample_weights(g), x)``).
    """

    layer_class = SpikeSlabLayer

    @torch.no_grad()
    def init_(self, m_std: float, xi_max: float, pi0: float = 0.0, generator=None):
        """Initialisation: m ~ m_std * N(0, 1), pi = pi0, xi ~ xi_max * U(0, 1), layer by layer."""
        for layer in self.layers:
            m, xi = layer.m, layer.xi
            m.copy_(m_std * torch.randn(m.shape, generator=generator, dtype=m.dtype, device=m.device))
            layer.pi.fill_(pi0)
            xi.copy_(xi_max * torch.rand(xi.shape, generator=generator, dtype=xi.dtype, device=xi.device))
        return self

    def forward(self, x: torch.Tensor, noise: bool = True, generator: torch.Generator | None = None,
                eps: Sequence[torch.Tensor] | None = None, collect: list | None = None) -> torch.Tensor:
        """Mean-field forward of x (B, N_0) -> logits (B, N_L). ``eps`` (one (B, N_l) tensor per
        layer) overrides the fresh noise, drawn layer by layer from ``generator``; ``noise=False``
        sets eps = 0. ``collect``, if a list, receives every layer's pre-activation."""
        if eps is None and noise:
            eps = [x.new_empty(x.shape[:-1] + (n,)).normal_(generator=generator) for n in self.widths[1:]]
        if eps is None:
            eps = [None] * len(self.layers)
        return feedforward(x, [partial(layer, eps=e) for layer, e in zip(self.layers, eps)], collect)

    @torch.no_grad()
    def preactivations(self, x: torch.Tensor, noise: bool = True, generator=None) -> list[torch.Tensor]:
        """Pre-activations z^l of every layer (list of (B, N_l)) in one mean-field pass."""
        zs: list[torch.Tensor] = []
        self.forward(x, noise=noise, generator=generator, collect=zs)
        return zs

    @torch.no_grad()
    def project_(self) -> None:
        """Projection after each optimiser step: pi <- clip(pi, 0, 1), xi <- max(xi, 0)."""
        for layer in self.layers:
            layer.pi.clamp_(0.0, 1.0)
            layer.xi.clamp_(min=0.0)

    @torch.no_grad()
    def decay_(self, factor: float, include_pi: bool) -> None:
        """Decoupled weight decay (the 'W' of AdamW): m, xi (and pi if ``include_pi``) <- factor * them."""
        for layer in self.layers:
            (layer.theta if include_pi else layer.theta[1:]).mul_(factor)

    @torch.no_grad()
    def mean_field_terms(self) -> list[tuple[torch.Tensor, torch.Tensor, float]]:
        """(mu, var, s) of every layer as it is now (mean and variance of its weights, as
        :func:`mfcredit.layers.field_terms` computes them; s = 1/sqrt(N_{l-1})): what
        :func:`mfcredit.layers.mean_field_forward` takes to run the network on many blocks of inputs."""
        terms = []
        for layer in self.layers:
            _, _, mu, _, _, var = field_terms(layer.theta)
            terms.append((mu, var, layer.scale))
        return terms

    @torch.no_grad()
    def sample_weights(self, generator=None) -> list[torch.Tensor]:
        """One draw of every weight matrix from P(w), layer by layer: list of (N_l, N_{l-1}), unscaled."""
        return [sample_weights(layer.pi, layer.m, layer.xi, generator=generator) for layer in self.layers]

    def sample(self, generator: torch.Generator | None = None) -> nn.Sequential:
        """One sampled sub-network as an ordinary ``nn.Sequential`` of bias-free Linear + ReLU."""
        return to_module(self.sample_weights(generator))

    def mean_network(self) -> nn.Sequential:
        """The mean network (weights mu = (1 - pi) m) as an ordinary torch module; equals
        ``net(x, noise=False)``."""
        return to_module([layer.moments()[0].detach().clone() for layer in self.layers])

    def state(self) -> dict[str, list[torch.Tensor]]:
        """Copies of (pi, m, xi) on the CPU: {'pi': [...], 'm': [...], 'xi': [...]}, (N_l, N_{l-1}) each."""
        return {k: [getattr(layer, k).detach().cpu().clone() for layer in self.layers] for k in KEYS}

    @torch.no_grad()
    def load_(self, params: dict) -> "MFNet":
        """Copy ``params`` ({'pi', 'm', 'xi'} lists, as :meth:`state` returns) into the network."""
        for k in KEYS:
            for layer, t in zip(self.layers, params[k]):
                getattr(layer, k).copy_(t)
        return self


class PlainNet(_Net):
    """Standard network z = W a / sqrt(N_{l-1}) with ReLU, trained by ordinary backprop (the baseline)."""

    layer_class = PlainLayer

    @torch.no_grad()
    def init_(self, m_std: float, generator=None):
        """The ensemble's initialisation of the means: W ~ m_std * N(0, 1), layer by layer."""
        for layer in self.layers:
            w = layer.weight
            w.copy_(m_std * torch.randn(w.shape, generator=generator, dtype=w.dtype, device=w.device))
        return self

    def forward(self, x: torch.Tensor, dropout: float = 0.0, generator: torch.Generator | None = None) -> torch.Tensor:
        """Logits (B, N_L) of x (B, N_0). With ``dropout`` p > 0 (training), every hidden unit of every
        example is dropped with probability p and the kept ones scaled by 1 / (1 - p) (inverted
        dropout), the masks drawn from ``generator`` layer by layer."""
        if not dropout:
            return feedforward(x, self.layers)

        def drop(a):
            keep = torch.rand(a.shape, generator=generator, dtype=a.dtype, device=a.device) >= dropout
            return a * keep / (1.0 - dropout)
        return feedforward(x, self.layers, hidden=drop)

    @torch.no_grad()
    def decay_(self, factor: float) -> None:
        """Decoupled weight decay W <- factor * W."""
        for layer in self.layers:
            layer.weight.mul_(factor)

    def mean_network(self) -> nn.Sequential:
        """The network as an ordinary torch module (there is no distribution: it is its own mean)."""
        return to_module([layer.weight.detach().clone() for layer in self.layers])

    def state(self) -> dict[str, list[torch.Tensor]]:
        """Copies of the weights on the CPU: {'w': [...]}, (N_l, N_{l-1}) each."""
        return {"w": [layer.weight.detach().cpu().clone() for layer in self.layers]}

    @torch.no_grad()
    def load_(self, params: dict) -> "PlainNet":
        """Copy ``params`` ({'w': [...]}, as :meth:`state` returns) into the network."""
        for layer, t in zip(self.layers, params["w"]):
            layer.weight.copy_(t)
        return self


def to_module(weights: Sequence[torch.Tensor]) -> nn.Sequential:
    """Ordinary network from unscaled (N_l, N_{l-1}) weight matrices; the 1/sqrt(fan-in) is folded
    into each bias-free nn.Linear."""
    mods: list[nn.Module] = []
    for l, w in enumerate(weights):
        lin = nn.Linear(w.shape[1], w.shape[0], bias=False, dtype=w.dtype, device=w.device)
        with torch.no_grad():
            lin.weight.copy_(w / math.sqrt(w.shape[1]))
        mods.append(lin)
        if l < len(weights) - 1:
            mods.append(nn.ReLU())
    return nn.Sequential(*mods).requires_grad_(False)


def build(kind: str, widths: Sequence[int], dtype=torch.float32, device=None) -> MFNet | PlainNet:
    """An uninitialised network: ``kind`` 'gbp' (the spike-and-slab ensemble) or 'bp' (plain baseline)."""
    if kind not in ("gbp", "bp"):
        raise ValueError(f"model kind must be 'gbp' or 'bp', got {kind!r}")
    return (MFNet if kind == "gbp" else PlainNet)(widths, dtype=dtype, device=device)
