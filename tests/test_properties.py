"""Every public theory function and component constructor over its documented ranges (hypothesis).

One table gives each parameter name its range; every public function is driven from its signature.  A
call with values in range must give a finite answer in the range its kind promises (a probability in
[0, 1], a time or a count >= 0) or a ValueError/TypeError naming one of its parameters (some limits tie
two parameters together, e.g. k <= n); a call with one value out of range must raise a ValueError or
TypeError that names that parameter.  Every call answers within ``SECONDS`` (a hang guard).  A new
function whose parameters are all in the table is covered without a new line here.
"""

import functools
import inspect
import math
import re
from dataclasses import dataclass, fields, is_dataclass

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from test_robustness import within  # the hang guard

import chapter1 as c
import chapter1.theory as theory
from chapter1.core.component import KINDS
from chapter1.core.modules import public
from chapter1.theory.caching import POLICIES_WITH_THEORY

SECONDS = 2
# a failure is reported as first drawn: shrinking a draw of many values repeats the calls (10 s more CPU for
# one wrong name), and under `make mutate` a killed mutant then ran out of time and counted as a timeout
NO_SHRINKING = (Phase.explicit, Phase.reuse, Phase.generate)
INF = math.inf


@dataclass(frozen=True)
class Number:
    """A number in [low, high] (``low_open``: low itself excluded); draws stop at ``draw_high``.

    ``high`` is set only where every function taking this name shares it, so a value above it is out of
    range for all of them; ``draw_high`` keeps the draws quick (the largest accepted sizes are timed in
    tests/test_robustness.py).
    """

    low: float = 0
    high: float = INF
    integer: bool = False
    low_open: bool = False
    draw_high: float = 1e6
    inf_ok: bool = False

    def valid(self):
        top = min(self.high, self.draw_high)
        if self.integer:
            return st.integers(int(self.low) + self.low_open, int(top))
        # no subnormal sizes such as 5e-324 s (they overflow the formulas; nobody types them)
        floats = st.floats(self.low + 1e-6, top, allow_nan=False)
        if not self.low_open:
            floats = st.just(float(self.low)) | floats
        whole = st.integers(math.ceil(self.low) + (self.low_open and self.low == int(self.low)), int(top))
        return st.one_of(floats, whole) if math.floor(top) >= self.low + 1 else floats

    def invalid(self):
        return st.one_of(self.invalids())

    def invalids(self):
        """One strategy per way of being out of range."""
        bad = [st.just(math.nan), st.just("1"), st.just([1])]
        if self.integer:
            bad += [st.integers(-10**6, int(self.low) - (not self.low_open)), st.just(self.low + 1.5)]
            if self.high < INF:
                bad.append(st.integers(int(self.high) + 1, int(self.high) + 10**6))
        else:
            bad.append(st.floats(-1e9, self.low, exclude_max=not self.low_open, allow_nan=False))
            if self.high < INF:
                bad.append(st.floats(self.high, self.high + 1e9, exclude_min=True))
        if not self.inf_ok:
            bad.append(st.just(INF))
        return bad


@dataclass(frozen=True)
class Choice:
    options: tuple

    def valid(self):
        return st.sampled_from(self.options)

    def invalids(self):
        return [st.just("no-such-option"), st.just(3)]


@dataclass(frozen=True)
class Items:
    """A list of ``item`` values (``size`` long): rates per stage, shares, times, ..."""

    item: object
    size: tuple = (1, 8)
    sort: bool = False

    def valid(self):
        values = st.lists(self.item.valid(), min_size=self.size[0], max_size=self.size[1])
        return values.map(sorted) if self.sort else values

    def invalids(self):
        good = self.item.valid()
        short = [st.lists(good, max_size=self.size[0] - 1)] if self.size[0] else []
        return short + [st.tuples(good, bad).map(list) for bad in self.item.invalids()]


@dataclass(frozen=True)
class Drawn:
    """Any other value: ``valid`` and ``invalid`` strategies given directly."""

    good: object
    bad: object = st.just("nonsense")
    keys: tuple = ()  # a dict's keys, which an error may name instead

    def valid(self):
        return self.good

    def invalids(self):
        return [self.bad]


def _popularity():
    keys, s = st.integers(1, 5_000), st.floats(0, 3)
    return st.builds(lambda k, z: np.arange(1, k + 1, dtype=float) ** -z / np.sum(np.arange(1, k + 1.0) ** -z), keys, s)


