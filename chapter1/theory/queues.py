"""Queues: Erlang C, M/M/c latency and its percentiles, Little's law, tandems of queues.

Rates are per second, times in seconds unless a name says ``_ms``.
"""

import math
from dataclasses import dataclass

import numpy as np

from ..core import validation as check

__all__ = [
    "MAX_SERVERS", "MAX_STAGES", "QueueStats", "TandemStats", "erlang_c", "littles_law", "mmc", "mmc_curve",
    "response_time_percentile", "response_time_percentiles", "response_time_survival", "tandem",
    "tandem_independent_percentile", "tandem_independent_percentiles", "tandem_response_percentile",
]

MAX_SERVERS = 10_000_000  # workers in one queue: far beyond any pool the course builds
MAX_STAGES = 1_000        # queues in a row


def erlang_c(servers, offered_load):
    """Probability that an arriving request has to wait in an M/M/c queue (Erlang C).

    ``offered_load`` is arrival rate / service rate of one server (in Erlangs).  At or above
    ``servers`` the queue never empties, so every request waits: the answer is 1.

    >>> round(erlang_c(1, 0.5), 6)   # M/M/1: P(wait) = utilisation
    0.5
    >>> round(erlang_c(2, 1.0), 6)
    0.333333
    """
    check.number("servers", servers, low=1, high=MAX_SERVERS, integer=True)
    check.number("offered_load", offered_load, low=0)
    if offered_load >= servers:
        return 1.0
    # Erlang B by its stable recurrence, then C from B.  Once B underflows it stays 0: nobody waits.
    b = 1.0
    for k in range(1, servers + 1):
        b = offered_load * b / (k + offered_load * b)
        if b < 1e-300:
            return 0.0
    rho = offered_load / servers
    return b / (1 - rho + rho * b)


@dataclass(frozen=True)
class QueueStats:
    """Steady-state figures of an M/M/c queue (times in seconds)."""

    utilization: float
    p_wait: float
    mean_wait_s: float
    mean_response_s: float
    mean_in_system: float

    @property
    def stable(self):
        return self.utilization < 1


def mmc(arrival_rate, service_rate, servers=1):
    """M/M/c queue: Poisson arrivals, ``servers`` workers with exponential service; ``servers=1`` is M/M/1.

    >>> q = mmc(arrival_rate=8, service_rate=10)      # M/M/1 at 80% load
    >>> round(q.mean_response_s, 6)                      # 1 / (mu - lambda)
    0.5
    >>> mmc(30, 10, servers=2).mean_response_s          # overloaded: never settles
    inf
    """
    check_queue(arrival_rate, service_rate, servers)
    load = arrival_rate / service_rate
    rho = load / servers
    if rho >= 1:
        return QueueStats(rho, 1.0, math.inf, math.inf, math.inf)
    p_wait = erlang_c(servers, load)
    wait = p_wait / (servers * service_rate - arrival_rate)
    response = wait + 1 / service_rate
    return QueueStats(rho, p_wait, wait, response, arrival_rate * response)


def response_time_survival(t, arrival_rate, service_rate, servers=1):
    """P(response time > t) in an M/M/c queue (FIFO).

    The wait is 0 with probability 1 - P(wait), else exponential with rate c*mu - lambda;
    the service that follows is exponential with rate mu.

    >>> round(response_time_survival(0.5, 8, 10), 4)   # M/M/1: exp(-(mu - lambda) t)
    0.3679
    """
    check.number("t", t, low=0)
    q = mmc(arrival_rate, service_rate, servers)
    return float(_survival(t, arrival_rate, service_rate, servers, q.p_wait)) if q.stable else 1.0


