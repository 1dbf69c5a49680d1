"""A picture of a consistent-hash ring: each shard's virtual nodes on a circle, and keys walking clockwise to theirs.

The picture is drawn from the ring a :class:`~chapter1.components.shards.ShardRouter` routes with (the same
points, :func:`~chapter1.components.shards.ring_points`, and the same owners, ``router.owners``): position 0
is at the top, positions grow clockwise over 2^64.  Each arc of the circle is coloured by the shard whose
point ends it (a key on that arc belongs to that point); a few keys are drawn inside the circle with an
arrow clockwise to the point that owns them.

>>> from chapter1.components.shards import ShardRouter, shard_databases
>>> picture = ring_picture(ShardRouter(shards=shard_databases(3), vnodes=4))
>>> picture.data.count('class="vnode"'), "key 0" in picture.data
(12, True)
"""

import math
import re

import numpy as np

from ..components.shards import ShardRouter, key_hash, ring_points
from ..core import validation as check
from .svg import Picture, document, text

#: One colour per shard (up to 16, then they repeat): distinct hues, readable on white.
SHARD_COLORS = ("#4c78a8", "#f58518", "#54a24b", "#e45756", "#72b7b2", "#b279a2", "#ff9da6", "#9d755d",
                "#bab0ac", "#eeca3b", "#1f77b4", "#8c564b", "#17becf", "#bcbd22", "#7f7f7f", "#393b79")
MAX_ARCS = 720        # beyond this many points the arcs are drawn sampled every 0.5 degree
MAX_TICKS = 160       # up to this many points each is marked with a tick
MAX_KEYS = 8


def _point(cx, cy, r, turn):
    """(x, y) at ``turn`` (0-1, clockwise from the top) on a circle of radius ``r``."""
    angle = 2 * math.pi * turn
    return cx + r * math.sin(angle), cy - r * math.cos(angle)


def _segment(cx, cy, r, start, end):
    """The path data of an arc from turn ``start`` clockwise to turn ``end`` (end may pass 1)."""
    x1, y1 = _point(cx, cy, r, start)
    x2, y2 = _point(cx, cy, r, end)
    return f"M{x1:.1f},{y1:.1f}A{r:g},{r:g} 0 {1 if end - start > 0.5 else 0} 1 {x2:.1f},{y2:.1f}"


def _arc(cx, cy, r, start, end, color, width, extra=""):
    """An SVG arc from turn ``start`` clockwise to turn ``end``."""
    return (f'<path d="{_segment(cx, cy, r, start, end)}" fill="none" stroke="{color}" stroke-width="{width}"'
            f'{extra}/>')


def _runs(ends, owners):
    """Arcs (start turn, end turn, owner) with neighbours of the same owner merged; each arc ends at its point."""
    starts = np.concatenate([[ends[-1] - 1.0], ends[:-1]])
    keep = np.concatenate([[True], owners[1:] != owners[:-1]])
    first = np.flatnonzero(keep)
    last = np.append(first[1:] - 1, len(ends) - 1)
    return [(float(starts[a]), float(ends[b]), int(owners[a])) for a, b in zip(first, last)]


def ring_picture(router, keys=(0, 1, 2, 3, 4), *, size=320):
    """An SVG of ``router``'s hash ring (scheme "ring"): shards' virtual nodes on a circle, ``keys`` mapped clockwise.

    ``keys`` are key ids as requests carry them (0 = the most popular); each is placed at its hash and
    an arrow runs clockwise to the first point, whose shard owns it.  The legend gives each shard's
    share of the circle.  With more than :data:`MAX_ARCS` points the arcs are drawn sampled every 0.5
    degree (finer arcs than that cannot be seen); up to :data:`MAX_TICKS` points each is marked by a tick.

    >>> from chapter1.components.shards import ShardRouter, shard_databases
    >>> ring_picture(ShardRouter(shards=shard_databases(2), scheme="modulo"))
    Traceback (most recent call last):
    ...
    ValueError: ring_picture draws a consistent-hash ring: the router's scheme must be 'ring', not 'modulo'
    """
    check.instance("router", router, ShardRouter, "ShardRouter(scheme='ring', vnodes=100)")
    if router.scheme != "ring":
        raise ValueError(f"ring_picture draws a consistent-hash ring: the router's scheme must be 'ring', "
                         f"not {router.scheme!r}")
    keys = np.asarray(keys, dtype=np.int64).ravel()
    if len(keys) > MAX_KEYS or np.any(keys < 0):
        raise ValueError(f"keys must be at most {MAX_KEYS} key ids >= 0; got {keys.tolist()}")
    check.number("size", size, low=160, high=1_000)
    names = tuple(s.name for s in router.shards)
    positions, owners = ring_points(names, router.vnodes)
    turns = positions.astype(float) / 2.0**64
    cx = cy = size / 2
    radius = size / 2 - 34
    pieces = [f'<circle cx="{cx}" cy="{cy}" r="{radius}" fill="none" stroke="#ddd" stroke-width="12"/>']
    if len(turns) <= MAX_ARCS:
        arcs = _runs(turns, owners)
    else:  # sample: the owner of each 0.5 degree step's end, as a key there would find it
        steps = (np.arange(1, MAX_ARCS + 1) / MAX_ARCS)
        at = np.searchsorted(turns, steps, side="left") % len(turns)
        arcs = _runs(steps, owners[at])
    if len(arcs) == 1:
        pieces.append(f'<circle cx="{cx}" cy="{cy}" r="{radius}" fill="none" '
                      f'stroke="{SHARD_COLORS[arcs[0][2] % 16]}" stroke-width="12"/>')
    else:
        for shard in sorted({o for _, _, o in arcs}):  # one path per shard: its arcs one after another
            path = "".join(_segment(cx, cy, radius, a, b) for a, b, o in arcs if o == shard)
            pieces.append(f'<path class="arcs" d="{path}" fill="none" stroke="{SHARD_COLORS[shard % 16]}" '
                          f'stroke-width="12"/>')
    if len(turns) <= MAX_TICKS:
        for turn, owner in zip(turns, owners):
            x1, y1 = _point(cx, cy, radius + 8, turn)
            x2, y2 = _point(cx, cy, radius - 8, turn)
            pieces.append(f'<line class="vnode" x1="{x1:.1f}" y1="{y1:.1f}" x2="{x2:.1f}" y2="{y2:.1f}" '
                          f'stroke="{SHARD_COLORS[owner % 16]}" stroke-width="1.5"/>')
    pieces += _keys(router, keys, positions, turns, cx, cy, radius)
    pieces.append(text(cx, cy - 4, f"{len(names)} shards x {router.vnodes:,}", 12, "bold", "middle"))
    pieces.append(text(cx, cy + 12, "virtual nodes", 11, anchor="middle", fill="#555"))
    pieces += _legend(names, turns, owners, size)
    return document(size + 150, size, pieces)


