"""Reference tables learners come back to: the nines, latency numbers, the course's formulas.

Each table is a pandas DataFrame built from the library's own theory where the course has it (the
nines from :func:`chapter1.theory.availability.downtime_per_year`, each formula's worked example
from the function that the chapters use), so the book's reference page is generated and tested:

    python -m chapter1.reference            # rewrite book/reference.md
    python -m chapter1.reference --check    # exit 1 if book/reference.md is out of date
"""

from __future__ import annotations

import importlib
import sys
from pathlib import Path

from chapter1.core import validation as check

REPO = Path(__file__).resolve().parents[1]
REFERENCE_PAGE = REPO / "book" / "reference.md"
NINES = (0.9, 0.99, 0.999, 0.9995, 0.9999, 0.99999)

# Colin Scott's 2020 update of Jeff Dean's "Latency numbers every programmer should know" (2010).
LATENCY_SOURCE = ("Jeff Dean's \"Latency numbers every programmer should know\" (2010), as updated for"
                  " 2020 by Colin Scott's interactive version; orders of magnitude, not measurements of your hardware")
LATENCY_NS = (
    ("L1 cache reference", 1),
    ("branch mispredict", 3),
    ("L2 cache reference", 4),
    ("mutex lock/unlock", 17),
    ("send 2 KB over a commodity network", 44),
    ("main memory reference", 100),
    ("compress 1 KB with Snappy", 2_000),
    ("read 1 MB sequentially from memory", 3_000),
    ("random read of 4 KB from an SSD", 16_000),
    ("read 1 MB sequentially from an SSD", 49_000),
    ("round trip within one data centre", 500_000),
    ("read 1 MB sequentially from a disk", 825_000),
    ("disk seek", 2_000_000),
    ("packet round trip California - Netherlands - California", 150_000_000),
)
# Round trips in fibre from the course's own model (chapter 07): light covers about 200 km per ms.
ROUND_TRIP_KM = (("across a city", 50), ("across a country", 1_000), ("Seoul - Virginia", 11_000))

