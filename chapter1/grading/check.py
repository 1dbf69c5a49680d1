"""Checks that confirm an answer without printing it, for the public part of a CHECK cell.

A CHECK cell in an exercise tells the learner right or wrong; it should not
show the expected value. ``matches`` compares a value with the SHA-256 digest
of the expected one (written by the author with ``digest``); ``close``
compares with a reference the cell derives from the library. A failure shows
the hint, never the expected value. The exact checks go in the cell's hidden
part (``### BEGIN HIDDEN TESTS`` ... ``### END HIDDEN TESTS``), which the
exercise does not contain and the grader puts back.

>>> from chapter1.grading import check
>>> check.digest(64)
'sha256:a68b412c4282555f15546cf6e1fc42893b7e07f271557ceb021821098dd66c1b'
>>> check.matches(64, check.digest(64), hint="the biggest box within budget")
>>> check.matches(32, check.digest(64), hint="the biggest box within budget")
Traceback (most recent call last):
...
chapter1.grading.check.CheckFailed: not right yet: the biggest box within budget

A digest is a lock on a small answer, not a safe: whoever tries every whole
number finds it. Grading relies on the hidden part, which learners never see.

Importing this module in a notebook also makes CHECK cells report briefly:
"✓ 3.2 passed (2 pts)", or "✗ 3.2: <the assert message>" without a traceback.
"""

from __future__ import annotations

import hashlib
import json
import math
import numbers
import re

__all__ = ["CheckFailed", "digest", "matches", "close", "number", "enable"]

_HEADER = re.compile(r"#\s*CHECK\s+(?P<id>[A-Za-z0-9][\w.\-]*)(?:\s+\[\s*(?P<points>\d+)\s*pts?\s*\])?\s*$")


class CheckFailed(AssertionError):
    """A check that did not pass; shown in a notebook as its message alone (no traceback)."""

    def _render_traceback_(self):
        return [f"✗ {self}"]


def _plain(value):
    """numpy scalars and arrays become Python numbers and lists."""
    if hasattr(value, "tolist") and not isinstance(value, (str, bytes)):
        return value.tolist()
    if hasattr(value, "item") and not isinstance(value, (str, bytes)):
        return value.item()
    return value


def _canonical(value, decimals: int | None) -> str:
    value = _plain(value)
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, numbers.Real):
        if decimals is None and isinstance(value, numbers.Integral):
            return str(int(value))
        if decimals is None:
            raise ValueError("pass decimals=N to compare a number that is not whole")
        return f"{float(value):.{decimals}f}"
    if isinstance(value, (list, tuple)):
        return "[" + ",".join(_canonical(item, decimals) for item in value) + "]"
    if isinstance(value, (set, frozenset)):
        return "{" + ",".join(sorted(_canonical(item, decimals) for item in value)) + "}"
    if isinstance(value, dict):
        items = sorted((_canonical(k, None), _canonical(v, decimals)) for k, v in value.items())
        return "{" + ",".join(f"{k}:{v}" for k, v in items) + "}"
    raise TypeError(f"cannot compare a {type(value).__name__}")


def _hash(text: str) -> str:
    return "sha256:" + hashlib.sha256(text.encode("utf-8")).hexdigest()


def digest(value, decimals: int | None = None) -> str:
    """The digest an author writes into a check: ``check.digest(64)``, ``check.digest(3.05, decimals=2)``."""
    return _hash(_canonical(value, decimals))


def number(value, name: str = "the answer", whole: bool = False):
    """``value`` as a Python number (numpy integers and floats accepted), else a CheckFailed naming ``name``.

    >>> import numpy as np
    >>> number(np.int64(3), "servers", whole=True), number(np.float64(0.5))
    (3, 0.5)
    """
    value = _plain(value)
    wanted = numbers.Integral if whole else numbers.Real
    if isinstance(value, bool) or not isinstance(value, wanted) or (not whole and not math.isfinite(value)):
        kind = "a whole number" if whole else "a number"
        raise CheckFailed(f"{name} should be {kind}, not {value!r}.")
    return value


