"""The quantised entropy (mfcredit.entropy.quantised_entropy) against independent oracles: bin masses
by numerical integration of the slab's density (scipy.integrate.quad, not the normal CDF), the closed
limits, and the error of its asymptotic form against the exact sum."""
import math

import pytest
import torch
from scipy import integrate

from mfcredit import entropy

t = lambda *v: torch.tensor(v, dtype=torch.float64)  # noqa: E731


def oracle(pi, m, xi, dw):
    """-sum_k p_k ln p_k with every bin's slab mass integrated numerically over m +- 12 sd."""
    s = math.sqrt(xi)
    dens = lambda w: math.exp(-(w - m) ** 2 / (2 * xi)) / math.sqrt(2 * math.pi * xi)  # noqa: E731
    lo, hi = math.floor((m - 12 * s) / dw + 0.5), math.floor((m + 12 * s) / dw + 0.5)
    H, zero_seen = 0.0, False
    for k in range(lo, hi + 1):
        p = (1 - pi) * integrate.quad(dens, (k - 0.5) * dw, (k + 0.5) * dw, epsabs=1e-15, epsrel=1e-12)[0]
        if k == 0:
            p, zero_seen = p + pi, True
        H -= p * math.log(p) if p > 0 else 0.0
    if not zero_seen and pi > 0:
        H -= pi * math.log(pi)
    return H


CASES = [(pi, m, xi, dw) for pi in (0.0, 0.2, 0.7) for m in (0.0, 0.004, 0.3, -1.2) for xi in (1e-6, 1e-4, 2.5e-3, 0.04)
         for dw in (1e-3, 1e-2, 1e-1)]


@pytest.mark.parametrize("pi,m,xi,dw", [c for c in CASES if math.sqrt(c[2]) / c[3] <= 25])
def test_against_numerical_integration(pi, m, xi, dw):
    """Slabs from a twentieth of a bin to 25 bins wide, the spike inside or outside the slab's range:
    the exact sum below 10 bins per sd, the asymptotic form above (error bound: the next test)."""
    got = entropy.quantised_entropy(t(pi), t(m), t(xi), dw).item()
    assert got == pytest.approx(oracle(pi, m, xi, dw), abs=2e-6)


def test_asymptotic_form_error_is_bounded():
    """Where the slab spans more than ASYMPTOTIC_RATIO bins per sd, the asymptotic form replaces the
    exact sum; over slabs of 10 to 400 bins per sd, centres on and between bins, near the spike and far
    from it, and pi from 0 to 0.999, it is within 1e-6 nats of the exact sum (about 4e-4 without the
    dw^2 / (24 s^2) term, so the term is checked too)."""
    worst, worst_plain = 0.0, 0.0
    dw = 1e-2
    for ratio in (10.0, 10.5, 20.0, 57.3, 400.0):
        for off in (0.0, 0.3, 0.5, 3.0, 17.7, 1000.3):
            for pi in (0.0, 0.3, 0.9, 0.999):
                p, m, s = t(pi), t(off * dw), t(ratio * dw)
                exact = entropy._binned(p, m, s, dw).item()
                worst = max(worst, abs(entropy._asymptotic(p, m, s, dw).item() - exact))
                worst_plain = max(worst_plain, abs(entropy._asymptotic(p, m, s, dw).item()
                                                   - (1 - pi) * (dw / (ratio * dw)) ** 2 / 24 - exact))
    assert worst < 1e-6 and worst_plain > 1e-4


def test_limits():
    dw = 0.01
    H = entropy.quantised_entropy(t(1.0, 0.0, 0.4, 0.4, 0.0), t(0.5, 0.5, 0.5, 0.003, 0.5), t(0.3, 0.0, 0.0, 0.0, 0.0), dw)
    assert H[0] == 0  # pi = 1: always absent
    assert H[1] == 0  # a VIP: one value
    assert H[2].item() == pytest.approx(-0.4 * math.log(0.4) - 0.6 * math.log(0.6), abs=1e-15)  # two values
    assert H[3] == 0  # the slab's point falls in the spike's bin: one value
    wide = entropy.quantised_entropy(t(0.0), t(0.0), t(1.0), dw)
    assert wide.item() == pytest.approx(0.5 * math.log(2 * math.pi * math.e) - math.log(dw) + dw ** 2 / 24, abs=1e-9)


def test_shape_and_chunks():
    g = torch.Generator().manual_seed(0)
    pi = torch.rand(7, 9, generator=g, dtype=torch.float64)
    pi[0] = 0
    pi[1] = 1
    m = torch.randn(7, 9, generator=g, dtype=torch.float64)
    xi = 0.01 * torch.rand(7, 9, generator=g, dtype=torch.float64)
    xi[2] = 0
    a = entropy.quantised_entropy(pi, m, xi, 0.01)
    b = entropy.quantised_entropy(pi, m, xi, 0.01, chunk=5)
    assert a.shape == (7, 9) and torch.allclose(a, b, rtol=0, atol=1e-12) and (a >= 0).all()
