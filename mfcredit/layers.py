"""The spike-and-slab layer: one weight matrix as a distribution over matrices.

Every connection w_ij (row i = output unit, column j = input unit) is independent:

    P(w) = pi * delta(w) + (1 - pi) * Normal(w; m, xi)            (paper.md §1)

pi is the probability that the connection is ABSENT, m the slab mean and xi the slab VARIANCE.
All three are trainable tensors of shape (n_out, n_in). There is no bias.
"""
from __future__ import annotations

import math

import torch
from torch import nn

#: Constant under the square root of Delta, so the gradient stays finite at Delta = 0 (paper.md §1).
SQRT_EPS = 1e-20


def moments(pi: torch.Tensor, m: torch.Tensor, xi: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Mean mu and variance of each weight under the spike-and-slab law.

    mu  = (1 - pi) m
    var = rho - mu^2 with rho = (1 - pi)(m^2 + xi), written as (1 - pi) xi + pi (1 - pi) m^2,
          which equals it exactly and is never negative for pi in [0, 1], xi >= 0 (no cancellation).

    All tensors share one shape, (n_out, n_in).
    """
    mu = (1 - pi) * m
    var = (1 - pi) * xi + pi * (1 - pi) * m * m
    return mu, var


class SpikeSlabLayer(nn.Module):
    """A fully connected layer whose weights follow the spike-and-slab law.

    Parameters (all shape (n_out, n_in)): ``pi`` in [0, 1], ``m``, ``xi`` >= 0.
    The pre-activation is scaled by 1/sqrt(n_in), as in the paper.
    """

    def __init__(self, n_in: int, n_out: int, dtype: torch.dtype = torch.float32, device=None):
        super().__init__()
        if n_in < 1 or n_out < 1:
            raise ValueError(f"layer widths must be positive, got n_in={n_in}, n_out={n_out}")
        self.n_in, self.n_out = n_in, n_out
        kw = dict(dtype=dtype, device=device)
        self.pi = nn.Parameter(torch.zeros(n_out, n_in, **kw))
        self.m = nn.Parameter(torch.zeros(n_out, n_in, **kw))
        self.xi = nn.Parameter(torch.zeros(n_out, n_in, **kw))

    @property
    def scale(self) -> float:
        """s = 1/sqrt(n_in)."""
        return 1.0 / math.sqrt(self.n_in)

    def moments(self) -> tuple[torch.Tensor, torch.Tensor]:
        """(mu, var) of every weight, shape (n_out, n_in); see :func:`moments`."""
        return moments(self.pi, self.m, self.xi)

    def field(self, a: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Mean-field statistics of the pre-activation for input ``a`` of shape (B, n_in).

        G_i     = s sum_j mu_ij a_j
        Delta_i = s^2 sum_j var_ij a_j^2
        Returns (G, Delta), each of shape (B, n_out).
        """
        mu, var = self.moments()
        s = self.scale
        return s * (a @ mu.T), (s * s) * ((a * a) @ var.T)

    def forward(self, a: torch.Tensor, eps: torch.Tensor | None = None) -> torch.Tensor:
        """Mean-field pre-activation z = G + sqrt(Delta) * eps, shape (B, n_out).

        ``eps`` has shape (B, n_out); ``None`` means eps = 0 (the mean network).
        """
        if eps is None:  # the mean network: no need for Delta
            return self.scale * (a @ ((1 - self.pi) * self.m).T)
        G, Delta = self.field(a)
        return G + torch.sqrt(Delta + SQRT_EPS) * eps

    @torch.no_grad()
    def sample_weight(self, generator: torch.Generator | None = None) -> torch.Tensor:
        """One weight matrix drawn from P(w), shape (n_out, n_in), without the 1/sqrt(n_in) scale."""
        u = torch.rand(self.pi.shape, generator=generator, dtype=self.pi.dtype, device=self.pi.device)
        z = torch.randn(self.m.shape, generator=generator, dtype=self.m.dtype, device=self.m.device)
        present = u >= self.pi  # probability 1 - pi
        return present * (self.m + torch.sqrt(self.xi) * z)

    @torch.no_grad()
    def project_(self) -> None:
        """Projection after each optimiser step: pi <- clip(pi, 0, 1), xi <- max(xi, 0)."""
        self.pi.clamp_(0.0, 1.0)
        self.xi.clamp_(min=0.0)

    def extra_repr(self) -> str:
        return f"n_in={self.n_in}, n_out={self.n_out}"


class PlainLayer(nn.Module):
    """An ordinary bias-free layer z = W a / sqrt(n_in): the standard-BP baseline. W: (n_out, n_in)."""

    def __init__(self, n_in: int, n_out: int, dtype: torch.dtype = torch.float32, device=None):
        super().__init__()
        if n_in < 1 or n_out < 1:
            raise ValueError(f"layer widths must be positive, got n_in={n_in}, n_out={n_out}")
        self.n_in, self.n_out = n_in, n_out
        self.weight = nn.Parameter(torch.zeros(n_out, n_in, dtype=dtype, device=device))

    @property
    def scale(self) -> float:
        """s = 1/sqrt(n_in)."""
        return 1.0 / math.sqrt(self.n_in)

    def forward(self, a: torch.Tensor, eps: torch.Tensor | None = None) -> torch.Tensor:
        """z = s W a, shape (B, n_out); ``eps`` is ignored (no distribution)."""
        return self.scale * (a @ self.weight.T)

    def project_(self) -> None:
        pass

    def extra_repr(self) -> str:
        return f"n_in={self.n_in}, n_out={self.n_out}"
