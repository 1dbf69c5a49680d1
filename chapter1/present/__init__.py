"""Presentation kit: charts, scales, diagrams and live panels.

Charts use altair, which imports jsonschema; its format checker compiles the rfc3987 grammar (over
1 s of CPU) when ``rfc3987_syntax`` is installed, for an "iri" format Vega-Lite specs never use.
The kit keeps it out, so a kernel's first chart comes about a second sooner.
"""

import sys

sys.modules.setdefault("rfc3987_syntax", None)
