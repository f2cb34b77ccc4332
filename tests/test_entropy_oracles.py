"""The connection entropy's Monte Carlo estimator where spike and slab overlap, against numerical
integration (scipy.integrate.quad) of the quantity it estimates.

The regularised density of mfcredit/entropy.py: the spike is a box of height h = 0.5e4 on |w| < 1e-4,

    P(w) = pi h [|w| < 1e-4] + (1 - pi) N(w; m, xi).

With w_s = m + sqrt(xi) eps_s, eps_s ~ N(0, 1), the estimator returns

    S_hat = -pi ln(pi + (1 - pi) N(0; m, xi) + 1e-6) - (1 - pi) (1/n) sum_s ln P(w_s),

whose first term has no randomness and whose second is an unbiased Monte Carlo estimate of

    -(1 - pi) integral N(w; m, xi) ln P(w) dw.

So S_hat is unbiased for S = -pi ln(pi + (1 - pi) N(0; m, xi) + 1e-6) - (1 - pi) integral N ln P,
and that is what it is compared with here: the integral by quad, split at the box edges and around m
(where the integrand has its jumps and its peak), the first term in closed form. The tolerance is
5 Monte Carlo standard errors, (1 - pi) sqrt(Var[ln P(w)] / n) with the variance also integrated by
quad, plus quad's own error bound.

Note that S is NOT -integral P ln P of that density: its spike part would be
-pi E_{w ~ box}[ln P(w)] = -pi E[ln(pi h + (1 - pi) N(w; m, xi))], where the estimator has
-pi ln(pi + (1 - pi) N(0; m, xi) + 1e-6) (the spike counted as an atom of mass pi, next to the slab's
DENSITY at 0), while its slab part does see the box (density pi h). On the grid below the two differ
by 0.14 to 6.3 nats; S is not the entropy of the mixed law (atom pi plus slab) either, whose slab
part would not see the box at all. Where spike and slab are far apart (tests/test_analysis.py), S
tends to that mixed entropy, -pi ln pi - (1 - pi) ln(1 - pi) + (1 - pi) ln(2 pi e xi) / 2.
"""
import itertools
import math

import torch
from scipy import integrate

import mfcredit as mf
from mfcredit.entropy import BOX_HALF_WIDTH, BOX_HEIGHT

PIS = (0.2, 0.5, 0.8)
MS = (0.0, 5e-5, 1e-3)
XIS = (1e-7, 1e-6, 1e-4, 1e-2)  # all above the closed-form cut at xi <= 1e-8
N_MC = 200_000


def normal(w, m, xi):
    return math.exp(-(w - m) ** 2 / (2 * xi)) / math.sqrt(2 * math.pi * xi)


def density(w, pi, m, xi):
    """The regularised spike-and-slab density P(w)."""
    return pi * BOX_HEIGHT * (abs(w) < BOX_HALF_WIDTH) + (1 - pi) * normal(w, m, xi)


def slab_pieces(m, xi):
    """[m - 12 sd, m + 12 sd] (beyond it N < e^-72) cut at the box edges, at m and at m +- 1, 3 sd."""
    sd = math.sqrt(xi)
    lo, hi = m - 12 * sd, m + 12 * sd
    cuts = {lo, hi, m, *(m + k * sd for k in (-3, -1, 1, 3)), -BOX_HALF_WIDTH, BOX_HALF_WIDTH}
    pts = sorted(c for c in cuts if lo <= c <= hi)
    return list(zip(pts[:-1], pts[1:]))


def quad(f, pieces):
    total = err = 0.0
    for a, b in pieces:
        v, e = integrate.quad(f, a, b, epsabs=1e-14, epsrel=1e-12, limit=200)
        total, err = total + v, err + e
    return total, err


def oracle(pi, m, xi, n):
    """(S, tolerance): the quantity the estimator is unbiased for, and 5 Monte Carlo standard
    errors of an n-draw estimate plus the quadrature error."""
    log_p = lambda w: math.log(density(w, pi, m, xi))  # noqa: E731
    pieces = slab_pieces(m, xi)
    mean, err1 = quad(lambda w: normal(w, m, xi) * log_p(w), pieces)
    second, err2 = quad(lambda w: normal(w, m, xi) * log_p(w) ** 2, pieces)
    var = second - mean * mean  # per-draw variance of ln P(w_s)
    assert var >= 0
    spike = -pi * math.log(pi + (1 - pi) * normal(0.0, m, xi) + 1e-6)
    S = spike - (1 - pi) * mean
    se = (1 - pi) * math.sqrt(var / n)
    return S, 5 * se + (1 - pi) * (err1 + 10 * abs(mean) * 1e-12) + 1e-12


GRID = list(itertools.product(PIS, MS, XIS))


def test_estimator_against_quadrature_where_spike_and_slab_overlap():
    """Every (pi, m, xi) of the grid, 200,000 draws each, in one call (draws independent per connection)."""
    pi, m, xi = (torch.tensor(v, dtype=torch.float64) for v in zip(*GRID))
    got = mf.connection_entropy(pi, m, xi, n_mc=N_MC, generator=mf.generator(0), chunk=16)
    bad = []
    for (p, mm, v), S_hat in zip(GRID, got.tolist()):
        S, tol = oracle(p, mm, v, N_MC)
        if not abs(S_hat - S) <= tol:
            bad.append(f"pi={p} m={mm} xi={v}: estimate {S_hat:.6f}, integral {S:.6f}, allowed +-{tol:.2e}")
    assert not bad, "\n".join(bad)


def test_tolerance_is_tight_enough_to_see_the_box():
    """The test above can tell the estimator's density from a slightly different one: with the box
    half as wide (height doubled), the integral moves by over 5 times the tolerance at xi = 1e-7."""
    p, mm, v = 0.5, 0.0, 1e-7
    S, tol = oracle(p, mm, v, N_MC)

    def narrower(w):
        return p * 2 * BOX_HEIGHT * (abs(w) < BOX_HALF_WIDTH / 2) + (1 - p) * normal(w, mm, v)
    cut = sorted({a for ab in slab_pieces(mm, v) for a in ab} | {-BOX_HALF_WIDTH / 2, BOX_HALF_WIDTH / 2})
    other, _ = quad(lambda w: normal(w, mm, v) * math.log(narrower(w)), list(zip(cut[:-1], cut[1:])))
    S_other = -p * math.log(p + (1 - p) * normal(0.0, mm, v) + 1e-6) - (1 - p) * other
    assert abs(S_other - S) > 5 * tol
