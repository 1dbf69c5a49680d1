"""The fullest server when clients are hashed at random (balls into bins), against sums computed independently.

max_load's documented model: each bin's count is Binomial(m, 1/n), the n counts treated as independent, so
E[max] = sum over k >= 0 of 1 - F(k)^n.  Here that sum is taken over every k in exact fractions (small
cases) or from the binomial's upper tail (the largest inputs), with none of the function's window.
"""

import math
from fractions import Fraction

import numpy as np
import pytest

from chapter1 import analytic


def independent_max(m, n):
    """sum over k = 0..m of 1 - F(k)^n, F the Binomial(m, 1/n) distribution function, in exact fractions."""
    p, cdf, total = Fraction(1, n), Fraction(0), Fraction(0)
    for k in range(m + 1):
        cdf += math.comb(m, k) * p**k * (1 - p) ** (m - k)
        total += 1 - cdf**n
    return float(total)


def independent_max_from_the_tail(m, n):
    """The same sum written 1 - (1 - S(k))^n with S(k) = P(count > k) added up from the top, where S is tiny;
    the counts more than 40 sd below the mean have S = 1 to double precision and add 1 each."""
    mean, sd = m / n, math.sqrt(m / n)
    low = max(0, int(mean - 40 * sd - 40))
    ks = np.arange(low, min(m, int(mean + 40 * sd + 40)) + 1)
    step = np.log((m - ks[:-1]) / (ks[:-1] + 1)) + math.log(1 / (n - 1))     # pmf(k + 1) / pmf(k)
    first = math.lgamma(m + 1) - math.lgamma(low + 1) - math.lgamma(m - low + 1) + low * math.log(1 / n) + (
        m - low) * math.log1p(-1 / n)
    log_pmf = first + np.concatenate(([0.0], np.cumsum(step)))
    above = np.append(np.cumsum(np.exp(log_pmf)[::-1])[::-1][1:], 0.0)   # P(count > k)
    with np.errstate(divide="ignore"):
        return low + float(np.sum(-np.expm1(n * np.log1p(-np.minimum(above, 1.0)))))


@pytest.mark.parametrize("m, n", [(2, 2), (3, 2), (10, 4), (2, 1_000), (100, 2), (400, 2), (200, 8)])
def test_max_load_is_the_documented_sum_over_every_count(m, n):
    """Few balls a bin (10 in 4: counts from 0 to 10 all matter) and many (400 in 2: the counts spread
    +-30 around 200); the function's window of counts must leave out nothing that moves the sum."""
    assert analytic.max_load(m, n) == pytest.approx(independent_max(m, n), rel=1e-9)


def test_two_balls_in_two_bins_by_hand():
    """F(0) = 1/4, F(1) = 3/4: (1 - 1/16) + (1 - 9/16) = 1.375; the true mean maximum is 1.5 (both in one bin
    half the time), so the model understates it, as the docstring says."""
    assert analytic.max_load(2, 2) == pytest.approx(1.375, rel=1e-12)


@pytest.mark.parametrize("n", [2, 4, 1_000, 1_000_000])
def test_one_client_is_always_the_fullest_servers_one_client(n):
    assert analytic.max_load(1, n) == 1.0
    assert analytic.max_load(0, n) == 0.0


@pytest.mark.parametrize("m, n", [(10**8, 10**6), (10**7, 10**6), (10**8, 1_000)])
def test_max_load_at_the_largest_inputs_stays_within_one_percent(m, n):
    """At 10^8 clients on 10^6 servers the counts' distribution function is read within about 1e-7 of 1 and
    raised to the millionth power; the sum from the tail gives 152.3 and max_load must stay within 1 %
    (measured: 151.6, 0.4 % low; 28.97 against 28.76 for 10^7 clients, 0.7 % high; 101,026.05 against
    101,026.12 for 1,000 servers)."""
    assert analytic.max_load(m, n) == pytest.approx(independent_max_from_the_tail(m, n), rel=1e-2)