PROBABILITY = Number(0, 1)
RATE = Number(0, draw_high=1e5)                       # per second
POSITIVE_RATE = Number(0, low_open=True, draw_high=1e5)
DURATION = Number(0, draw_high=1e5)                   # seconds or milliseconds
COUNT = Number(1, integer=True, draw_high=200)
SERVICE_RATE = Number(0, low_open=True, draw_high=1e4)
# parameter name -> its range, shared by every function and constructor that takes it
PARAMETERS = {
    **dict.fromkeys(["arrival_rate", "rate", "read_rate", "write_rate", "peak_rate", "load", "offered_load",
                     "gigabytes", "failures_per_year", "cdn_usd_per_gb", "origin_usd_per_gb", "utilisation"],
                    RATE),
    **dict.fromkeys(["service_rate", "capacity", "primary_capacity", "requests_per_user"], POSITIVE_RATE),
    **dict.fromkeys(["hit_ratio", "availability", "producer", "broker", "consumers", "write_share", "read_ratio",
                     "static_share", "delay_share", "share", "celebrity_share", "fanout", "cdf"], PROBABILITY),
    "ttl_s": Number(0, draw_high=86_400),
    **dict.fromkeys(["after_s", "outage_s", "delay_s", "t", "lag_ms", "mean_ms", "fail_at_s", "in_site_s",
                     "repair_s", "invalidation_s", "backlog", "queue_room", "lookup_ms", "replication_lag_ms",
                     "burst_at_s", "asset_kb", "provision_s"], DURATION),
    **dict.fromkeys(["hit_ms", "publish_ms", "persist_ms"], Number(0, 60_000)),
    **dict.fromkeys(["local_ms", "remote_ms"], Number(0, 10_000)),
    "edge_km": Number(0, 20_000), "fall": Number(1, 100, integer=True),
    "failover_s": Number(0, draw_high=86_400), "replay_cost": Number(0, draw_high=100),
    **dict.fromkeys(["servers", "workers", "n", "bins", "clients", "servers_before", "servers_after", "vnodes",
                     "keys", "shards", "edges", "eject_after", "split_celebrity", "cores"], COUNT),
    **dict.fromkeys(["zipf_s", "s"], Number(0, draw_high=4)),
    **dict.fromkeys(["sigma", "kappa"], PROBABILITY),
    **dict.fromkeys(["within_s", "interval_s", "health_check_interval_s", "timeout_ms", "service_ms",
                     "service_time_ms", "session_ttl_s", "check_every_s", "target_backlog_per_worker", "users"],
                    Number(0, low_open=True, draw_high=1e4)),
    "percent": Number(0, 100, low_open=True), "q": Number(0, 1, low_open=True),
    "target": Number(0, 1, low_open=True),
    "k": Number(1, integer=True, draw_high=50), "lost": Number(0, integer=True, draw_high=5),
    "replicas": Number(0, integer=True, draw_high=50), "balls": Number(0, integer=True, draw_high=10**6),
    "datacentres": Number(2, integer=True, draw_high=10), "d": Number(1, integer=True, draw_high=10),
    "round_trips": Number(0, 20, integer=True), "fill_round_trips": Number(0, 20, integer=True),
    "km": Number(0, 40_000), "mean_time_s": Number(0, draw_high=1e5, inf_ok=True),
    "recover_s": Number(0, draw_high=1e5, inf_ok=True), "peak_factor": Number(1, draw_high=100),
    "queue_limit": Number(0, integer=True, draw_high=10**6), "burst_messages": Number(0, integer=True, draw_high=1_000),
    "cache_size": COUNT,
    "policy": Choice(POLICIES_WITH_THEORY),
    "mode": Choice(theory.SITE_MODES), "scheme": Choice(theory.SCHEMES), "event": Choice(("death", "join")),
    "on_deploy": Choice(theory.ON_DEPLOY),
    "availabilities": Items(PROBABILITY, (1, 5)), "service_rates": Items(SERVICE_RATE, (1, 30)),
    "rates": Items(RATE, (0, 8)), "arrival_rates": Items(RATE, (0, 8)), "write_rates": Items(RATE, (0, 5)),
    "times": Items(DURATION, (0, 20), sort=True), "ttls": Items(Number(0, draw_high=86_400), (0, 8)),
    "stages": Drawn(st.lists(st.tuples(SERVICE_RATE.valid(), COUNT.valid()), min_size=1, max_size=6),
                    st.sampled_from([[], [(-1.0, 1)], [(1.0, 0)]]), ("service_rate", "servers")),
    "popularity": Drawn(_popularity(), st.sampled_from([[-0.5, 1.5], [], "keys"])),
    "key_popularity": Drawn(_popularity(), st.sampled_from([[-0.5, 1.5], [0.7, 0.7], [], "keys"])),
    "prices": Drawn(st.none() | st.fixed_dictionaries({}, optional={"cdn_usd_per_gb": RATE.valid(),
                                                                       "origin_usd_per_gb": RATE.valid()}),
                    st.sampled_from([{"bytes": 1.0}, {"cdn_usd_per_gb": -1.0}, "cheap"]), tuple(theory.PRICES)),
    "users": Number(0, low_open=True, draw_high=1e7),
    "workload": Drawn(st.builds(c.Workload, users=Number(0, low_open=True, draw_high=1e7).valid(),
                                keys=Number(1, integer=True, draw_high=20_000).valid())),
    "architecture": Drawn(st.builds(lambda w, ms: c.single_server(workers=w, service_time_ms=ms),
                                    st.integers(1, 32), st.floats(1, 500)) | st.just(c.web_and_database())),
    "assets": Drawn(st.lists(st.fixed_dictionaries({"asset": st.text(min_size=1, max_size=5),
                                                    "size_kb": RATE.valid(), "requests_per_day": RATE.valid()}),
                             min_size=1, max_size=5),
                    st.sampled_from([[{"asset": "a", "size_kb": -1, "requests_per_day": 1}], [{"asset": "a"}]])),
}
# limits that tie two parameters (k <= n, ...): values drawn in range may meet them, and the error names these
TIED = {
    "k_of_n_availability": ("k",), "headroom_limit": ("lost",), "survivor_utilisation": ("lost",),
    "che_time": ("cache_size",), "hit_ratio_from_popularity": ("cache_size",), "cache_hit_ratio": ("cache_size",),
    "failover_failures": ("recover_s",), "vnodes_for_spread": ("target",),
}
# where one name has other ranges in one place: (function, parameter) -> range
OVERRIDES = {
    ("load_balancing", "policy"): Choice(tuple(theory.LOAD_BALANCING)),
    ("che_time", "cache_size"): Number(0, low_open=True, draw_high=200),  # an effective size may be fractional
    ("che_time", "policy"): Choice(("lru", "fifo", "random")),
    ("k_of_n_availability", "k"): Number(0, integer=True, draw_high=50),
    ("vnodes_for_spread", "shards"): Number(2, integer=True, draw_high=200),
    ("backlog_when_help_arrives", "arrival_rate"): POSITIVE_RATE,
    ("LoadBalancer", "policy"): Choice(("round_robin", "random", "least_connections", "power_of_two")),
    ("ReplicaSet", "mode"): Choice(("async", "sync")),
    ("Cache", "capacity"): Number(1, integer=True, draw_high=10_000),
    ("Cache", "ttl_s"): Number(0, low_open=True, draw_high=1e5),
    ("fanout_cdf", "cdf"): Drawn(PROBABILITY.valid(), st.sampled_from([1.5, -0.1, math.nan, "0.5"])),
    ("fetch_ms", "round_trips"): Number(0, 20),  # a mean over connections may be fractional
    ("predict_curve", "users"): Items(Number(0, low_open=True, draw_high=1e7), (0, 5)),
    ("overload_fluid_curve", "after_s"): Items(Number(0, draw_high=1e5), (0, 5)),
}
# the answer each function promises: "probability" in [0, 1]; "time" >= 0 and inf where the text says
# the queue never drains; anything else >= 0 and finite ("signed": any finite number)
OUTPUTS = {
    **dict.fromkeys(["availability_parallel", "availability_series", "k_of_n_availability", "ttl_hit_ratio",
                     "ttl_stale_ratio", "zipf_popularity", "hit_ratio_from_popularity", "cache_hit_ratio",
                     "edge_hit_ratio", "break_even_hit_ratio", "geo_hit_ratio", "headroom_limit", "idle_share",
                     "keys_moved", "nat_share", "sessions_lost_share", "decoupled_availability",
                     "synchronous_availability", "erlang_c", "response_time_survival", "stale_read_probability",
                     "stale_reads", "write_availability", "read_availability", "fanout_cdf", "top_key_share"],
                    "probability"),
    **dict.fromkeys(["che_time", "stale_window_s", "drain_time", "mean_backlog", "mean_queue_wait_s", "littles_law",
                     "response_time_percentile", "response_time_percentiles", "tandem_independent_percentile",
                     "tandem_independent_percentiles", "tandem_response_percentile",
                     "read_time_ms", "max_rate", "site_detected_at", "failover_failures", "usl_peak",
                     "break_even_hit_ratio", "backlog_when_help_arrives", "fanout_quantile_ms", "mmc_curve"], "time"),
    # None where no closed form applies; inf latencies when overloaded, NaN percentiles for multi-worker tandems
    **dict.fromkeys(["predict", "predict_curve"], "prediction"),
}
# parameters left at their defaults, with the reason
LEFT_AT_DEFAULT = {
    "shares": "one share per edge: tied to edges; test_cdn.py draws them",
    "outage": "an (start_s, end_s) pair; test_messaging.py walks it",
    "burst": "an (at_s, messages) pair; test_messaging.py walks it",
    "percents": "a tuple of percents; predict's own tests vary it",
    "step_at_s": "a time within the run; test_autoscaling.py walks it",
}
# functions not driven here, with the reason
NOT_DRIVEN = {
    "autoscaled_backlog": "takes a stateful ScalingRule; tests/test_autoscaling.py covers its ranges",
}