def matches(value, expected: str, *, hint: str = "", decimals: int | None = None) -> None:
    """Pass when ``value`` has the digest ``expected``; a number with ``decimals`` may be off by one unit in
    the last decimal. Fails with the hint, never the expected value."""
    try:
        plain = _plain(value)
        if decimals is not None and isinstance(plain, numbers.Real) and not isinstance(plain, bool):
            unit = 10.0 ** -decimals
            candidates = [_canonical(plain + step * unit, decimals) for step in (0, -1, 1)]
        else:
            candidates = [_canonical(plain, decimals)]
    except (TypeError, ValueError):
        candidates = []
    if expected not in map(_hash, candidates):
        raise CheckFailed("not right yet" + (f": {hint}" if hint else "."))


def close(value, reference, *, rel: float = 1e-6, abs: float = 0.0, hint: str = "") -> None:
    """Pass when ``value`` is within ``rel``/``abs`` of ``reference`` (derived in the cell, not printed)."""
    try:
        ok = math.isclose(float(_plain(value)), float(_plain(reference)), rel_tol=rel, abs_tol=abs)
    except (TypeError, ValueError):
        ok = False
    if not ok:
        raise CheckFailed("not right yet" + (f": {hint}" if hint else "."))


# ------------------------------------------------------------ in a notebook


def _check_header(source: str):
    first = source.lstrip("\n").split("\n", 1)[0].strip()
    return _HEADER.fullmatch(first)


_current = {"cell": ""}


def _before_cell(info) -> None:
    _current["cell"] = getattr(info, "raw_cell", "") or ""


def _after_cell(result) -> None:
    header = _check_header(getattr(result.info, "raw_cell", "") or "")
    if header is not None and result.success:
        points = int(header["points"] or 1)
        print(f"✓ {header['id']} passed ({points} pt{'s' if points != 1 else ''})")


def _short_failure(shell, etype, value, tb, tb_offset=None):
    """A failing assert in a CHECK cell: its message alone; anywhere else, IPython's usual traceback."""
    header = _check_header(_current["cell"])
    if header is None:
        stb = shell.InteractiveTB.structured_traceback(etype, value, tb, tb_offset=tb_offset)
    else:
        import traceback

        frames = traceback.extract_tb(tb)
        line = frames[-1].line if frames else ""
        stb = [f"✗ {header['id']}: {str(value) or ('assertion failed: ' + line if line else 'assertion failed')}"]
    shell._showtraceback(etype, value, stb)
    return stb


def enable() -> bool:
    """Short reports for CHECK cells in the running IPython (once); False outside IPython."""
    try:
        from IPython import get_ipython
    except ImportError:
        return False
    shell = get_ipython()
    if shell is None or getattr(shell, "_chapter1_checks", False):
        return shell is not None
    shell.events.register("pre_run_cell", _before_cell)
    shell.events.register("post_run_cell", _after_cell)
    shell.set_custom_exc((AssertionError,), _short_failure)
    shell._chapter1_checks = True
    return True


enable()


# ------------------------------------------------------------ chapter 13's reference design (never printed)

_CAPSTONE_REFERENCE = {"datacentres": 2, "mode": "active-active", "web_servers": 12, "cdn": True, "sessions": "shared",
                       "cache_nodes": 3, "shards": 2, "replicas": 3, "replication": "async", "consumers": 13}


def capstone_reference():
    """The course's reference design for chapter 13, as a dict of Design fields (for the grader and the tests)."""
    return dict(_CAPSTONE_REFERENCE)


def capstone_cost(usd_per_month, margin: float = 0.2, *, hint: str = "") -> None:
    """Pass when a monthly bill is at most ``1 + margin`` times the reference design's; fails without showing it."""
    from ..capstone.design import monthly_cost

    reference = float(monthly_cost(_CAPSTONE_REFERENCE)["usd_per_month"].sum())
    if not float(number(usd_per_month, "usd_per_month")) <= (1 + margin) * reference:
        raise CheckFailed("not right yet" + (f": {hint}" if hint else "."))