def _survival(t, arrival_rate, mu, servers, p_wait):
    """:func:`response_time_survival` of a stable queue whose P(wait) is known (Erlang C costs c steps).

    ``t`` may be a number or a numpy array of times; ``arrival_rate`` and ``p_wait`` may be arrays too.
    """
    theta = servers * mu - arrival_rate
    close = np.abs(theta - mu) < 1e-12 * mu  # theta = mu: the general form's limit
    if np.ndim(close) and close.any():  # many queues at once: each takes the branch it would take alone
        with np.errstate(divide="ignore", invalid="ignore"):
            after_wait = np.where(close, (1 + mu * t) * np.exp(-mu * t),
                                  (theta * np.exp(-mu * t) - mu * np.exp(-theta * t)) / (theta - mu))
    elif np.all(close):
        after_wait = (1 + mu * t) * np.exp(-mu * t)
    else:
        served = np.exp(-mu * t)  # P(service > t), computed once for both terms
        return (1 - p_wait) * served + p_wait * ((theta * served - mu * np.exp(-theta * t)) / (theta - mu))
    return (1 - p_wait) * np.exp(-mu * t) + p_wait * after_wait


def _survival_at(arrival_rate, mu, servers, p_wait):
    """``t -> _survival(t, arrival_rate, mu, servers, p_wait)`` with the terms that do not depend on ``t`` worked
    out once (the same figures, bit for bit: the same operations on the same numbers)."""
    theta = servers * mu - arrival_rate
    if np.any(np.abs(theta - mu) < 1e-12 * mu):  # theta = mu somewhere: the general form's limit, as it is
        return lambda t: _survival(t, arrival_rate, mu, servers, p_wait)
    keep, gap, fall = 1 - p_wait, theta - mu, -theta

    def survival(t):
        served = np.exp(-mu * t)
        return keep * served + p_wait * ((theta * served - mu * np.exp(fall * t)) / gap)
    return survival


def response_time_percentile(percent, arrival_rate, service_rate, servers=1, delay_s=0.0, delay_share=0.0):
    """Response time (s) below which ``percent`` % of requests finish in an M/M/c queue; inf if overloaded.

    ``delay_share`` of requests pay a fixed extra ``delay_s`` first (a DNS lookup, say).

    >>> round(response_time_percentile(50, 8, 10), 4)   # M/M/1: ln 2 / (mu - lambda)
    0.3466
    """
    check.number("percent", percent, low=0, high=100, low_open=True)
    check.number("delay_s", delay_s, low=0)
    check.number("delay_share", delay_share, low=0, high=1)
    queue = mmc(arrival_rate, service_rate, servers)
    if percent == 100 or not queue.stable:
        return math.inf
    at = _survival_at(arrival_rate, service_rate, servers, queue.p_wait)  # constants once: ~100 survivals follow

    def survival(t):
        delayed = at(t - delay_s) if t > delay_s else 1.0
        return (1 - delay_share) * at(t) + delay_share * delayed

    return _quantile(survival, percent, guess=delay_s + 1 / service_rate)


def response_time_percentiles(percent, arrival_rates, service_rate, servers=1, delay_s=0.0, delay_share=0.0):
    """:func:`response_time_percentile` at each of ``arrival_rates`` in one pass, bit for bit the same figures
    (its steps, array by array; :func:`mmc_curve` is quicker, to the last bit or two): a numpy array.

    >>> response_time_percentiles(50, [8.0, 12.0], 10).round(4).tolist()
    [0.3466, inf]
    """
    check.number("percent", percent, low=0, high=100, low_open=True)
    check.number("delay_s", delay_s, low=0)
    check.number("delay_share", delay_share, low=0, high=1)
    rates = check.number_list("arrival_rates", arrival_rates, low=0)
    queues = mmc_curve(rates, service_rate, servers)
    stable = queues["utilization"] < 1
    times = np.full(rates.shape, np.inf)
    if percent == 100 or not stable.any():
        return times
    at = _survival_at(rates[stable], service_rate, servers, queues["p_wait"][stable])

    def survival(t):
        delayed = np.where(t > delay_s, at(np.maximum(t - delay_s, 0.0)), 1.0)
        return (1 - delay_share) * at(t) + delay_share * delayed

    times[stable] = _quantiles(survival, percent, delay_s + 1 / service_rate, int(stable.sum()))
    return times


def _quantile(survival, percent, guess):
    """The t at which ``survival(t)`` falls to 1 - percent/100: bracket by doubling from ``guess``, then bisect."""
    target = 1 - percent / 100
    low, high = 0.0, guess
    while survival(high) > target:
        high *= 2
    for _ in range(60):
        mid = (low + high) / 2
        low, high = (mid, high) if survival(mid) > target else (low, mid)
    return (low + high) / 2