def _functions():
    found = {}
    for module in theory.MODULES:
        for name in public(module):
            value = getattr(module, name)
            # (under `make mutate`, mutmut's copies of each function sit beside it: not public names)
            if inspect.isfunction(value) and name not in NOT_DRIVEN and "mutmut" not in name:
                found[name] = value
    return found


FUNCTIONS = _functions()
CONSTRUCTORS = {"Workload": c.Workload, **{name: kind.cls for name, kind in sorted(KINDS.items())}}
# the parts a constructor cannot do without, given as the smallest working example
_SERVERS = {"servers": (c.Server(name="web-1"),)}
PARTS = {"LoadBalancer": _SERVERS, "DNSRoundRobin": _SERVERS,
         "DataCentre": {"stack": (c.LoadBalancer(**_SERVERS),)},
         "GeoDNS": {"datacentres": (c.DataCentre(name="dc-1", stack=(c.LoadBalancer(**_SERVERS),)),)}}


def _drawn_parameters(function):
    """(parameter, spec) for each parameter drawn: the required ones and the optional ones in the table."""
    out = []
    for p in inspect.signature(function).parameters.values():
        if p.name in LEFT_AT_DEFAULT or p.name == "name" or _holds_parts(p):
            continue
        if p.name in getattr(function, "keywords", {}):
            continue
        owner = getattr(function, "func", function).__name__  # a constructor with its parts is a partial
        if (owner, p.name) in OVERRIDES:
            out.append((p, OVERRIDES[owner, p.name]))
        elif p.name in PARAMETERS:
            out.append((p, PARAMETERS[p.name]))
        elif p.default is inspect.Parameter.empty and p.kind is not p.VAR_KEYWORD:
            pytest.fail(f"{function}: add a range for parameter {p.name!r} to PARAMETERS")
    return out


