"""What a learner reads when a graded cell fails: one line, no colours, no endless output.

The grader's kernel and its pytest plugin import this module, so it needs only the standard library.

>>> describe_error("ZeroDivisionError", "division by zero")
'ZeroDivisionError: division by zero'
"""

from __future__ import annotations

import re

MESSAGE_LIMIT = 1000        # characters kept of a failure message
OUTPUT_LIMIT = 100_000      # characters kept of each output message the kernel sends
ANSI = re.compile(r"\x1b\[[0-9;?]*[ -/]*[@-~]")

NBVAL_MESSAGES = [
    (re.compile(r"Timeout of ([\d.]+) seconds exceeded.*Failed to interrupt", re.S),
     "timed out after {0} s, and the kernel ignored the interrupt so it was stopped"),
    (re.compile(r"Timeout of ([\d.]+) seconds exceeded"), "timed out after {0} s (the cell was interrupted)"),
    (re.compile(r"Kernel dead on test start"), "not run: the kernel died in an earlier cell"),
]  # nbval's own failure texts, and what a learner should read instead


def clip(text: str, limit: int = MESSAGE_LIMIT) -> str:
    """``text`` without surrounding blanks, cut to ``limit`` characters with an ellipsis.

    >>> clip("  a very long message  ", 8)
    'a very…'
    """
    text = text.strip()
    return text if len(text) <= limit else text[:limit - 1].rstrip() + "…"


def _failing_line(traceback: list[str]) -> str:
    """The source line an IPython traceback points at (``----> 3 assert ...``)."""
    plain = ANSI.sub("", "\n".join(traceback)).split("\n")
    marked = [line for line in plain if line.lstrip().startswith("---->")]
    if not marked:
        return ""
    return re.sub(r"^\s*---->\s*\d*\s*", "", marked[-1]).strip()


def _short_line(traceback: list[str]) -> str:
    """The failing line of a short report from chapter1.grading.check ("✗ 1.2: assertion failed: assert ...")."""
    found = re.search(r"assertion failed: (.*)", ANSI.sub("", "\n".join(traceback)))
    return found.group(1).strip() if found else ""


def describe_error(ename: str, evalue: str, traceback: list[str] = ()) -> str:
    """A one-line account of an exception raised in a cell: the assert message when there is one.

    >>> describe_error("AssertionError", "expected 12 requests/s, got 10")
    'expected 12 requests/s, got 10'
    >>> describe_error("NameError", "name 'rps' is not defined")
    "NameError: name 'rps' is not defined"
    """
    evalue = ANSI.sub("", evalue or "")
    if ename in ("AssertionError", "CheckFailed"):
        line = _failing_line(list(traceback)) or _short_line(list(traceback))
        return clip(evalue or (f"assertion failed: {line}" if line else "assertion failed"))
    return clip(f"{ename}: {evalue}" if evalue else ename)


def nbval_message(text: str) -> str:
    text = ANSI.sub("", text)
    for pattern, friendly in NBVAL_MESSAGES:
        found = pattern.search(text)
        if found:
            return friendly.format(*found.groups())
    return clip(text.split("\n\n")[0])


OUTPUT_TYPES = ("stream", "display_data", "execute_result", "update_display_data", "error")
TRUNCATED = "\n[... output truncated by the grader]"


def _clip_output(value):
    if isinstance(value, str) and len(value) > OUTPUT_LIMIT:
        return value[:OUTPUT_LIMIT] + TRUNCATED
    return value


def clip_content(msg_type: str, content: dict | None) -> None:
    """Shorten, in place, the text an output message carries to OUTPUT_LIMIT characters per field.

    >>> content = {"name": "stdout", "text": "x" * 200_000}
    >>> clip_content("stream", content); len(content["text"]) < 101_000
    True
    """
    if msg_type not in OUTPUT_TYPES or not isinstance(content, dict):
        return
    for key in ("text", "evalue"):
        if key in content:
            content[key] = _clip_output(content[key])
    if isinstance(content.get("data"), dict):
        content["data"] = {key: _clip_output(value) for key, value in content["data"].items()}
    if isinstance(content.get("traceback"), list):
        content["traceback"] = [_clip_output(line) for line in content["traceback"][-20:]]