def mmc_curve(arrival_rates, service_rate, servers=1, percents=(), delay_s=0.0, delay_share=0.0):
    """:func:`mmc` and :func:`response_time_percentile` at many arrival rates in one vectorised pass.

    Returns a dict of numpy arrays, one value per rate: ``utilization``, ``p_wait``, ``mean_response_s``
    (with ``delay_share`` x ``delay_s`` added, as a resolver in front adds it) and ``p<q>_s`` for each
    of ``percents``; inf where the queue is overloaded.  The same figures as the functions point by
    point to the last bit or two (the same steps, array by array), several times faster for a curve.

    >>> curve = mmc_curve([5.0, 8.0, 12.0], service_rate=10, percents=(50,))
    >>> curve["mean_response_s"].round(4).tolist(), curve["p50_s"].round(4).tolist()
    ([0.2, 0.5, inf], [0.1386, 0.3466, inf])
    """
    rates = check.number_list("arrival_rates", arrival_rates, low=0)
    check_queue(1.0, service_rate, servers)
    check.number("delay_s", delay_s, low=0)
    check.number("delay_share", delay_share, low=0, high=1)
    for percent in percents:
        check.number("percent", percent, low=0, high=100, low_open=True)
    load = rates / service_rate
    rho = load / servers
    stable = rho < 1
    b = np.ones_like(load)  # Erlang B by its recurrence, as erlang_c; once B underflows it stays 0
    for k in range(1, servers + 1):
        carried = load * b
        b = carried / (k + carried)
        if k % 8 == 0 or k == servers:  # B falls from there on (B < 1e-300 needs k far above the load), so setting
            b[b < 1e-300] = 0.0          # it to 0 every 8th step leaves the same 0s as at each step
            if not b.any():
                break
    with np.errstate(divide="ignore", invalid="ignore"):
        p_wait = np.where(stable, b / (1 - rho + rho * b), 1.0)
        response = np.where(stable, p_wait / (servers * service_rate - rates) + 1 / service_rate, np.inf)
    curve = {"utilization": rho, "p_wait": p_wait, "mean_response_s": delay_share * delay_s + response}
    for percent in percents:
        times = np.full(rates.shape, np.inf)
        if percent < 100 and stable.any():
            times[stable] = _quantiles(_survival_of(rates[stable], service_rate, servers, p_wait[stable], delay_s,
                                                    delay_share), percent, delay_s + 1 / service_rate,
                                        int(stable.sum()))
        curve[f"p{percent:g}_s"] = times
    return curve


def _survival_of(rates, mu, servers, p_wait, delay_s, delay_share):
    """P(response > t) of stable M/M/c queues at ``rates`` as a function of an array ``t`` (one per queue).

    :func:`_survival` with its constants gathered: a e^(-mu t) - b e^(-theta t), theta = c mu - lambda.
    """
    theta = servers * mu - rates
    if (np.abs(theta - mu) < 1e-12 * mu).any():  # theta = mu: the other form of the same function
        def plain(t):
            return _survival(t, rates, mu, servers, p_wait)
    else:
        a, b = (1 - p_wait) + p_wait * theta / (theta - mu), p_wait * mu / (theta - mu)

        def plain(t):
            return a * np.exp(-mu * t) - b * np.exp(-theta * t)
    if not delay_share:
        return plain
    return lambda t: (1 - delay_share) * plain(t) + delay_share * np.where(
        t > delay_s, plain(np.maximum(t - delay_s, 0.0)), 1.0)


def _quantiles(survival, percent, guess, count):
    """:func:`_quantile` for ``count`` survival functions at once (``survival`` maps an array of times)."""
    target = 1 - percent / 100
    low, high = np.zeros(count), np.full(count, float(guess))
    while (above := survival(high) > target).any():
        high = np.where(above, high * 2, high)
    for _ in range(60):
        mid = (low + high) / 2
        above = survival(mid) > target
        low, high = np.where(above, mid, low), np.where(above, high, mid)
    return (low + high) / 2