def _holds_parts(p):
    """A constructor's field of another kind (servers=(Server(), ...), consumers=Consumers(...)): not a number."""
    annotation = "" if p.annotation is inspect.Parameter.empty else str(p.annotation)
    return re.search(r"tuple|Component|Database|bool", annotation)


def _call(function, drawn):
    args, kwargs = [], {}
    for p, value in drawn:
        if p.kind is p.VAR_POSITIONAL:
            args.extend(value)
        elif p.kind is p.KEYWORD_ONLY:
            kwargs[p.name] = value
        else:
            kwargs[p.name] = value
    if args:  # *availabilities come first; nothing else is positional then
        return within(SECONDS, lambda: function(*args, **kwargs))
    return within(SECONDS, lambda: function(**kwargs))


def _numbers(answer):
    """Every number inside an answer: scalars, arrays, tuples, dicts, dataclasses, DataFrames."""
    if isinstance(answer, (bool, np.bool_, str)):
        return []
    if isinstance(answer, (int, float, np.integer, np.floating)):
        return [float(answer)]
    if isinstance(answer, np.ndarray):
        return answer.astype(float).ravel().tolist() if answer.dtype.kind in "iuf" else []
    if isinstance(answer, pd.DataFrame):
        return _numbers(answer.select_dtypes("number").to_numpy(dtype=float))
    if isinstance(answer, pd.Series):
        return _numbers(answer.to_numpy()) if answer.dtype.kind in "iuf" else []
    if is_dataclass(answer):
        return [x for f in fields(answer) for x in _numbers(getattr(answer, f.name))]
    if isinstance(answer, dict):
        return [x for v in answer.values() for x in _numbers(v)]
    if isinstance(answer, (list, tuple)):
        return [x for v in answer for x in _numbers(v)]
    return []


