"""The dependency graph of the statements as an inline SVG: drawn at build time, no network, no graphviz.

Layers from the longest chain of uses (a statement sits one column right of everything it uses), rows ordered by
the mean row of the statements each one uses (a few barycentre sweeps), edges as curves from the used statement to
the user, nodes coloured by verdict and linked to their pages.
"""

from __future__ import annotations

import html

# verdict -> (fill, stroke); the legend lists them in this order
COLOURS = {
    "verified": ("#dcf3dc", "#2e7d32"),
    "verified under hypotheses": ("#d8f0ee", "#00796b"),
    "sharpened": ("#dde7fb", "#1f4fb5"),
    "contradicts the paper": ("#ffe6c7", "#b85400"),
    "falsified as written": ("#fadada", "#b71c1c"),
    "not established": ("#e4e4e4", "#4d4d4d"),
}

NODE_W, NODE_H, COL_GAP, ROW_GAP, PAD = 172, 40, 26, 9, 6


def layers(ids: list[str], uses: dict[str, tuple[str, ...]]) -> dict[str, int]:
    """Column of each statement: 0 when it uses nothing, else one more than the deepest statement it uses."""
    depth: dict[str, int] = {}

    def visit(i: str, seen: tuple = ()) -> int:
        if i in seen:
            raise ValueError(f"uses: a cycle through {' -> '.join((*seen, i))}")
        if i not in depth:
            depth[i] = 1 + max((visit(j, (*seen, i)) for j in uses.get(i, ())), default=-1)
        return depth[i]

    for i in ids:
        visit(i)
    return depth


def _order(ids: list[str], uses: dict, depth: dict) -> list[list[str]]:
    cols = [[i for i in ids if depth[i] == k] for k in range(max(depth.values()) + 1)]
    users: dict[str, list[str]] = {i: [] for i in ids}
    for i in ids:
        for j in uses.get(i, ()):
            users[j].append(i)
    for _ in range(4):  # barycentre sweeps: right using predecessors, then left using successors
        for k in range(1, len(cols)):
            pos = {i: r for col in cols[:k] for r, i in enumerate(col)}
            cols[k].sort(key=lambda i: sum(pos[j] for j in uses[i]) / len(uses[i]) if uses[i] else 0)
        for k in range(len(cols) - 2, -1, -1):
            pos = {i: r for col in cols[k + 1:] for r, i in enumerate(col)}
            cols[k].sort(key=lambda i: (sum(pos[j] for j in users[i]) / len(users[i]) if users[i] else len(pos)))
    return cols


def svg(nodes: list[dict], uses: dict[str, tuple[str, ...]], href_prefix: str = "") -> str:
    """``nodes``: dicts with ``id``, ``label`` (short, plain text), ``title`` (tooltip) and ``verdict``; returns
    the ``<svg>`` element.  ``href_prefix`` is prepended to ``<id>.html`` for the node links."""
    ids = [n["id"] for n in nodes]
    for i in ids:
        for j in uses.get(i, ()):
            if j not in ids:
                raise ValueError(f"uses: {i!r} uses unknown statement {j!r}")
    info = {n["id"]: n for n in nodes}
    depth = layers(ids, uses)
    cols = _order(ids, uses, depth)
    tallest = max(len(c) for c in cols)
    height = 2 * PAD + tallest * NODE_H + (tallest - 1) * ROW_GAP
    width = 2 * PAD + len(cols) * NODE_W + (len(cols) - 1) * COL_GAP
    xy = {}
    for k, col in enumerate(cols):
        top = PAD + (height - 2 * PAD - (len(col) * NODE_H + (len(col) - 1) * ROW_GAP)) / 2
        for r, i in enumerate(col):
            xy[i] = (PAD + k * (NODE_W + COL_GAP), top + r * (NODE_H + ROW_GAP))
    out = [f'<svg class="sv-graph" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width:.0f} {height + 34:.0f}" '
           f'width="{width:.0f}" role="img" aria-label="Which statement uses which, coloured by verdict">',
           '<defs><marker id="sv-arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" '
           'orient="auto-start-reverse"><path d="M 0 0 L 10 5 L 0 10 z" fill="#777"/></marker></defs>']
    for i in ids:
        for j in uses.get(i, ()):
            (x0, y0), (x1, y1) = xy[j], xy[i]
            x0, y0, x1, y1 = x0 + NODE_W, y0 + NODE_H / 2, x1 - 2, y1 + NODE_H / 2
            mid = (x1 - x0) / 2
            out.append(f'<path d="M {x0:.1f} {y0:.1f} C {x0 + mid:.1f} {y0:.1f}, {x1 - mid:.1f} {y1:.1f}, '
                       f'{x1:.1f} {y1:.1f}" fill="none" stroke="#888" stroke-width="1.3" '
                       f'marker-end="url(#sv-arrow)"/>')
    for i in ids:
        x, y = xy[i]
        n = info[i]
        fill, stroke = COLOURS.get(n["verdict"], COLOURS["not established"])
        label = n["label"] if len(n["label"]) <= 24 else n["label"][:23].rstrip() + "…"
        out.append(
            f'<a href="{html.escape(href_prefix + i)}.html"><title>{html.escape(n["title"])} '
            f'[{html.escape(n["verdict"])}]</title>'
            f'<rect x="{x:.1f}" y="{y:.1f}" width="{NODE_W}" height="{NODE_H}" rx="6" fill="{fill}" '
            f'stroke="{stroke}" stroke-width="1.6"/>'
            f'<text x="{x + 7:.1f}" y="{y + 16:.1f}" font-size="12" font-weight="600" fill="#1a1a1a">'
            f'{html.escape(label)}</text>'
            f'<text x="{x + 7:.1f}" y="{y + 32:.1f}" font-size="10.5" font-family="monospace" fill="#333">'
            f'{html.escape(i)}</text></a>')
    lx = PAD
    for verdict, (fill, stroke) in COLOURS.items():
        out.append(f'<rect x="{lx:.0f}" y="{height + 10}" width="14" height="14" rx="3" fill="{fill}" stroke="{stroke}"/>'
                   f'<text x="{lx + 19:.0f}" y="{height + 21}" font-size="12" fill="currentColor">{html.escape(verdict)}</text>')
        lx += 19 + 6.4 * len(verdict) + 18
    out.append("</svg>")
    return "\n".join(out)