# (formula, what it answers, chapter, library function, example arguments, how to print the example)
FORMULAS = (
    ("utilisation ρ = λ / (c μ)", "share of time the workers are busy", "01",
     "theory.queues.mmc", dict(arrival_rate=100, service_rate=20, servers=8), "utilization", "{:.1%}"),
    ("Little's law L = λ W", "mean number of requests inside (in flight, queued)", "01",
     "theory.queues.littles_law", dict(arrival_rate=100, mean_time_s=0.2), None, "{:.0f} requests"),
    ("M/M/1: W = 1 / (μ − λ)", "mean response time of one worker", "01",
     "theory.queues.mmc", dict(arrival_rate=80, service_rate=100), "mean_response_s", "{:.3f} s"),
    ("M/M/1: t₉₅ = ln 20 / (μ − λ)", "95th percentile of the response time", "01",
     "theory.queues.response_time_percentile", dict(percent=95, arrival_rate=80, service_rate=100), None,
     "{:.3f} s"),
    ("Erlang C: P(wait) = C(c, λ/μ)", "chance a request waits for one of c workers (M/M/c)", "01",
     "theory.queues.erlang_c", dict(servers=8, offered_load=5), None, "{:.3f}"),
    ("M/M/c: W = C / (c μ − λ) + 1 / μ", "mean response time of c workers", "01",
     "theory.queues.mmc", dict(arrival_rate=100, service_rate=20, servers=8), "mean_response_s", "{:.4f} s"),
    ("TTL cache: h = r T / (1 + r T)", "hit ratio of one key read r times a second, kept T seconds", "01",
     "theory.caching.ttl_hit_ratio", dict(rate=0.5, ttl_s=60), None, "{:.1%}"),
    ("tandem: W = W₁ + W₂ + ...", "mean time through tiers in a row (web, then database)", "02",
     "theory.queues.tandem", dict(arrival_rate=50, stages=[(100, 1), (80, 1)]), "mean_response_s", "{:.4f} s"),
    ("series: A = A₁ A₂ ...", "availability when every part is needed", "03",
     "theory.availability.availability_series", dict(), ("args", (0.999, 0.999)), "{:.6f}"),
    ("parallel: A = 1 − (1 − A₁)(1 − A₂) ...", "availability when any one part is enough", "03",
     "theory.availability.availability_parallel", dict(), ("args", (0.99, 0.99)), "{:.6f}"),
    ("k of n: A = Σⱼ≥ₖ C(n, j) aʲ (1 − a)ⁿ⁻ʲ", "availability when k of n boxes must be up", "03",
     "theory.availability.k_of_n_availability", dict(k=3, n=4, availability=0.99), None, "{:.6f}"),
    ("Amdahl: C(N) = N / (1 + σ (N − 1))", "cores' worth of work N cores do when a share σ is serial", "03",
     "theory.contention.amdahl_capacity", dict(cores=64, sigma=0.01), None, "{:.1f} cores"),
    ("USL: C(N) = N / (1 + σ (N − 1) + κ N (N − 1))", "the same with crosstalk κ; peaks at √((1 − σ) / κ) cores", "03",
     "theory.contention.usl_capacity", dict(cores=64, sigma=0.01, kappa=0.0001), None, "{:.1f} cores"),
    ("downtime = (1 − A) × 8,766 h", "hours down per year", "03",
     "theory.availability.downtime_per_year", dict(availability=0.999), None, "{:.2f} h"),
    ("power of two choices (mean-field)", "mean response when each request joins the shorter of two queues", "04",
     "theory.balancing.power_of_two", dict(arrival_rate=72, service_rate=10, servers=8), "mean_response_s",
     "{:.4f} s"),
    ("reads = k (C − w c)", "read capacity of k replicas that also replay every write", "05",
     "theory.replication.read_capacity", dict(replicas=4, capacity=500, write_rate=100), None, "{:,.0f} reads/s"),
    ("lost writes = write rate × lag", "writes lost when a replica is promoted (Little's law)", "05",
     "theory.replication.expected_lost_writes", dict(write_rate=200, lag_ms=150), None, "{:.0f} writes"),
    ("database load = r (1 − w)(1 − h) + r w", "requests that still reach the database behind a cache", "06",
     "theory.caching.database_load", dict(rate=1_000, hit_ratio=0.8, write_share=0.1), None, "{:.0f} req/s"),
    ("Che: h = Σ pᵢ (1 − e^(−pᵢ t_C))", "LRU hit ratio from the key popularity (Zipf)", "06",
     "theory.caching.cache_hit_ratio", dict(policy="lru", cache_size=1_000, keys=10_000, zipf_s=1.0), None,
     "{:.1%}"),
    ("RTT ≈ 2 × distance / 200,000 km/s", "round trip in fibre", "07",
     "theory.cdn.round_trip_ms", dict(km=11_000), None, "{:.0f} ms"),
    ("CDN break-even h = CDN price / origin price", "hit ratio above which a CDN costs less", "07",
     "theory.cdn.break_even_hit_ratio", dict(), None, "{:.1%}"),
    ("modulo: moved = 1 − min(n, m) / lcm(n, m)", "share of keys that move when n servers become m", "08",
     "theory.hashing.keys_moved", dict(servers_before=4, servers_after=5, scheme="modulo"), None, "{:.1%}"),
    ("ring: moved = abs(m − n) / max(n, m)", "the same with consistent hashing", "08",
     "theory.hashing.keys_moved", dict(servers_before=4, servers_after=5, scheme="ring"), None, "{:.1%}"),
    ("headroom = (N − 1) / N", "highest load of N active sites that survives losing one", "09",
     "theory.datacentres.headroom_limit", dict(datacentres=3), None, "{:.1%}"),
    ("drain = backlog / (c μ − λ)", "time to clear a backlog while messages keep arriving", "10",
     "theory.messaging.drain_time", dict(backlog=600, arrival_rate=50, service_rate=10, workers=6), None,
     "{:.0f} s"),
    ("detection ≈ interval / 2 + for", "mean time from a fault to its alert", "11",
     "metrics.theory_delay_s", dict(interval_s=15, for_s=60), None, "{:.1f} s"),
    ("error budget = (1 − SLO) × period", "minutes of outage an SLO allows in a month", "11",
     "metrics.error_budget_min", dict(slo=0.999), None, "{:.1f} min"),
    ("ring spread = √((n − 1) / (n v + 1))", "spread of shard shares with v virtual nodes", "12",
     "theory.sharding.load_spread", dict(vnodes=100, shards=10), None, "{:.1%}"),
    ("hottest key = 1 / H(N, s)", "share of requests for the top key under Zipf", "12",
     "theory.sharding.top_key_share", dict(keys=10_000), None, "{:.1%}"),
    ("fan-out mean = mean × H(k)", "mean wait for the slowest of k shards", "12",
     "theory.sharding.fanout_mean_ms", dict(k=4, mean_ms=10), None, "{:.1f} ms"),
)


