"""docs/extending.md runs as written: a kind defined outside the package simulates, draws and passes the contract."""

import re
from pathlib import Path

from chapter1.core.component import KINDS

DOC = Path(__file__).resolve().parent.parent / "docs" / "extending.md"


def test_the_walk_through_runs_in_order(capsys):
    blocks = re.findall(r"```python\n(.*?)```", DOC.read_text(encoding="utf-8"), flags=re.S)
    assert len(blocks) >= 4
    namespace = {"__name__": "extending_walk_through"}
    try:
        for block in blocks:
            exec(compile(block, str(DOC), "exec"), namespace)  # noqa: S102  (our own documentation)
        printed = capsys.readouterr().out
        assert "limited " in printed and "theory 40.0%" in printed
        assert "fails_and_recovers" in printed  # check_kind listed the checks it passed
    finally:
        for kind in ("RateLimiter", "ClosedLimiter"):
            KINDS.pop(kind, None)
