"""Architecture diagrams drawn from the same object the simulation runs.

>>> from chapter1 import single_server
>>> "server" in draw(single_server()).data
True
"""

import html
import math

from IPython.display import SVG

BOX_W, BOX_H, GAP, MARGIN = 150, 92, 96, 16
SERVER_GAP, MAX_DRAWN = 10, 5  # a pool's servers: compact boxes in a column, at most 5 drawn
DOWN, UP, JOINS = "#d62728", "#2c7fb8", "#2ca02c"


def draw(architecture):
    """An SVG picture: clients -> (DNS) -> each tier in order; components with outages are marked red.

    A load balancer's servers fan out to its right; with DNS round robin, DNS sits below the clients
    and the clients reach the servers directly.  Servers that join mid-run are drawn green.
    """
    clients = _box(MARGIN, MARGIN + 40, "clients", ["web browser", "mobile app"], "#555")
    x = MARGIN + BOX_W + GAP
    parts, arrows = [clients], []
    if architecture.dns is not None:
        parts.append(_component_box(architecture.dns, MARGIN + 12, MARGIN + BOX_H + 70,
                                    [f"lookup {architecture.dns.lookup_ms:g} ms", f"TTL {architecture.dns.ttl_s:g} s"]))
        arrows.append(_arrow(MARGIN + BOX_W / 2, MARGIN + 40 + BOX_H, MARGIN + BOX_W / 2, MARGIN + BOX_H + 70,
                             "1. domain -> IP"))
    previous_right, label, bottom = MARGIN + BOX_W, "2. HTTP request", MARGIN * 2 + BOX_H * 2 + 80
    for tier in architecture.tiers:
        members = getattr(tier, "parts", ())
        if members and hasattr(tier, "ttl_s") and architecture.dns is None and previous_right == MARGIN + BOX_W:
            # DNS round robin: DNS answers below the clients, who then talk to the servers directly.
            parts.append(_component_box(tier, MARGIN + 12, MARGIN + BOX_H + 70, _describe(tier)))
            arrows.append(_arrow(MARGIN + BOX_W / 2, MARGIN + 40 + BOX_H, MARGIN + BOX_W / 2, MARGIN + BOX_H + 70,
                                 "1. domain -> one IP"))
            label = "2. HTTP"
        else:
            parts.append(_component_box(tier, x, MARGIN + 40, _describe(tier)))
            arrows.append(_arrow(previous_right, MARGIN + 40 + BOX_H / 2, x, MARGIN + 40 + BOX_H / 2, label))
            previous_right, x, label = x + BOX_W, x + BOX_W + GAP, ""
        if members:
            boxes, links, low = _fan_out(tier, x, previous_right, label)
            parts += boxes
            arrows += links
            previous_right, x, label, bottom = x + BOX_W, x + BOX_W + GAP, "", max(bottom, low + MARGIN)
    width = max(x - GAP + MARGIN, 2 * BOX_W + GAP + 2 * MARGIN)
    height = bottom
    title = f'<text x="{MARGIN}" y="{MARGIN + 8}" font-size="14" font-weight="bold">{html.escape(architecture.name)}</text>'
    body = "".join([title, *arrows, *parts])
    return SVG(f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
               f'font-family="sans-serif" viewBox="0 0 {width} {height}">'
               f'<defs><marker id="arrow" markerWidth="8" markerHeight="8" refX="7" refY="4" orient="auto">'
               f'<path d="M0,0 L8,4 L0,8 z" fill="#444"/></marker></defs>{body}</svg>')


def _fan_out(pool, x, source_right, label):
    """A pool's servers in a column at ``x``, each with an arrow from the pool; returns (boxes, arrows, bottom)."""
    members, joins = pool.members, pool.joins_at()
    marked = {k for k, s in enumerate(members) if s.outages or joins[k] > 0}
    first = [k for k in range(len(members)) if k not in marked][:max(0, MAX_DRAWN - len(marked))]
    shown = sorted(marked | set(first))[:MAX_DRAWN]
    lines = {k: [f"{members[k].workers} workers x {members[k].service_time_ms:g} ms"]
             + ([f"joins at {joins[k]:g} s"] if joins[k] > 0 else []) for k in shown}
    height = 36 + 15 * max(len(v) + bool(members[k].outages) for k, v in lines.items())
    boxes, arrows, y, source_y = [], [], MARGIN + 40, MARGIN + 40 + BOX_H / 2
    for k in shown:
        boxes.append(_component_box(members[k], x, y, lines[k], height=height, color=JOINS if joins[k] > 0 else None))
        arrows.append(_arrow(source_right, source_y, x, y + height / 2, label if k == shown[0] else ""))
        y += height + SERVER_GAP
    if len(shown) < len(members):
        boxes.append(f'<text x="{x + BOX_W / 2}" y="{y + 8}" font-size="11" text-anchor="middle" fill="#333">'
                     f'+ {_more_servers(len(members) - len(shown))} like these</text>')
        y += 20
    return boxes, arrows, y


def _describe_pool(pool):
    checks = (f"health check every {pool.health_check_interval_s:g} s" if pool.health_check_interval_s
              else "no health checks")
    if hasattr(pool, "policy"):
        return [pool.policy.replace("_", " "), f"{len(pool.members)} servers", checks]
    return [f"round robin over {len(pool.members)} IPs", f"TTL {pool.ttl_s:g} s", checks]


def _describe(tier):
    if hasattr(tier, "parts"):
        return _describe_pool(tier)
    lines = [", ".join(getattr(tier, "roles", ())) or tier.kind]
    if hasattr(tier, "workers"):
        lines.append(f"{tier.workers} workers x {tier.service_time_ms:g} ms")
        lines.append(f"up to {tier.capacity:,.0f} req/s")
    return lines


def _component_box(component, x, y, lines, height=BOX_H, color=None):
    outages = [f"down {o.start_s:g}-{'' if math.isinf(o.end_s) else f'{o.end_s:g}'} s" for o in component.outages]
    return _box(x, y, component.name, lines + outages[:1], DOWN if outages else color or UP, height)


def _box(x, y, title, lines, color, height=BOX_H):
    text = "".join(f'<text x="{x + BOX_W / 2}" y="{y + 40 + 15 * k}" font-size="11" text-anchor="middle" '
                   f'fill="{DOWN if line.startswith("down") else "#333"}">{html.escape(line)}</text>'
                   for k, line in enumerate(lines))
    return (f'<rect x="{x}" y="{y}" width="{BOX_W}" height="{height}" rx="8" fill="white" stroke="{color}" '
            f'stroke-width="2"/><text x="{x + BOX_W / 2}" y="{y + 22}" font-size="13" font-weight="bold" '
            f'text-anchor="middle" fill="{color}">{html.escape(title)}</text>{text}')


def _arrow(x1, y1, x2, y2, label):
    vertical = x1 == x2
    anchor, dx, dy = ("start", 8, 4) if vertical else ("middle", 0, -7)
    caption = (f'<text x="{(x1 + x2) / 2 + dx}" y="{(y1 + y2) / 2 + dy}" font-size="10" text-anchor="{anchor}" '
               f'fill="#444">{html.escape(label)}</text>') if label else ""
    return (f'<line x1="{x1}" y1="{y1}" x2="{x2 - 2}" y2="{y2 - 2 if y2 > y1 else y2}" stroke="#444" '
            f'stroke-width="1.5" marker-end="url(#arrow)"/>{caption}')


def _more_servers(count):
    """'1 more server', '3 more servers'."""
    return f"{count} more server{'' if count == 1 else 's'}"