def nines(availabilities=NINES):
    """Downtime allowed by each availability per year, month and day (a DataFrame, in minutes and as text).

    >>> nines((0.999,)).loc[0, "per_year"]
    '8.8 h'
    """
    import pandas as pd

    from chapter1.theory.availability import downtime_per_year

    rows = []
    for a in availabilities:
        check.number("availability", a, low=0, high=1, low_open=True)
        year_min = downtime_per_year(a) * 60
        rows.append({"availability": a, "nines": _nines_label(a), "year_min": year_min, "month_min": year_min / 12,
                     "day_min": year_min / 365.25, "per_year": _duration(year_min),
                     "per_month": _duration(year_min / 12), "per_day": _duration(year_min / 365.25)})
    return pd.DataFrame(rows)


def latency_numbers():
    """Latency numbers every programmer should know (2020 figures) and the course's fibre round trips.

    >>> table = latency_numbers()
    >>> table.loc[table["operation"] == "main memory reference", "ns"].item()
    100.0
    """
    import pandas as pd

    from chapter1.theory.cdn import round_trip_ms

    rows = [{"operation": name, "ns": float(ns), "source": "Dean 2010 / Scott 2020"} for name, ns in LATENCY_NS]
    rows += [{"operation": f"round trip in fibre, {where} ({km:,} km)", "ns": round_trip_ms(km) * 1e6,
              "source": "chapter 07's model"} for where, km in ROUND_TRIP_KM]
    table = pd.DataFrame(rows).sort_values("ns", kind="stable").reset_index(drop=True)
    table["time"] = table["ns"].map(_latency)
    return table


def formulas():
    """The course's back-of-the-envelope formulas, each with its chapter and a worked example from the library.

    >>> table = formulas()
    >>> table.loc[table["formula"].str.startswith("Little"), "example"].item()
    'λ=100, mean_time_s=0.2 → 20 requests'
    """
    import pandas as pd

    rows = []
    for formula, meaning, chapter, function, kwargs, pick, fmt in FORMULAS:
        value = _evaluate(function, kwargs, pick)
        rows.append({"formula": formula, "meaning": meaning, "chapter": chapter, "function": function,
                     "value": value, "example": f"{_arguments(kwargs, pick)} → {fmt.format(value)}"})
    return pd.DataFrame(rows)