def check_answer(name, answer):
    kind = OUTPUTS.get(name, "count")
    if isinstance(answer, theory.QueueStats) or isinstance(answer, theory.TandemStats):
        queues = answer.stages if isinstance(answer, theory.TandemStats) else (answer,)
        for q in queues:
            assert 0 <= q.p_wait <= 1 and q.utilization >= 0, q
            for value in (q.mean_wait_s, q.mean_response_s, q.mean_in_system):
                assert value >= 0 and (math.isfinite(value) or not q.stable), q
        return
    if kind == "prediction":
        for one in answer if isinstance(answer, list) else [answer]:
            assert one is None or (0 <= one["utilization"] < INF and all(
                v >= 0 or math.isnan(v) for k, v in one.items() if k.endswith("_ms"))), f"{name} gave {one!r}"
        return
    numbers = _numbers(answer)
    empty = isinstance(answer, (np.ndarray, list, tuple, dict))  # nothing asked, nothing answered
    assert numbers or empty or isinstance(answer, (bool, str, pd.DataFrame)), f"{name} gave {answer!r}"
    for x in numbers:
        assert not math.isnan(x), f"{name} gave NaN: {answer!r}"
        if kind == "signed":
            assert math.isfinite(x), f"{name} gave {x}"
        elif kind == "probability":
            assert 0 <= x <= 1, f"{name} gave {x}, not a probability"
        else:
            assert x >= 0 and (kind == "time" or math.isfinite(x)), f"{name} gave {x}"


def _named(error, parameters):
    """Does the message name one of ``parameters`` (or, for a list, one item of it: service_rates -> service_rate)?"""
    words = set(re.findall(r"[A-Za-z_]+", str(error)))
    return any({p, re.sub("ies$", "y", p), p.removesuffix("s")} & words for p in parameters)


def _drive(name, function, data, check):
    """Call with every value in range (an answer, or an error naming a parameter where two limits meet),
    then with one value out of range (an error naming it)."""
    drawn_parameters = _drawn_parameters(function)
    values = [(p, data.draw(spec.valid(), label=p.name)) for p, spec in drawn_parameters]
    try:
        answer = _call(function, values)
    except (ValueError, TypeError) as error:
        tied = TIED.get(name, ())
        assert _named(error, tied), f"{name}: values in range refused: {error!r}"
        return
    check(name, answer, values)
    for i, (p, spec) in enumerate(drawn_parameters):  # each parameter out of range, each way
        for way in spec.invalids():
            wrong = values[:i] + [(p, data.draw(way, label=f"{p.name} (out of range)"))] + values[i + 1:]
            with pytest.raises((ValueError, TypeError)) as error:
                _call(function, wrong)
            assert _named(error.value, [p.name, *getattr(spec, "keys", ())]), \
                f"{name}: {p.name}={wrong[i][1]!r} gave {error.value!r}"


@pytest.mark.parametrize("name", sorted(FUNCTIONS))
@settings(max_examples=10, deadline=None, derandomize=True, database=None, phases=NO_SHRINKING,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(data=st.data())
def test_theory_answers_in_range_or_names_the_parameter(name, data):
    _drive(name, FUNCTIONS[name], data, lambda n, answer, values: check_answer(n, answer))


def _kept(name, built, values):
    """A constructor keeps what it was given (no silent clipping); a Workload's derived figures stay in range."""
    for p, value in values:
        if isinstance(value, (int, float)):
            assert getattr(built, p.name) == value, f"{name}.{p.name}: gave {value!r}, kept {getattr(built, p.name)!r}"
    if isinstance(built, c.Workload):
        assert math.isfinite(built.rate) and built.rate > 0, built
        popularity = built.key_popularity()
        check_answer("zipf_popularity", popularity)
        assert popularity.sum() == pytest.approx(1) and np.all(np.diff(popularity) <= 0), built


@pytest.mark.parametrize("name", sorted(CONSTRUCTORS))
@settings(max_examples=10, deadline=None, derandomize=True, database=None, phases=NO_SHRINKING,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(data=st.data())
def test_constructors_keep_values_in_range_or_name_the_parameter(name, data):
    _drive(name, functools.partial(CONSTRUCTORS[name], **PARTS.get(name, {})), data, _kept)
