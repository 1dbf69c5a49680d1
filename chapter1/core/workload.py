"""Workload: turns "daily active users" into requests per second, a read/write mix and key popularity."""

from dataclasses import dataclass

import numpy as np

from ..core import validation as check

SECONDS_PER_DAY = 86_400


@dataclass(frozen=True)
class Workload:
    """Traffic offered to an architecture at its daily peak.

    rate = users x requests_per_user / 86,400 x peak_factor  (requests per second)

    >>> round(Workload(users=1_000_000).rate, 1)
    463.0
    >>> Workload.from_rate(100).rate
    100.0
    """

    users: float = 1_000
    requests_per_user: float = 20
    peak_factor: float = 2.0
    read_ratio: float = 0.9
    keys: int = 10_000
    zipf_s: float = 1.0

    def __post_init__(self):
        check.number("users", self.users, low=0, low_open=True)
        check.number("requests_per_user", self.requests_per_user, low=0, low_open=True)
        check.number("peak_factor", self.peak_factor, low=1)
        check.number("read_ratio", self.read_ratio, low=0, high=1)
        check.number("keys", self.keys, low=1, integer=True)
        check.number("zipf_s", self.zipf_s, low=0)

    @classmethod
    def from_rate(cls, requests_per_s, **kwargs):
        """A workload with the given peak rate (requests per second); ``users`` is derived from it.

        >>> round(Workload.from_rate(50).users)
        108000
        """
        check.number("requests_per_s", requests_per_s, low=0, low_open=True)
        probe = cls(**kwargs)
        per_user = probe.requests_per_user * probe.peak_factor / SECONDS_PER_DAY
        return cls(users=requests_per_s / per_user, **kwargs)

    @property
    def rate(self):
        """Peak requests per second offered by all users together."""
        return self.users * self.per_user_rate

    @property
    def per_user_rate(self):
        """Peak requests per second offered by one user (sets how often a client's DNS cache is warm)."""
        return self.requests_per_user * self.peak_factor / SECONDS_PER_DAY

    def key_popularity(self):
        """Probability of each key 0..keys-1 under Zipf(s): key k is asked for in proportion to 1/(k+1)^s."""
        # Float powers: with an integer zipf_s, integer powers overflow int64 (10,000 ** 5) and give NaN.
        weights = 1.0 / np.arange(1, self.keys + 1, dtype=float) ** self.zipf_s
        return weights / weights.sum()

    def sample_keys(self, rng, n):
        """Draw ``n`` keys (integers, 0 = most popular) from the Zipf popularity."""
        cdf = np.cumsum(self.key_popularity())
        return np.minimum(np.searchsorted(cdf, rng.random(n), side="right"), self.keys - 1)

    def sample_writes(self, rng, n):
        """Draw ``n`` booleans, True for a write, with probability 1 - read_ratio."""
        return rng.random(n) >= self.read_ratio
