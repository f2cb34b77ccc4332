"""The spike-and-slab layer: one weight matrix as a distribution over matrices.

Every connection w_ij (row i = output unit, column j = input unit) is independent:

    P(w) = pi * delta(w) + (1 - pi) * Normal(w; m, xi)            (paper.md §1)

pi is the probability that the connection is ABSENT, m the slab mean and xi the slab VARIANCE.
The three live in one trainable tensor ``theta`` of shape (3, n_out, n_in) = (pi, m, xi) stacked, so
the optimiser sees one tensor per layer, like a plain network; ``layer.pi``, ``layer.m`` and
``layer.xi`` are views of it. With ``replicas=R`` every tensor gets a leading replica axis,
theta: (R, 3, n_out, n_in), inputs (R, B, n_in): R independent networks trained in the same tensor
operations (see :func:`mfcredit.train.train_many`). There is no bias.
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
    var = rho - mu^2 with rho = (1 - pi)(m^2 + xi), written as (1 - pi)(xi + pi m^2),
          which equals it exactly and is never negative for pi in [0, 1], xi >= 0 (no cancellation).

    All tensors share one shape, (..., n_out, n_in).
    """
    q = 1 - pi
    return q * m, q * (xi + pi * m * m)


def sample_weight(pi, m, xi, generator: torch.Generator | None = None, n: int | None = None) -> torch.Tensor:
    """Weights drawn from P(w), unscaled: one matrix shaped like pi, or ``n`` of them, (n, *pi.shape).
    Draws all U(0, 1) first, then all N(0, 1)."""
    shape = pi.shape if n is None else (n, *pi.shape)
    u = torch.rand(shape, generator=generator, dtype=pi.dtype, device=pi.device)
    z = torch.randn(shape, generator=generator, dtype=m.dtype, device=m.device)
    return (u >= pi) * (m + torch.sqrt(xi) * z)  # present with probability 1 - pi