def littles_law(arrival_rate, mean_time_s):
    """Little's law: mean number in a system = arrival rate x mean time spent in it.

    >>> littles_law(100, 0.05)
    5.0
    """
    check.number("arrival_rate", arrival_rate, low=0)
    check.number("mean_time_s", mean_time_s, low=0, allow_inf=True)
    return arrival_rate * mean_time_s


# -- tiers in a row: a tandem of M/M/c queues (the simplest Jackson network) --------------------

@dataclass(frozen=True)
class TandemStats:
    """Steady-state figures of queues in series; ``stages`` holds each stage's :class:`QueueStats`."""

    stages: tuple

    @property
    def mean_response_s(self):
        return sum(s.mean_response_s for s in self.stages)

    @property
    def mean_in_system(self):
        return sum(s.mean_in_system for s in self.stages)

    @property
    def utilization(self):
        """The busiest stage's utilisation: the whole chain is stable only while it is below 1."""
        return max(s.utilization for s in self.stages)

    @property
    def bottleneck(self):
        """Index of the busiest stage, the first to saturate as traffic grows (the earliest on a tie)."""
        return max(range(len(self.stages)), key=lambda k: (self.stages[k].utilization, -k))

    @property
    def stable(self):
        return self.utilization < 1


def tandem(arrival_rate, stages):
    """Queues in series: every request visits each stage in turn; ``stages`` lists (service_rate, servers).

    With Poisson arrivals and exponential service, what leaves a stable M/M/c queue is again a
    Poisson stream at the same rate (Burke's theorem), so each stage behaves as an M/M/c queue
    fed at ``arrival_rate`` (Jackson's theorem), and the mean response time is the sum of the
    stages' means.  This gives means only: the stages' times of one request are not independent
    in general, so their percentiles do not simply combine (see :func:`tandem_response_percentile`
    for the case that has a closed form).

    >>> t = tandem(8, [(10, 1), (20, 1)])
    >>> round(t.mean_response_s, 6)                     # 1 / (10 - 8) + 1 / (20 - 8)
    0.583333
    >>> t.bottleneck, round(t.utilization, 2)
    (0, 0.8)
    """
    check.number("arrival_rate", arrival_rate, low=0)
    stages = tuple(stages)
    if not stages:
        raise ValueError("stages must list at least one (service_rate, servers) pair; got none")
    return TandemStats(tuple(mmc(arrival_rate, rate, servers) for rate, servers in stages))


def tandem_response_percentile(percent, arrival_rate, service_rates, delay_s=0.0, delay_share=0.0):
    """Response time (s) below which ``percent`` % of requests finish in a chain of single-worker queues.

    In a chain of M/M/1 queues a request's times at the stages are independent, each exponential
    with rate mu_i - lambda (Reich, 1957), so the total has a known distribution: a sum of
    independent exponentials (hypoexponential), evaluated here exactly (a matrix exponential).  With
    several workers per stage that independence fails and no closed form is known: simulate.
    ``delay_share`` of requests pay a fixed ``delay_s`` first (a DNS lookup); inf if overloaded.

    >>> round(tandem_response_percentile(50, 8, [10]), 4)            # one stage: M/M/1
    0.3466
    >>> round(tandem_response_percentile(95, 8, [10, 10]), 4)         # Erlang-2 with rate 2
    2.3719
    """
    check.number("percent", percent, low=0, high=100, low_open=True)
    check.number("arrival_rate", arrival_rate, low=0)
    check.number("delay_s", delay_s, low=0)
    check.number("delay_share", delay_share, low=0, high=1)
    rates = [check.number("service_rate", mu, low=0, low_open=True) - arrival_rate for mu in service_rates]
    if not 1 <= len(rates) <= MAX_STAGES:
        raise ValueError(f"service_rates must list 1 to {MAX_STAGES:,} stages' service rates; got {len(rates):,}")
    if percent == 100 or min(rates) <= 0:
        return math.inf

    def survival(t):
        later = _chain_survival(t - delay_s, rates) if t > delay_s else 1.0
        return (1 - delay_share) * _chain_survival(t, rates) + delay_share * later

    return _quantile(survival, percent, guess=delay_s + sum(1 / r for r in rates))


