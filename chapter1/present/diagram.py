"""Architecture diagrams drawn from the same object the simulation runs.

The picture is read from the component protocol only: each component's ``place`` ("path", or
"resolver" drawn under the clients), ``describe()`` lines, ``parts`` (fanned out in a column to its
right, each with its ``label()`` and the holder's ``part_note()``) and outages (drawn red).

>>> from chapter1 import single_server
>>> "server" in draw(single_server()).data
True
"""

import math

from ..core import validation as check
from ..core.architecture import Architecture
from . import svg

BOX_W, BOX_H, GAP, MARGIN = 150, 92, 96, 16
SERVER_GAP, MAX_DRAWN = 10, 5  # a holder's parts: compact boxes in a column, at most 5 drawn
DOWN, UP, NOTED = "#d62728", "#2c7fb8", "#2ca02c"
TOP = MARGIN + 40                       # the row of clients and tiers
RESOLVER_Y = MARGIN + BOX_H + 70        # a resolver sits under the clients


def draw(architecture):
    """An SVG picture: clients -> (DNS) -> each tier in order; components with outages are marked red.

    A component's parts fan out to its right; a resolver in the path (DNS round robin) sits below
    the clients, who then reach its parts directly.  Parts that the holder notes (servers joining
    mid-run) are drawn green.
    """
    check.instance("architecture", architecture, Architecture, "single_server()")
    parts = [svg.box(MARGIN, TOP, "clients", ["web browser", "mobile app"], "#555", BOX_W, BOX_H)]
    x, previous_right, label = MARGIN + BOX_W + GAP, MARGIN + BOX_W, "2. HTTP request"
    bottom = MARGIN * 2 + BOX_H * 2 + 80
    if architecture.dns is not None:
        parts += _resolver(architecture.dns, "1. domain -> IP")
    for k, tier in enumerate(architecture.tiers):
        if tier.place == "resolver" and k == 0 and architecture.dns is None:
            parts += _resolver(tier, "1. domain -> one IP")
            label = "2. HTTP"
        else:
            parts.append(_component_box(tier, x, TOP, tier.describe()))
            parts.append(svg.arrow(previous_right, TOP + BOX_H / 2, x, TOP + BOX_H / 2, label))
            previous_right, x, label = x + BOX_W, x + BOX_W + GAP, ""
        if tier.parts:
            boxes, low = _fan_out(tier, x, previous_right, label)
            parts += boxes
            previous_right, x, label, bottom = x + BOX_W, x + BOX_W + GAP, "", max(bottom, low + MARGIN)
    width = max(x - GAP + MARGIN, 2 * BOX_W + GAP + 2 * MARGIN)
    title = svg.text(MARGIN, MARGIN + 8, architecture.name, 14, "bold")
    return svg.document(width, bottom, [title, *parts])


def _resolver(component, label):
    """A resolver under the clients, with the lookup arrow down to it."""
    centre = MARGIN + BOX_W / 2
    return [_component_box(component, MARGIN + 12, RESOLVER_Y, component.describe()),
            svg.arrow(centre, TOP + BOX_H, centre, RESOLVER_Y, label)]


def _fan_out(holder, x, source_right, label):
    """A holder's parts in a column at ``x``, each with an arrow from the holder; returns (pieces, bottom)."""
    members = holder.parts
    notes = {k: holder.part_note(p) for k, p in enumerate(members)}
    marked = {k for k, p in enumerate(members) if p.outages or notes[k]}
    first = [k for k in range(len(members)) if k not in marked][:max(0, MAX_DRAWN - len(marked))]
    shown = sorted(marked | set(first))[:MAX_DRAWN]
    lines = {k: [members[k].label(), *notes[k]] for k in shown}
    height = 36 + 15 * max(len(v) + bool(members[k].outages) for k, v in lines.items())
    pieces, y, source_y = [], TOP, TOP + BOX_H / 2
    for k in shown:
        pieces.append(_component_box(members[k], x, y, lines[k], height=height, color=NOTED if notes[k] else None))
        pieces.append(svg.arrow(source_right, source_y, x, y + height / 2, label if k == shown[0] else ""))
        y += height + SERVER_GAP
    if len(shown) < len(members):
        more = len(members) - len(shown)
        more_servers = f"{more} more server{'' if more == 1 else 's'}"
        pieces.append(svg.text(x + BOX_W / 2, y + 8, f"+ {more_servers} like these", 11, anchor="middle"))
        y += 20
    return pieces, y


def _component_box(component, x, y, lines, height=BOX_H, color=None):
    outages = [down_note(o) for o in component.outages]
    return svg.box(x, y, component.name, lines + outages[:1], DOWN if outages else color or UP, BOX_W, height)


def down_note(outage):
    """'down 30-50 s' (or 'down 30- s' for an outage that never ends)."""
    return f"down {outage.start_s:g}-{'' if math.isinf(outage.end_s) else f'{outage.end_s:g}'} s"
