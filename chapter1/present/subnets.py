"""The network picture of chapter 02: web tier in a public subnet, database in a private one."""

from . import svg
from .diagram import down_note

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
    private = [t for t in architecture.tiers if _is_database(t)]
    public = [t for t in architecture.tiers if t not in private]
    top = 104                       # row of clients and tiers
    middle = top + H + 22           # DNS
    bottom = middle + H - 22 + 22   # outside services and the NAT gateway
    pub_x = 2 * PAD + W + 64
    pub_w = max(1, len(public)) * (W + GAP) - GAP + 2 * PAD + 40
    priv_x = pub_x + pub_w + 24
    priv_w = max(1, len(private)) * (W + GAP) - GAP + 2 * PAD + 40
    width, height = priv_x + priv_w + 2 * PAD, bottom + H + 28
    parts = [svg.text(PAD, 22, architecture.name + ": public and private subnets", 14, "bold")]
    # the internet, on the left
    parts += [svg.region(PAD, 40, W + 2 * PAD - 16, height - 52, ["internet"], NET),
              _box(PAD + 8, top, "clients", ["web browser", "mobile app"], NET)]
    if architecture.dns is not None:
        parts.append(_box(PAD + 8, middle, architecture.dns.name.upper(), ["domain name -> IP"], NET, h=H - 22))
    if architecture.dns is not None:
        parts.append(svg.arrow(PAD + 8 + W / 2, top + H, PAD + 8 + W / 2, middle, ""))
        parts.append(svg.text(PAD + 16 + W / 2, top + H + 15, "look up", 10, fill="#444"))
    parts.append(_box(PAD + 8, bottom, "outside services", ["software updates", "external APIs"], NET))
    # the cloud network with its two subnets
    vpc_w = priv_x + priv_w - pub_x + 32
    parts += [svg.region(pub_x - 16, 40, vpc_w, height - 52, ["virtual private cloud (VPC)"], "#888"),
              svg.region(pub_x, 60, pub_w, height - 84, ["public subnet", "reachable from the internet"], PUBLIC),
              svg.region(priv_x, 60, priv_w, height - 84, ["private subnet", "no route in from the internet"], PRIVATE)]
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
        queries = _is_database(tier)
        parts.append(svg.arrow(previous, top + H / 2, xs[tier.name], top + H / 2, "SQL query" if queries else label))
        previous, label = xs[tier.name] + W, ""
    if nat_gateway:
        nat_x, nat_y = pub_x + pub_w - PAD - 20 - W, bottom + 11
        parts.append(_box(nat_x, nat_y, "NAT gateway", ["outbound only"], PUBLIC, h=H - 22))
        parts.append(svg.arrow(nat_x, bottom + H / 2, PAD + 8 + W, bottom + H / 2, "to the internet"))
        for tier in private:
            parts.append(svg.arrow(xs[tier.name] + W / 2, top + H, nat_x + W - 24, nat_y, "", dashed=True))
    if not private:
        middle_x = priv_x + priv_w / 2
        parts.append(svg.text(middle_x, top + H / 2, "(empty: the database", 11, anchor="middle", fill="#777"))
        parts.append(svg.text(priv_x + priv_w / 2, top + H / 2 + 15, "shares the public box)", 11, anchor="middle",
                           fill="#777"))
    return svg.document(width, height, parts)


def _component(tier, x, y, color):
    role, *details = tier.describe()
    lines = ([role] if role != tier.name else []) + details[:1]
    outages = [down_note(o) for o in tier.outages]
    return _box(x, y, tier.name, lines + outages[:1], svg.DOWN if outages else color)


def _box(x, y, title, lines, color, h=H):
    return svg.box(x, y, title, lines, color, W, h)


def _is_database(tier):
    """A tier whose only role is the database (its first diagram line says so)."""
    return tier.describe()[0] == "database"
