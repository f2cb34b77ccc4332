"""The spike-and-slab layer, and the two functions every network here is built from.

Every connection w_ij (row i = output unit, column j = input unit) is independent:

    P(w) = pi * delta(w) + (1 - pi) * Normal(w; m, xi)

pi is the probability that the connection is ABSENT, m the slab mean and xi the slab VARIANCE
(the model of Li & Huang, PRL 125, 178301 (2020), arXiv:2001.03354; notebooks/01-theory.ipynb).
A layer keeps the three in one trainable tensor ``theta`` of shape (3, n_out, n_in) = (pi, m, xi)
stacked, so the optimiser sees one tensor per layer, like a plain network; ``layer.pi``, ``layer.m``
and ``layer.xi`` are views of it. There is no bias; every pre-activation is scaled by 1/sqrt(n_in).

    sample_weights(pi, m, xi, n)    draw weight matrices from P(w)
    forward(weights, x)             run the network with those (ordinary) weights
    feedforward(x, layers)          the layer loop both of them, and every network class, share
    field_terms(theta)              a layer's weight terms: mu, var, and what gBP keeps
    mean_product(a, mu, s)          G = s a mu^T, the pre-activation of the mean network (eps = 0)
    mean_field(a, mu, var, eps, s)  one layer's noisy mean-field pre-activation (MeanFieldLinear's forward)
    mean_field_forward(terms, x)    the mean-field network on weight terms computed once (evaluation)
"""
from __future__ import annotations

import math
from typing import Callable, Sequence

import torch
from torch import nn

#: Constant added to Delta under the square root, so the gradient stays finite at Delta = 0.
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


def sample_weights(pi, m, xi, n: int | None = None, generator: torch.Generator | None = None) -> torch.Tensor:
    """Weights drawn from P(w), without the 1/sqrt(n_in) scale: one matrix shaped like ``pi``
    (n_out, n_in), or ``n`` independent ones, (n, n_out, n_in).

    w = [u >= pi] (m + sqrt(xi) z) with u ~ U(0, 1), z ~ N(0, 1): all u are drawn first, then all z.
    """
    shape = pi.shape if n is None else (n, *pi.shape)
    absent = torch.rand(shape, generator=generator, dtype=pi.dtype, device=pi.device) < pi  # prob. pi
    w = torch.randn(shape, generator=generator, dtype=m.dtype, device=m.device)
    # in place: one float tensor of the sample's size alive at a time (n = 200 first-layer samples
    # of 784 x 100 are 63 MB each; multiplying by a boolean mask would make a float copy of it);
    # equal to (u >= pi) * (m + sqrt(xi) z), except that an absent weight is +0, never -0
    return w.mul_(torch.sqrt(xi)).add_(m).masked_fill_(absent, 0.0)