def reference_markdown(notebooks_link="../notebooks"):
    """The reference page (Markdown): the nines, latency numbers and formulas.

    >>> "## The nines" in reference_markdown()
    True
    """
    check.text("notebooks_link", notebooks_link)
    from chapter1.glossary import NOTEBOOKS, chapter_notebooks

    files = {p.name[:2]: p.name for p in chapter_notebooks(NOTEBOOKS)}
    lines = ["# Reference tables", "",
             "Tables to come back to while designing. They are generated from the course's library by",
             "`python -m chapter1.reference` (so each figure is the one the chapters compute); do not edit by hand.",
             "", "## The nines: availability and downtime", "",
             "A year here is 365.25 days (8,766 hours) and a month a twelfth of it, as in chapters 03 and 11.", "",
             "| availability | nines | down per year | per month | per day |", "|---|---|---|---|---|"]
    for row in nines().itertuples(index=False):
        lines.append(f"| {row.availability * 100:g} % | {row.nines} | {row.per_year} | {row.per_month}"
                     f" | {row.per_day} |")
    lines += ["", "## Latency numbers", "", f"Source: {LATENCY_SOURCE}. The fibre round trips come from chapter 07's",
              "model (light in fibre covers about 200 km a millisecond; real routes are longer).", "",
              "| operation | time | ns |", "|---|---|---|"]
    for row in latency_numbers().itertuples(index=False):
        lines.append(f"| {row.operation} | {row.time} | {row.ns:,.0f} |")
    lines += ["", "## Back-of-the-envelope formulas", "",
              "λ is the arrival rate (requests a second), μ one worker's service rate, c the number of workers.",
              "Each example is computed by the library function named, the one the chapter uses.", "",
              "| formula | what it gives | chapter | library | example |", "|---|---|---|---|---|"]
    for row in formulas().itertuples(index=False):
        chapter = f"[{row.chapter}]({notebooks_link}/{files[row.chapter]})" if row.chapter in files else row.chapter
        lines.append(f"| {row.formula} | {row.meaning} | {chapter} | `chapter1.{row.function}` | {row.example} |")
    return "\n".join(lines) + "\n"


def write_reference(path=REFERENCE_PAGE):
    """Write the reference page to ``path``; returns the number of table rows written.

    >>> import tempfile, pathlib
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     write_reference(pathlib.Path(tmp) / "reference.md") > 40
    True
    """
    text = reference_markdown()
    Path(path).write_text(text, encoding="utf-8")
    return sum(1 for line in text.splitlines() if line.startswith("| ") and not line.startswith("| ---"))


def _evaluate(function, kwargs, pick):
    module, _, name = function.rpartition(".")
    call = getattr(importlib.import_module(f"chapter1.{module}"), name)
    if isinstance(pick, tuple):
        return float(call(*pick[1]))
    result = call(**kwargs)
    return float(getattr(result, pick) if pick else result)


def _arguments(kwargs, pick):
    if isinstance(pick, tuple):
        return ", ".join(f"{a:g}" for a in pick[1])
    names = {"arrival_rate": "λ", "service_rate": "μ", "servers": "c"}
    return ", ".join(f"{names.get(k, k)}={v}" for k, v in kwargs.items()) or "the chapter's prices"


def _nines_label(a):
    digits = f"{a * 100:.5f}".rstrip("0").replace(".", "")
    nines = len(digits) - len(digits.lstrip("9"))
    words = ("no", "one", "two", "three", "four", "five", "six", "seven")
    half = "and a half " if digits[nines:] == "5" else ""
    return f"{words[min(nines, 7)]} {half}nine{'s' if nines != 1 or half else ''}"


def _duration(minutes):
    if minutes >= 2 * 24 * 60:
        return f"{minutes / 1440:.1f} days"
    if minutes >= 120:
        return f"{minutes / 60:.1f} h"
    if minutes >= 2:
        return f"{minutes:.1f} min"
    return f"{minutes * 60:.1f} s"


def _latency(ns):
    for unit, size in (("s", 1e9), ("ms", 1e6), ("µs", 1e3)):
        if ns >= size:
            return f"{ns / size:,.3g} {unit}"
    return f"{ns:,.0f} ns"


def main(argv=None):
    """Write book/reference.md (or, with ``--check``, exit 1 if it is out of date)."""
    from chapter1.glossary import page_command

    return page_command(argv, "chapter1.reference", REFERENCE_PAGE, reference_markdown, write_reference, "rows")


if __name__ == "__main__":
    sys.exit(main())