def linear(a: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
    """a w^T: a (..., B, n_in), w (..., n_out, n_in) -> (..., B, n_out).

    One input shared by R replicas (a: (B, n_in), w: (R, n_out, n_in)) is done as a single wide
    product against the R weight matrices side by side: faster than broadcasting a R times.
    """
    if a.dim() == 2 and w.dim() == 3:
        R, n_out, n_in = w.shape
        return (a @ w.reshape(R * n_out, n_in).T).view(a.shape[0], R, n_out).transpose(0, 1)
    return a @ w.mT


class MeanFieldLinear(torch.autograd.Function):
    """z = G + sqrt(Delta) * eps with its gradient written out in closed form: gBP (paper.md §2).

    Shapes: a (..., B, n_in), theta (..., 3, n_out, n_in), eps (..., B, n_out) -> z (..., B, n_out).
    With mu = (1 - pi) m, w = xi + pi m^2, var = (1 - pi) w and s = 1/sqrt(n_in):
        G = s a mu^T,   Delta = s^2 a^2 var^T,   D = Delta + 1e-20,   r = eps / sqrt(D),   z = s G' + D r.
    Backward, for the upstream error g = dL/dz:
        dL/dmu  = s g^T a                      dL/dvar = (s^2 / 2) (g r)^T a^2
        dL/dpi  = -m dL/dmu + (m mu - w) dL/dvar
        dL/dm   = (1 - pi) dL/dmu + 2 pi m (1 - pi) dL/dvar
        dL/dxi  = (1 - pi) dL/dvar
        dL/da   = s g mu + s^2 a ((g r) var)
    It equals autograd through :meth:`SpikeSlabLayer.field` (tests/test_gbp.py, gradcheck in float64);
    written by hand it needs about half the elementwise passes, which is what makes training fast.
    """

    @staticmethod
    def forward(ctx, a, theta, eps, s):
        pi, m, xi = theta.unbind(-3)
        q = 1 - pi
        mu = q * m
        pim = pi * m
        w = torch.addcmul(xi, pim, m)
        var = q * w
        a2 = a * a
        G = linear(a, mu)
        D = linear(a2, var).mul_(s * s).add_(SQRT_EPS)
        r = torch.rsqrt(D).mul_(eps)
        z = torch.addcmul(G.mul_(s), D, r)
        ctx.save_for_backward(a, a2, m, q, mu, pim, w, var, r)
        ctx.s = s
        return z

    @staticmethod
    def backward(ctx, g):
        a, a2, m, q, mu, pim, w, var, r = ctx.saved_tensors
        s = ctx.s
        gG = g * s
        gD = torch.mul(g, r).mul_(0.5 * s * s)
        g_mu = gG.mT @ a
        g_var = gD.mT @ a2
        grad = torch.empty(q.shape[:-2] + (3,) + q.shape[-2:], dtype=q.dtype, device=q.device)
        g_pi, g_m, g_xi = grad.unbind(-3)
        torch.mul(q, g_var, out=g_xi)
        torch.mul(q, g_mu, out=g_m).addcmul_(pim, g_xi, value=2.0)
        torch.mul(m, mu, out=g_pi).sub_(w).mul_(g_var).addcmul_(m, g_mu, value=-1.0)
        g_a = None
        if ctx.needs_input_grad[0]:
            g_a = torch.addcmul(gG @ mu, a, gD @ var, value=2.0)
        return g_a, grad, None, None


class _Layer(nn.Module):
    """What both layer kinds share: sizes, the optional replica axis, the 1/sqrt(n_in) scale."""

    def __init__(self, n_in: int, n_out: int, replicas: int | None):
        super().__init__()
        if n_in < 1 or n_out < 1:
            raise ValueError(f"layer widths must be positive, got n_in={n_in}, n_out={n_out}")
        if replicas is not None and replicas < 1:
            raise ValueError(f"replicas must be a positive integer or None, got {replicas}")
        self.n_in, self.n_out, self.replicas = n_in, n_out, replicas
        self.lead = () if replicas is None else (replicas,)  # leading shape of every parameter

    @property
    def scale(self) -> float:
        """s = 1/sqrt(n_in)."""
        return 1.0 / math.sqrt(self.n_in)

    def extra_repr(self) -> str:
        return f"n_in={self.n_in}, n_out={self.n_out}" + (f", replicas={self.replicas}" if self.replicas else "")


class SpikeSlabLayer(_Layer):
    """A fully connected layer whose weights follow the spike-and-slab law.

    Parameter ``theta`` (3, n_out, n_in), or (R, 3, n_out, n_in) with ``replicas=R``; views
    ``pi`` in [0, 1], ``m``, ``xi`` >= 0, each (n_out, n_in) or (R, n_out, n_in).
    The pre-activation is scaled by 1/sqrt(n_in), as in the paper.
    """

    def __init__(self, n_in: int, n_out: int, dtype: torch.dtype = torch.float32, device=None,
                 replicas: int | None = None):
        super().__init__(n_in, n_out, replicas)
        self.theta = nn.Parameter(torch.zeros(self.lead + (3, n_out, n_in), dtype=dtype, device=device))

    pi = property(lambda self: self.theta[..., 0, :, :], doc="Probability that a connection is absent, (..., n_out, n_in).")
    m = property(lambda self: self.theta[..., 1, :, :], doc="Slab mean, (..., n_out, n_in).")
    xi = property(lambda self: self.theta[..., 2, :, :], doc="Slab variance, (..., n_out, n_in).")

    def moments(self) -> tuple[torch.Tensor, torch.Tensor]:
        """(mu, var) of every weight, shape (..., n_out, n_in); see :func:`moments`."""
        return moments(self.pi, self.m, self.xi)

    def field(self, a: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Mean-field statistics of the pre-activation for input ``a`` of shape (..., B, n_in).

        G_i     = s sum_j mu_ij a_j
        Delta_i = s^2 sum_j var_ij a_j^2
        Returns (G, Delta), each of shape (..., B, n_out). Plain autograd: the reference that
        :class:`MeanFieldLinear` is tested against.
        """
        mu, var = self.moments()
        s = self.scale
        return s * linear(a, mu), (s * s) * linear(a * a, var)

    def forward(self, a: torch.Tensor, eps: torch.Tensor | None = None) -> torch.Tensor:
        """Mean-field pre-activation z = G + sqrt(Delta) * eps, shape (..., B, n_out).

        ``eps`` has shape (..., B, n_out); ``None`` means eps = 0 (the mean network).
        """
        if eps is None:  # the mean network: no need for Delta
            return self.scale * linear(a, (1 - self.pi) * self.m)
        return MeanFieldLinear.apply(a, self.theta, eps, self.scale)

    @torch.no_grad()
    def sample_weight(self, generator=None) -> torch.Tensor:
        """One weight matrix drawn from P(w), shape (n_out, n_in), without the 1/sqrt(n_in) scale.

        With replicas, ``generator`` is a list (one per replica) and the result is (R, n_out, n_in).
        """
        if self.replicas is None:
            return sample_weight(self.pi, self.m, self.xi, generator)
        return torch.stack([sample_weight(self.pi[r], self.m[r], self.xi[r], g) for r, g in enumerate(generator)])

    @torch.no_grad()
    def project_(self) -> None:
        """Projection after each optimiser step: pi <- clip(pi, 0, 1), xi <- max(xi, 0)."""
        self.pi.clamp_(0.0, 1.0)
        self.xi.clamp_(min=0.0)

    @torch.no_grad()
    def decay_(self, factor: float, include_pi: bool) -> None:
        """Decoupled weight decay p <- factor * p on m and xi (and pi if ``include_pi``)."""
        (self.theta if include_pi else self.theta[..., 1:, :, :]).mul_(factor)


class PlainLayer(_Layer):
    """An ordinary bias-free layer z = W a / sqrt(n_in): the standard-BP baseline.

    ``weight``: (n_out, n_in), or (R, n_out, n_in) with ``replicas=R``.
    """

    def __init__(self, n_in: int, n_out: int, dtype: torch.dtype = torch.float32, device=None,
                 replicas: int | None = None):
        super().__init__(n_in, n_out, replicas)
        self.weight = nn.Parameter(torch.zeros(self.lead + (n_out, n_in), dtype=dtype, device=device))

    def forward(self, a: torch.Tensor, eps: torch.Tensor | None = None) -> torch.Tensor:
        """z = s W a, shape (..., B, n_out); ``eps`` is ignored (no distribution)."""
        return self.scale * linear(a, self.weight)

    def project_(self) -> None:
        pass

    @torch.no_grad()
    def decay_(self, factor: float, include_pi: bool = False) -> None:
        """Decoupled weight decay W <- factor * W."""
        self.weight.mul_(factor)
