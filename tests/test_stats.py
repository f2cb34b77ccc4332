"""Statistics over seeds (mf.stats) against hand computations."""
import math

import numpy as np

import pytest

import mfcredit as mf


def test_paired_test_by_hand():
    """a - b = (1, 2, 3, 6): mean 3, sample sd sqrt(14/3), se sd / 2, t = mean / se with 3 degrees of
    freedom; the one-sided p of Student's t with 3 degrees of freedom has the closed form
    1/2 - (1/pi) [atan(t / sqrt 3) + sqrt(3) t / (3 + t^2)]."""
    a, b = [3.0, 5.0, 4.0, 10.0], [2.0, 3.0, 1.0, 4.0]
    got = mf.stats.paired(a, b)
    sd = math.sqrt(((1 - 3) ** 2 + (2 - 3) ** 2 + 0 + (6 - 3) ** 2) / 3)
    se = sd / 2
    t = 3 / se
    p = 0.5 - (math.atan(t / math.sqrt(3)) + math.sqrt(3) * t / (3 + t * t)) / math.pi
    assert got["diff"] == [1.0, 2.0, 3.0, 6.0] and got["df"] == 3 and got["n"] == 4
    assert got["mean"] == 3.0 and got["se"] == pytest.approx(se, rel=1e-14) and got["t"] == pytest.approx(t, rel=1e-12)
    assert got["p"] == pytest.approx(p, rel=1e-9)
    assert mf.stats.paired(a, b, "two-sided")["p"] == pytest.approx(2 * p, rel=1e-9)
    assert mf.stats.paired(a, b, "less")["p"] == pytest.approx(1 - p, rel=1e-9)
    assert mf.stats.paired(b, a)["t"] == pytest.approx(-t)


def test_paired_edge_cases():
    same = mf.stats.paired([1.0, 2.0, 3.0], [0.5, 1.5, 2.5])  # every difference 0.5: no spread
    assert same["mean"] == 0.5 and same["se"] == 0 and math.isnan(same["t"]) and math.isnan(same["p"])
    with pytest.raises(ValueError, match="at least 2"):
        mf.stats.paired([1.0], [2.0])
    with pytest.raises(ValueError, match="equally long"):
        mf.stats.paired([1.0, 2.0], [2.0])
    with pytest.raises(ValueError, match="alternative"):
        mf.stats.paired([1.0, 2.0], [2.0, 1.0], "bigger")


def test_mean_sd_by_hand():
    assert mf.stats.mean_sd([2.0, 4.0, 9.0]) == (5.0, pytest.approx(math.sqrt(13.0)))
    assert mf.stats.mean_sd([7.0]) == (7.0, 0.0)


def test_plus_minus_gives_the_spread_two_significant_digits():
    assert mf.stats.plus_minus(0.01834, 0.00731) == "+0.0183 ± 0.0073"
    assert mf.stats.plus_minus(-0.04031, 0.00269) == "-0.0403 ± 0.0027"
    assert mf.stats.plus_minus(0.0041, 0.00041) == "+0.00410 ± 0.00041"
    assert mf.stats.plus_minus(1.5, 0.25) == "+1.500 ± 0.250"  # never fewer than 3 decimals
    assert mf.stats.plus_minus(0.2, 0.0) == "+0.200 ± 0.000" and mf.stats.plus_minus(2.0, 0.3, least=1) == "+2.00 ± 0.30"
    rng = np.random.default_rng(0)
    for spread in 10.0 ** rng.uniform(-7, -1, 200):  # the printed spread: two significant digits
        digits = mf.stats.plus_minus(0.0, spread).split(" ± ")[1].replace(".", "").lstrip("0")
        assert len(digits) == 2 or digits in ("100", "1000"), (spread, digits)  # or rounded up to 0.10, 0.010, ...
