"""The network picture of chapter 02: web tier in a public subnet, database in a private one."""

import html
import math

W, H, GAP, PAD = 150, 74, 46, 16
PUBLIC, PRIVATE, NET = "#2c7fb8", "#7b3294", "#555"


def subnet_diagram(architecture, nat_gateway=True):
    """The network picture: web tier in a public subnet, database in a private one behind a NAT gateway.

    Tiers with the "database" role (and nothing else) go in the private subnet; every other
    tier (web servers, a load balancer, a box doing everything) is in the public subnet, which
    the internet can reach.  The private subnet has no route in from the internet; its servers
    reach out (software updates, external APIs) through the NAT gateway.

    >>> from chapter1 import web_and_database
    >>> svg = subnet_diagram(web_and_database()).data
    >>> all(word in svg for word in ("public subnet", "private subnet", "NAT gateway", "database"))
    True
    """
    from IPython.display import SVG

    public = [t for t in architecture.tiers if tuple(getattr(t, "roles", ())) != ("database",)]
    private = [t for t in architecture.tiers if tuple(getattr(t, "roles", ())) == ("database",)]
    top = 104                       # row of clients and tiers
    middle = top + H + 22           # DNS
    bottom = middle + H - 22 + 22   # outside services and the NAT gateway
    pub_x = 2 * PAD + W + 64
    pub_w = max(1, len(public)) * (W + GAP) - GAP + 2 * PAD + 40
    priv_x = pub_x + pub_w + 24
    priv_w = max(1, len(private)) * (W + GAP) - GAP + 2 * PAD + 40
    width, height = priv_x + priv_w + 2 * PAD, bottom + H + 28
    parts = [_text(PAD, 22, html.escape(architecture.name) + ": public and private subnets", 14, "bold")]
    # the internet, on the left
    parts += [_region(PAD, 40, W + 2 * PAD - 16, height - 52, ["internet"], NET),
              _box(PAD + 8, top, "clients", ["web browser", "mobile app"], NET)]
    if architecture.dns is not None:
        parts.append(_box(PAD + 8, middle, architecture.dns.name.upper(), ["domain name -> IP"], NET, h=H - 22))
    if architecture.dns is not None:
        parts.append(_arrow(PAD + 8 + W / 2, top + H, PAD + 8 + W / 2, middle, ""))
        parts.append(_text(PAD + 16 + W / 2, top + H + 15, "look up", 10, fill="#444"))
    parts.append(_box(PAD + 8, bottom, "outside services", ["software updates", "external APIs"], NET))
    # the cloud network with its two subnets
    parts += [_region(pub_x - 16, 40, priv_x + priv_w - pub_x + 32, height - 52, ["virtual private cloud (VPC)"], "#888"),
              _region(pub_x, 60, pub_w, height - 84, ["public subnet", "reachable from the internet"], PUBLIC),
              _region(priv_x, 60, priv_w, height - 84, ["private subnet", "no route in from the internet"], PRIVATE)]
    xs = {}
    for k, tier in enumerate(public):
        xs[tier.name] = pub_x + PAD + 20 + k * (W + GAP)
        parts.append(_component(tier, xs[tier.name], top, PUBLIC))
    for k, tier in enumerate(private):
        xs[tier.name] = priv_x + PAD + 20 + k * (W + GAP)
        parts.append(_component(tier, xs[tier.name], top, PRIVATE))
    # requests: clients -> each tier in order
    previous, label = PAD + 8 + W, "HTTP request"
    for tier in architecture.tiers:
        queries = tuple(getattr(tier, "roles", ())) == ("database",)
        parts.append(_arrow(previous, top + H / 2, xs[tier.name], top + H / 2, "SQL query" if queries else label))
        previous, label = xs[tier.name] + W, ""
    if nat_gateway:
        nat_x, nat_y = pub_x + pub_w - PAD - 20 - W, bottom + 11
        parts.append(_box(nat_x, nat_y, "NAT gateway", ["outbound only"], PUBLIC, h=H - 22))
        parts.append(_arrow(nat_x, bottom + H / 2, PAD + 8 + W, bottom + H / 2, "to the internet"))
        for tier in private:
            parts.append(_arrow(xs[tier.name] + W / 2, top + H, nat_x + W - 24, nat_y, "", dashed=True))
    if not private:
        parts.append(_text(priv_x + priv_w / 2, top + H / 2, "(empty: the database", 11, anchor="middle", fill="#777"))
        parts.append(_text(priv_x + priv_w / 2, top + H / 2 + 15, "shares the public box)", 11, anchor="middle",
                           fill="#777"))
    body = "".join(parts)
    return SVG(f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" font-family="sans-serif" '
               f'viewBox="0 0 {width} {height}"><rect width="{width}" height="{height}" fill="white"/>'
               f'<defs><marker id="subnet-arrow" markerWidth="8" markerHeight="8" refX="7" refY="4" orient="auto">'
               f'<path d="M0,0 L8,4 L0,8 z" fill="#444"/></marker></defs>{body}</svg>')


def _component(tier, x, y, color):
    roles = ", ".join(getattr(tier, "roles", ())) or tier.kind
    lines = [roles] if roles != tier.name else []
    if hasattr(tier, "workers"):
        lines.append(f"{tier.workers} workers x {tier.service_time_ms:g} ms")
    outages = [f"down {o.start_s:g}-{'' if math.isinf(o.end_s) else f'{o.end_s:g}'} s" for o in tier.outages]
    return _box(x, y, tier.name, lines + outages[:1], "#d62728" if outages else color)


def _box(x, y, title, lines, color, h=H):
    text = "".join(_text(x + W / 2, y + 38 + 14 * k, html.escape(line), 11, anchor="middle",
                         fill="#d62728" if line.startswith("down") else "#333") for k, line in enumerate(lines))
    return (f'<rect x="{x}" y="{y}" width="{W}" height="{h}" rx="8" fill="white" stroke="{color}" stroke-width="2"/>'
            + _text(x + W / 2, y + 20, html.escape(title), 13, "bold", "middle", color) + text)


def _region(x, y, w, h, label_lines, color):
    labels = "".join(_text(x + 10, y + 16 + 14 * k, html.escape(line), 11 if k == 0 else 10,
                           "bold" if k == 0 else "normal", fill=color) for k, line in enumerate(label_lines))
    return (f'<rect x="{x}" y="{y}" width="{w}" height="{h}" rx="10" fill="{color}" fill-opacity="0.05" '
            f'stroke="{color}" stroke-dasharray="6 4"/>{labels}')


def _text(x, y, text, size, weight="normal", anchor="start", fill="#333"):
    return (f'<text x="{x}" y="{y}" font-size="{size}" font-weight="{weight}" text-anchor="{anchor}" '
            f'fill="{fill}">{text}</text>')


def _arrow(x1, y1, x2, y2, label, dashed=False):
    dash = ' stroke-dasharray="4 3"' if dashed else ""
    caption = _text((x1 + x2) / 2, min(y1, y2) - 7, html.escape(label), 10, anchor="middle", fill="#444") if label else ""
    return (f'<line x1="{x1}" y1="{y1}" x2="{x2}" y2="{y2}" stroke="#444" stroke-width="1.5"{dash} '
            f'marker-end="url(#subnet-arrow)"/>{caption}')
