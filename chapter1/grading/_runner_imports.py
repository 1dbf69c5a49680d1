"""What every grading runner imports, loaded once by the fork server of :mod:`chapter1.grading.warm`."""

import sys

# As nbcheck.main does: nbformat's jsonschema would compile the rfc3987 grammar (over 1 s) for a format
# that notebook schemas never use.
sys.modules.setdefault("rfc3987_syntax", None)

import jupyter_client  # noqa: E402, F401
import nbval.plugin  # noqa: E402, F401
import pytest  # noqa: E402, F401

import chapter1.grading.nbcheck  # noqa: E402, F401