def tandem_independent_percentile(percent, arrival_rate, stages, delay_s=0.0, delay_share=0.0, bins=4_096):
    """Response time (s) below which ``percent`` % of requests finish in queues in series *if* a request's
    times at the stages were independent: the stages' M/M/c response-time distributions convolved
    numerically; ``stages`` lists (service_rate, servers).  inf when a stage is overloaded.

    Exact with one worker per stage (there the times are independent: see
    :func:`tandem_response_percentile`); with several workers an approximation whose size the chapter
    measures.  ``delay_share`` of requests pay a fixed ``delay_s`` first (a DNS lookup).

    >>> exact = tandem_response_percentile(95, 20, [1000 / 30, 1000 / 20])
    >>> abs(tandem_independent_percentile(95, 20, [(1000 / 30, 1), (1000 / 20, 1)]) / exact - 1) < 0.002
    True
    """
    check.number("arrival_rate", arrival_rate, low=0)
    return float(tandem_independent_percentiles(percent, [arrival_rate], stages, delay_s, delay_share, bins)[0])


def tandem_independent_percentiles(percent, arrival_rates, stages, delay_s=0.0, delay_share=0.0, bins=4_096):
    """:func:`tandem_independent_percentile` at each of ``arrival_rates``, the convolutions of a few rates in each
    batch of FFTs (the same figures, bit for bit, quicker for a curve): a numpy array, inf where overloaded.

    >>> tandem_independent_percentiles(95, [20, 40], [(1000 / 30, 1), (1000 / 20, 1)]).round(4).tolist()
    [0.2683, inf]
    """
    check.number("percent", percent, low=0, high=100, low_open=True)
    check.number("delay_s", delay_s, low=0)
    check.number("delay_share", delay_share, low=0, high=1)
    check.number("bins", bins, low=1, high=2**20, integer=True)
    rates = check.number_list("arrival_rates", arrival_rates, low=0)
    queues = [(mu, servers, mmc_curve(rates, mu, servers)) for mu, servers in stages]
    if not queues:
        raise ValueError("stages must list at least one (service_rate, servers) pair; got none")
    stable = np.flatnonzero(np.logical_and.reduce([q["utilization"] < 1 for _, _, q in queues]))
    answer = np.full(rates.shape, np.inf)
    if percent == 100:  # exponential tails never end (the grid's last bin is no answer): as the exact forms
        return answer
    if stable.size:
        answer[stable] = _independent_quantiles(percent, rates[stable], delay_s, delay_share, bins,
                                                [(mu, servers, q["p_wait"][stable]) for mu, servers, q in queues])
    return answer


