"""Architecture diagrams drawn from the same object the simulation runs.

>>> from chapter1 import single_server
>>> "server" in draw(single_server()).data
True
"""

import html
import math

from IPython.display import SVG

BOX_W, BOX_H, GAP, MARGIN = 150, 92, 96, 16
DOWN, UP = "#d62728", "#2c7fb8"


def draw(architecture):
    """An SVG picture: clients -> (DNS) -> each tier in order; components with outages are marked red."""
    clients = _box(MARGIN, MARGIN + 40, "clients", ["web browser", "mobile app"], "#555")
    x = MARGIN + BOX_W + GAP
    parts, arrows = [clients], []
    if architecture.dns is not None:
        parts.append(_component_box(architecture.dns, MARGIN + 12, MARGIN + BOX_H + 70,
                                    [f"lookup {architecture.dns.lookup_ms:g} ms", f"TTL {architecture.dns.ttl_s:g} s"]))
        arrows.append(_arrow(MARGIN + BOX_W / 2, MARGIN + 40 + BOX_H, MARGIN + BOX_W / 2, MARGIN + BOX_H + 70,
                             "1. domain -> IP"))
    previous_right, label = MARGIN + BOX_W, "2. HTTP request"
    for tier in architecture.tiers:
        parts.append(_component_box(tier, x, MARGIN + 40, _describe(tier)))
        arrows.append(_arrow(previous_right, MARGIN + 40 + BOX_H / 2, x, MARGIN + 40 + BOX_H / 2, label))
        previous_right, x, label = x + BOX_W, x + BOX_W + GAP, ""
    width = max(x - GAP + MARGIN, 2 * BOX_W + GAP + 2 * MARGIN)
    height = MARGIN * 2 + BOX_H * 2 + 80
    title = f'<text x="{MARGIN}" y="{MARGIN + 8}" font-size="14" font-weight="bold">{html.escape(architecture.name)}</text>'
    body = "".join([title, *arrows, *parts])
    return SVG(f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
               f'font-family="sans-serif" viewBox="0 0 {width} {height}">'
               f'<defs><marker id="arrow" markerWidth="8" markerHeight="8" refX="7" refY="4" orient="auto">'
               f'<path d="M0,0 L8,4 L0,8 z" fill="#444"/></marker></defs>{body}</svg>')


def _describe(tier):
    lines = [", ".join(getattr(tier, "roles", ())) or tier.kind]
    if hasattr(tier, "workers"):
        lines.append(f"{tier.workers} workers x {tier.service_time_ms:g} ms")
        lines.append(f"up to {tier.capacity:,.0f} req/s")
    return lines


def _component_box(component, x, y, lines):
    outages = [f"down {o.start_s:g}-{'' if math.isinf(o.end_s) else f'{o.end_s:g}'} s" for o in component.outages]
    return _box(x, y, component.name, lines + outages[:1], DOWN if outages else UP)


def _box(x, y, title, lines, color):
    text = "".join(f'<text x="{x + BOX_W / 2}" y="{y + 40 + 15 * k}" font-size="11" text-anchor="middle" '
                   f'fill="{DOWN if line.startswith("down") else "#333"}">{html.escape(line)}</text>'
                   for k, line in enumerate(lines))
    return (f'<rect x="{x}" y="{y}" width="{BOX_W}" height="{BOX_H}" rx="8" fill="white" stroke="{color}" '
            f'stroke-width="2"/><text x="{x + BOX_W / 2}" y="{y + 22}" font-size="13" font-weight="bold" '
            f'text-anchor="middle" fill="{color}">{html.escape(title)}</text>{text}')


def _arrow(x1, y1, x2, y2, label):
    vertical = x1 == x2
    anchor, dx, dy = ("start", 8, 4) if vertical else ("middle", 0, -7)
    caption = (f'<text x="{(x1 + x2) / 2 + dx}" y="{(y1 + y2) / 2 + dy}" font-size="10" text-anchor="{anchor}" '
               f'fill="#444">{html.escape(label)}</text>') if label else ""
    return (f'<line x1="{x1}" y1="{y1}" x2="{x2 - 2}" y2="{y2 - 2 if y2 > y1 else y2}" stroke="#444" '
            f'stroke-width="1.5" marker-end="url(#arrow)"/>{caption}')
