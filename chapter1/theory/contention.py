"""Contention inside one box: how many cores' worth of work N cores do (Amdahl's law, the USL).

A box of N cores does N times the work of one only if nothing is shared.  **Amdahl's law**: a share
``sigma`` of each request's work runs one at a time (a lock, a shared counter), so N cores do
N / (1 + sigma (N - 1)) cores' work, which never falls but flattens towards 1 / sigma.  Gunther's
**universal scalability law** (USL) adds a crosstalk term, ``kappa`` N (N - 1), for the cost of keeping
the cores' views coherent (cache lines bouncing between sockets, every core talking to every other):

    C(N) = N / (1 + sigma (N - 1) + kappa N (N - 1))

With kappa > 0 throughput peaks at N* = sqrt((1 - sigma) / kappa) cores and *falls* beyond: a bigger box
is slower.  kappa = 0 is Amdahl; sigma = kappa = 0 is perfect scaling.

>>> round(usl_capacity(64, 0.01, 0.0001), 1), round(usl_peak(0.01, 0.0001), 1)
(31.5, 99.5)
"""

import math

from ..core import validation as check

__all__ = ["amdahl_capacity", "usl_capacity", "usl_peak"]

MAX_CORES = 100_000


def amdahl_capacity(cores, sigma=0.0):
    """Cores' worth of work ``cores`` cores do when a share ``sigma`` of the work is serial: N / (1 + sigma (N - 1)).

    >>> amdahl_capacity(64), round(amdahl_capacity(64, 0.01), 1), round(amdahl_capacity(8, 0.01), 2)
    (64.0, 39.3, 7.48)
    """
    return usl_capacity(cores, sigma, 0.0)


def usl_capacity(cores, sigma=0.0, kappa=0.0):
    """Cores' worth of work ``cores`` cores do under the universal scalability law (serial share ``sigma``,
    crosstalk ``kappa``): N / (1 + sigma (N - 1) + kappa N (N - 1)).

    >>> [round(usl_capacity(n, 0.01, 0.0001), 1) for n in (64, 96, 128, 192)]   # peaks near 100 cores
    [31.5, 33.5, 32.9, 29.2]
    """
    check.number("cores", cores, low=1, high=MAX_CORES, integer=True)
    check.number("sigma", sigma, low=0, high=1)
    check.number("kappa", kappa, low=0, high=1)
    return cores / (1 + sigma * (cores - 1) + kappa * cores * (cores - 1))


def usl_peak(sigma, kappa):
    """Cores at which USL throughput peaks, N* = sqrt((1 - sigma) / kappa) (a real number; inf if kappa is 0).

    The whole-number peak is one of the two integers around N*.

    >>> round(usl_peak(0.01, 0.0001), 1), usl_peak(0.01, 0.0)
    (99.5, inf)
    """
    check.number("sigma", sigma, low=0, high=1)
    check.number("kappa", kappa, low=0, high=1)
    return math.inf if kappa == 0 else math.sqrt((1 - sigma) / kappa)