def _independent_quantiles(percent, rates, delay_s, delay_share, bins, queues):
    """:func:`tandem_independent_percentiles` of stable tandems; ``queues`` lists (service rate, servers,
    P(wait) at each rate).  One row of bins per arrival rate, the stages' rows convolved in one batch.

    The answer is the first bin where the cumulated mass reaches ``percent``; it lies in the first quarter of the
    grid (which reaches where every stage's survival is below 1e-9).  The sum's mass in a bin only involves
    the stages' masses in the bins before it, so the first quarter alone is convolved (a quarter of the work);
    a rate whose answer is not found there is worked out again over the whole grid."""
    answers = np.full(len(rates), np.nan)
    for head in (bins // 4, bins):
        left = np.flatnonzero(np.isnan(answers))
        if head < 1 or not left.size:
            continue
        rows = max(1, 16_384 // head)  # rates a batch: ~16k bins stay in a core's cache (all at once ran 2x slower)
        for start in range(0, left.size, rows):
            k = left[start:start + rows]
            answers[k] = _quantile_bins(percent, rates[k], delay_s, delay_share, bins, head, head == bins,
                                        [(mu, servers, p_wait[k]) for mu, servers, p_wait in queues])
    return answers


def _quantile_bins(percent, rates, delay_s, delay_share, bins, head, last, queues):
    """The quantiles from the first ``head`` bins of the grid (NaN where the answer lies beyond them, unless
    ``last``: then the bin found, as over the whole grid)."""
    # The grid reaches where every stage's survival is below 1e-9 (its slowest exponential rate).
    steps = [(sum(21 / min(mu, servers * mu - rate) for mu, servers, _ in queues) + delay_s) / bins for rate in rates]
    edges = np.arange(head + 1) * np.array(steps)[:, None]
    total = None
    for mu, servers, p_wait in queues:
        mass = -np.diff(_survival(edges, rates[:, None], mu, servers, p_wait[:, None]), axis=1)
        total = mass if total is None else _convolve(total, mass)
    answers = []
    for row, step in zip(total, steps):  # bin k ~ (k + 1/2) step
        shift = int(round(delay_s / step))
        mixed = np.zeros(row.size + shift)
        mixed[:row.size] += (1 - delay_share) * row
        mixed[shift:] += delay_share * row
        k = int(np.searchsorted(np.cumsum(mixed), percent / 100))
        answers.append((k + len(queues) / 2) * step if last or k < head else math.nan)
    return answers


def _convolve(a, b):
    """Full convolution of non-negative arrays (or of their rows, in one batch) by FFT (round-off clipped)."""
    size = a.shape[-1] + b.shape[-1] - 1
    length = 1 << (size - 1).bit_length()
    return np.clip(np.fft.irfft(np.fft.rfft(a, length) * np.fft.rfft(b, length), length)[..., :size], 0, None)


def _chain_survival(t, rates):
    """P(sum of independent exponentials with these rates > t): the chance a request is still in the chain.

    By uniformization: the chain of stages, watched at the ticks of a Poisson clock of rate
    L = max(rates), moves on from stage i at a tick with probability rates[i] / L.  So the answer is
    the sum over k of P(k ticks by t) x P(still in the chain after k moves); each move costs O(stages).
    """
    if t <= 0:
        return 1.0
    rates = np.asarray(rates, dtype=float)
    top = rates.max()
    moves, stay = rates / top, 1 - rates / top
    mean = top * t
    last = int(mean + 12 * math.sqrt(mean) + 30)  # the Poisson tail beyond it is below 1e-30
    if len(rates) ** 3 < 100 * last:  # many ticks (a fast stage before a slow one), few stages: the matrix is cheaper
        return _chain_survival_expm(t, rates)
    ticks = np.arange(last + 1)
    log_weights = -mean + ticks * math.log(mean) - np.array([math.lgamma(k + 1) for k in ticks])
    where = np.zeros(len(rates))
    where[0] = 1.0
    total = 0.0
    for k in range(last + 1):
        total += math.exp(log_weights[k]) * where.sum()
        where[1:], where[0] = where[1:] * stay[1:] + where[:-1] * moves[:-1], where[0] * stay[0]
    return min(1.0, max(0.0, total))


def _chain_survival_expm(t, rates):
    """The same probability from the chain's matrix exponential, exp(Qt) by scaling and squaring: its cost
    grows with log(max rate x t), not with it, so stiff chains (one stage far faster than another) stay quick.
    Q moves stage i on at rate r_i; the answer is the first row of exp(Qt) summed (still in the chain)."""
    q = (np.diag(-rates) + np.diag(rates[:-1], 1)) * t
    squarings = max(0, math.ceil(math.log2(max(np.abs(q).sum(axis=1).max(), 1e-300) / 0.5)))
    q /= 2.0 ** squarings
    term = total = np.eye(len(rates))
    for k in range(1, 20):  # ||q|| <= 1/2: the Taylor series' remainder is below 1e-22
        term = term @ q / k
        total = total + term
    for _ in range(squarings):
        total = total @ total
    return min(1.0, max(0.0, float(total[0].sum())))


# -- load balancing: n servers, one worker each, exponential service ---------------------------


def check_queue(arrival_rate, service_rate, servers):
    """Validate the three figures every queueing formula here takes."""
    check.number("arrival_rate", arrival_rate, low=0)
    check.number("service_rate", service_rate, low=0, low_open=True)
    check.number("servers", servers, low=1, high=MAX_SERVERS, integer=True)