def linear(a: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
    """a w^T: a (B, n_in), w (n_out, n_in) -> (B, n_out); or S networks at once: w (S, n_out, n_in)
    with a (S, B, n_in), or one input a (B, n_in) shared by all S -> (S, B, n_out).

    The shared input is done as a single wide product against the S matrices side by side.
    """
    if a.dim() == 2 and w.dim() == 3:
        S, n_out, n_in = w.shape
        return (a @ w.reshape(S * n_out, n_in).T).view(a.shape[0], S, n_out).transpose(0, 1)
    return a @ w.mT


def feedforward(x: torch.Tensor, layers: Sequence[Callable], collect: list | None = None,
                hidden: Callable | None = None) -> torch.Tensor:
    """The layer loop of every network here: a^0 = x, z^l = layers[l](a^{l-1}),
    a^l = ReLU(z^l) for the hidden layers (then ``hidden(a^l)`` if given, e.g. dropout); returns
    z^L, the logits. ``collect``, if a list, receives every z^l."""
    a = x
    for l, layer in enumerate(layers):
        z = layer(a)
        if collect is not None:
            collect.append(z)
        if l < len(layers) - 1:  # in place where nothing needs z again (no autograd, not collected): less memory
            a = z.relu_() if collect is None and not z.requires_grad else torch.relu(z)
        else:
            a = z
        if hidden is not None and l < len(layers) - 1:
            a = hidden(a)
    return a


def forward(weights: Sequence[torch.Tensor], x: torch.Tensor, collect: list | None = None) -> torch.Tensor:
    """Logits of the ordinary network with unscaled weights W^l: z^l = W^l a^{l-1} / sqrt(N_{l-1}).

    weights: one (N_l, N_{l-1}) matrix per layer, x (B, N_0) -> (B, N_L); or S networks at once,
    (S, N_l, N_{l-1}) per layer (as :func:`sample_weights` draws them) -> (S, B, N_L).
    """
    return feedforward(x, [lambda a, w=w: _scaled(linear(a, w), w.shape[-1]) for w in weights], collect)


def _scaled(z: torch.Tensor, n_in: int) -> torch.Tensor:
    """z / sqrt(n_in); in place unless autograd records z (the same numbers either way)."""
    return z / math.sqrt(n_in) if z.requires_grad else z.div_(math.sqrt(n_in))


def field_terms(theta: torch.Tensor) -> tuple[torch.Tensor, ...]:
    """The weight terms of a mean-field layer, theta (3, n_out, n_in) = (pi, m, xi) stacked:
    (m, q, mu, pim, w, var), each (n_out, n_in), with q = 1 - pi, mu = q m, pim = pi m,
    w = xi + pi m^2 and var = q w (:func:`moments`' variance, in the order of operations training
    uses). They depend on the weights only: a pass over many blocks of inputs computes them once."""
    pi, m, xi = theta.unbind(0)
    q = 1 - pi
    pim = pi * m
    w = torch.addcmul(xi, pim, m)
    return m, q, q * m, pim, w, q * w


def mean_product(a: torch.Tensor, mu: torch.Tensor, s: float) -> torch.Tensor:
    """G = s a mu^T, (B, n_out), for a (B, n_in) and mu (n_out, n_in): the pre-activation of the mean
    network (eps = 0), and the mean of the noisy one."""
    return linear(a, mu).mul_(s)


def mean_field(a: torch.Tensor, mu: torch.Tensor, var: torch.Tensor, eps: torch.Tensor, s: float,
               G: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """One layer's noisy mean-field pre-activation, z = G + sqrt(Delta + 1e-20) eps: a (B, n_in), mu
    and var (n_out, n_in) from :func:`field_terms`, eps (B, n_out), s = 1/sqrt(n_in); ``G``:
    :func:`mean_product` of this ``a`` if already computed. Returns (z, a^2, r = eps / sqrt(Delta +
    1e-20)), the last two for gBP (:class:`MeanFieldLinear`, whose forward this is)."""
    a2 = a * a
    if G is None:
        G = mean_product(a, mu, s)
    var_z = linear(a2, var).mul_(s * s).add_(SQRT_EPS)
    r = torch.rsqrt(var_z).mul_(eps)
    return torch.addcmul(G, var_z, r), a2, r


@torch.no_grad()
def mean_field_forward(terms: Sequence[tuple], x: torch.Tensor, eps: Sequence[torch.Tensor] | None = None,
                       first: torch.Tensor | None = None) -> torch.Tensor:
    """Logits of a mean-field network whose weight terms were computed beforehand, without
    gradients: ``terms`` holds (mu, var, s) per layer (:meth:`mfcredit.MFNet.mean_field_terms`);
    with ``eps`` (one (B, N_l) tensor per layer) the noisy pass, with ``eps=None`` the eps = 0 pass
    (not fresh noise, as in ``MFNet.forward``); ``first``: :func:`mean_product` of the first layer
    for this x if already computed. x (B, N_0) -> (B, N_L). The same bits as ``MFNet.forward``
    (tests/test_layers.py), without recomputing the weight terms for every block of x: the
    evaluation's form."""
    def layer(l, mu, var, s):
        G = first if l == 0 else None
        if eps is not None:
            return lambda a: mean_field(a, mu, var, eps[l], s, G)[0]
        return (lambda a: G) if G is not None else (lambda a: mean_product(a, mu, s))
    return feedforward(x, [layer(l, *t) for l, t in enumerate(terms)])


class MeanFieldLinear(torch.autograd.Function):
    """z = G + sqrt(Delta) * eps with its gradient, gBP, written out in closed form.

    Shapes: a (B, n_in), theta (3, n_out, n_in), eps (B, n_out) -> z (B, n_out).
    With mu = (1 - pi) m, w = xi + pi m^2, var = (1 - pi) w and s = 1/sqrt(n_in):
        G = s a mu^T,   var_z = s^2 a^2 var^T + 1e-20 (= Delta + 1e-20),   r = eps / sqrt(var_z),
        z = G + var_z r.
    Backward, for the upstream error g = dL/dz:
        dL/dmu  = s g^T a                      dL/dvar = (s^2 / 2) (g r)^T a^2
        dL/dpi  = -m dL/dmu + (m mu - w) dL/dvar
        dL/dm   = (1 - pi) dL/dmu + 2 pi m (1 - pi) dL/dvar
        dL/dxi  = (1 - pi) dL/dvar
        dL/da   = s g mu + s^2 a ((g r) var)
    Training uses this backward. It equals autograd through :meth:`SpikeSlabLayer.field`
    (:func:`mfcredit.gbp.reference_gradients`, tests/test_gbp.py, gradcheck in float64) and the
    closed-form gBP written for reading (:func:`mfcredit.gbp.gbp_gradients`); by hand it needs about
    half the elementwise passes of autograd, which is what makes training fast.
    """

    @staticmethod
    def forward(ctx, a, theta, eps, s):
        m, q, mu, pim, w, var = field_terms(theta)
        z, a2, r = mean_field(a, mu, var, eps, s)
        ctx.save_for_backward(a, a2, m, q, mu, pim, w, var, r)
        ctx.s = s
        return z

    @staticmethod
    def backward(ctx, g):
        a, a2, m, q, mu, pim, w, var, r = ctx.saved_tensors
        s = ctx.s
        gG = g * s
        gV = torch.mul(g, r).mul_(0.5 * s * s)  # s^2 dL/dvar_z, since dz/dvar_z = r / 2
        g_mu = gG.mT @ a
        g_var = gV.mT @ a2
        grad = torch.empty((3,) + q.shape, dtype=q.dtype, device=q.device)
        g_pi, g_m, g_xi = grad.unbind(0)
        torch.mul(q, g_var, out=g_xi)
        torch.mul(q, g_mu, out=g_m).addcmul_(pim, g_xi, value=2.0)
        torch.mul(m, mu, out=g_pi).sub_(w).mul_(g_var).addcmul_(m, g_mu, value=-1.0)
        g_a = None
        if ctx.needs_input_grad[0]:
            g_a = torch.addcmul(gG @ mu, a, gV @ var, value=2.0)
        return g_a, grad, None, None


class PlainLinear(torch.autograd.Function):
    """z = s a W^T, the ordinary layer of the standard-BP baseline, with its backward written out
    next to :class:`MeanFieldLinear`'s. Shapes: a (B, n_in), w (n_out, n_in) -> z (B, n_out).
        dL/dW = s g^T a (computed as (a^T (s g))^T, the summation order this package has always used)
        dL/da = s g W
    """

    @staticmethod
    def forward(ctx, a, w, s):
        ctx.save_for_backward(a, w)
        ctx.s = s
        return s * linear(a, w)

    @staticmethod
    def backward(ctx, g):
        a, w = ctx.saved_tensors
        gs = g * ctx.s
        g_a = gs @ w if ctx.needs_input_grad[0] else None
        return g_a, (a.mT @ gs).mT, None


def _check(n_in: int, n_out: int) -> None:
    if n_in < 1 or n_out < 1:
        raise ValueError(f"layer widths must be positive, got n_in={n_in}, n_out={n_out}")


class SpikeSlabLayer(nn.Module):
    """A fully connected layer whose weights follow the spike-and-slab law.

    Parameter ``theta`` (3, n_out, n_in); views ``pi`` in [0, 1], ``m``, ``xi`` >= 0, each (n_out, n_in).
    """

    def __init__(self, n_in: int, n_out: int, dtype: torch.dtype = torch.float32, device=None):
        super().__init__()
        _check(n_in, n_out)
        self.n_in, self.n_out, self.scale = n_in, n_out, 1.0 / math.sqrt(n_in)  # s = 1/sqrt(n_in)
        self.theta = nn.Parameter(torch.zeros((3, n_out, n_in), dtype=dtype, device=device))

    pi = property(lambda self: self.theta[0], doc="Probability that a connection is absent, (n_out, n_in).")
    m = property(lambda self: self.theta[1], doc="Slab mean, (n_out, n_in).")
    xi = property(lambda self: self.theta[2], doc="Slab variance, (n_out, n_in).")

    def moments(self) -> tuple[torch.Tensor, torch.Tensor]:
        """(mu, var) of every weight, shape (n_out, n_in); see :func:`moments`."""
        return moments(self.pi, self.m, self.xi)

    def field(self, a: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Mean-field statistics of the pre-activation for input ``a`` of shape (B, n_in).

        G_i     = s sum_j mu_ij a_j
        Delta_i = s^2 sum_j var_ij a_j^2
        Returns (G, Delta), each of shape (B, n_out), through plain autograd.
        """
        mu, var = self.moments()
        s = self.scale
        return s * linear(a, mu), (s * s) * linear(a * a, var)

    def mean_product(self, a: torch.Tensor) -> torch.Tensor:
        """G = s a mu^T, shape (B, n_out): the pre-activation of the mean network (eps = 0)."""
        return mean_product(a, (1 - self.pi) * self.m, self.scale)

    def forward(self, a: torch.Tensor, eps: torch.Tensor | None = None) -> torch.Tensor:
        """Mean-field pre-activation z = G + sqrt(Delta) * eps, shape (B, n_out), by
        :class:`MeanFieldLinear`. ``eps`` has shape (B, n_out); ``None`` means eps = 0 (the mean network)."""
        if eps is None:  # the mean network: no need for Delta
            return self.mean_product(a)
        return MeanFieldLinear.apply(a, self.theta, eps, self.scale)

    def extra_repr(self) -> str:
        return f"n_in={self.n_in}, n_out={self.n_out}"


class PlainLayer(nn.Module):
    """An ordinary bias-free layer z = s W a, s = 1/sqrt(n_in): the standard-BP baseline.
    ``weight``: (n_out, n_in)."""

    def __init__(self, n_in: int, n_out: int, dtype: torch.dtype = torch.float32, device=None):
        super().__init__()
        _check(n_in, n_out)
        self.n_in, self.n_out, self.scale = n_in, n_out, 1.0 / math.sqrt(n_in)
        self.weight = nn.Parameter(torch.zeros((n_out, n_in), dtype=dtype, device=device))

    def forward(self, a: torch.Tensor) -> torch.Tensor:
        """z = s W a: a (B, n_in) -> (B, n_out), by :class:`PlainLinear`."""
        return PlainLinear.apply(a, self.weight, self.scale)

    def extra_repr(self) -> str:
        return f"n_in={self.n_in}, n_out={self.n_out}"