def key_points(router, keys):
    """For each key: (its turn on the ring 0-1, the index of the point that owns it in ring order, its shard index).

    The point is the first at or clockwise after the key's hash, exactly as the router places keys.
    """
    names = tuple(s.name for s in router.shards)
    positions, _ = ring_points(names, router.vnodes)
    hashes = key_hash(np.asarray(keys, dtype=np.int64))
    at = np.searchsorted(positions, hashes, side="left") % len(positions)
    return hashes.astype(float) / 2.0**64, at, router.owners(np.asarray(keys, dtype=np.int64))


def _keys(router, keys, positions, turns, cx, cy, radius):
    """Each key as a dot inside the ring, an arrow clockwise to its point, and its label."""
    if not len(keys):
        return []
    spots, at, shard = key_points(router, keys)
    pieces = ['<defs><marker id="ring-arrow" markerWidth="7" markerHeight="7" refX="6" refY="3.5" orient="auto" '
              'markerUnits="userSpaceOnUse"><path d="M0,0 L7,3.5 L0,7 z" fill="#333"/></marker></defs>']
    for k, (key, spot, point) in enumerate(zip(keys.tolist(), spots, at)):
        end = turns[point] + (1.0 if turns[point] < spot else 0.0)
        r = radius - 24 - 10 * (k % 4)
        color = SHARD_COLORS[int(shard[k]) % 16]
        x, y = _point(cx, cy, r, spot)
        ex, ey = _point(cx, cy, r, end)
        tx, ty = _point(cx, cy, radius - 7, end)
        pieces.append(f'<path class="key-path" d="{_segment(cx, cy, r, spot, max(end, spot + 1e-4))}'
                      f'L{tx:.1f},{ty:.1f}" fill="none" stroke="{color}" stroke-width="1.5" '
                      f'marker-end="url(#ring-arrow)"/>')
        pieces.append(f'<circle class="key" cx="{x:.1f}" cy="{y:.1f}" r="3" fill="#333"/>')
        lx, ly = _point(cx, cy, r - 16, spot)
        pieces.append(text(round(lx, 1), round(ly + 4, 1), f"key {key}", 10, anchor="middle", fill="#333"))
    return pieces


def _legend(names, turns, owners, size):
    """Each shard's colour, name and share of the circle (the arcs ending at its points)."""
    arcs = np.diff(np.concatenate([[turns[-1] - 1.0], turns]))
    shares = np.bincount(owners, weights=arcs, minlength=len(names))
    step = min(18, (size - 30) / max(len(names), 1))
    pieces = [text(size + 10, 20, "share of the ring", 11, "bold")]
    for k, (name, share) in enumerate(zip(names, shares)):
        y = 38 + step * k
        pieces.append(f'<rect x="{size + 10}" y="{y - 9:.1f}" width="12" height="10" fill="{SHARD_COLORS[k % 16]}"/>')
        pieces.append(text(size + 28, round(y, 1), f"{name}: {share:.1%}", min(11, step - 2)))
    return pieces


def side_by_side(*pictures, gap=12):
    """One SVG picture holding ``pictures`` (objects with SVG ``.data``) left to right, tops aligned.

    >>> 'width="92" height="60"' in side_by_side(document(50, 40, []), document(30, 60, [])).data[:70]
    True
    """
    sizes = [_size(p.data) for p in pictures]
    width = sum(w for w, _ in sizes) + gap * (len(pictures) - 1)
    height = max(h for _, h in sizes)
    x, body = 0.0, []
    for picture, (w, _) in zip(pictures, sizes):
        body.append(f'<g transform="translate({x:g},0)">{picture.data}</g>')
        x += w + gap
    return Picture(f'<svg xmlns="http://www.w3.org/2000/svg" width="{width:g}" height="{height:g}" '
                   f'viewBox="0 0 {width:g} {height:g}">{"".join(body)}</svg>')


def _size(svg):
    """(width, height) of an SVG document's root element."""
    root = re.match(r"\s*<svg[^>]*>", svg)
    found = {k: float(v) for k, v in re.findall(r'\b(width|height)="([\d.]+)"', root.group(0) if root else "")}
    if len(found) != 2:
        raise ValueError("side_by_side needs SVG pictures whose root has a width and a height")
    return found["width"], found["height"]
