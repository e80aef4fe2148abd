r"""How wide TeX will set a piece of display math, and where to break it: the width model of the LaTeX writer.

:func:`math_width` estimates the width (in em of the current font) of math typeset in display style, from
hand-measured glyph widths of Computer Modern (letters, digits, Greek, relations and binary operators with their
spacing, big operators, fractions, scripts, matrices, ``\text``).  It is an estimate: the document boxes every
row with ``\svfit``, which scales a row down only when TeX finds it wider than the line.

:func:`break_math` splits display math at top-level break opportunities (``,\quad`` separators, then relations,
then binary ``+``/``-``; never inside braces, ``\left...\right`` or an environment) into lines that fit a width;
:func:`inline_pieces` turns inline math into text a paragraph can break.

>>> break_math(r"a + b + c = d", 5.0)
['a + b + c', '= d']
"""

from __future__ import annotations

import re

__all__ = ["math_width", "break_math", "inline_pieces", "tex_tokens"]


_TOKEN = re.compile(r"\\[A-Za-z]+\*?|\\.|\s+|.", re.S)

_RELATIONS = {"=", "<", ">", r"\le", r"\leq", r"\ge", r"\geq", r"\simeq", r"\approx", r"\equiv", r"\neq", r"\ne",
              r"\to", r"\succeq", r"\succ", r"\preceq", r"\prec", r"\Rightarrow", r"\Longrightarrow",
              r"\Leftrightarrow", r"\Longleftrightarrow", r"\iff", r"\implies", r"\xrightarrow", r"\sim",
              r"\propto", r"\mapsto", r"\longrightarrow", r"\rightarrow", r"\cong", r"\coloneqq"}
_BINARY = {"+", "-", r"\pm", r"\mp", r"\times", r"\cdot", r"\otimes", r"\oplus", r"\cup", r"\cap", r"\setminus",
           r"\circ"}
_OPEN = {"(", "[", r"\{", r"\langle", r"\lbrace", r"\lvert", r"\lVert"}
_CLOSE = {")", "]", r"\}", r"\rangle", r"\rbrace", r"\rvert", r"\rVert"}
_SPACES = {r"\,": .167, r"\:": .222, r"\;": .278, r"\!": -.167, "\\ ": .333, r"\quad": 1.0, r"\qquad": 2.0,
           "~": .333, r"\enspace": .5, r"\thinspace": .167}
_SIZERS = {r"\left", r"\right", r"\middle", r"\big", r"\Big", r"\bigg", r"\Bigg", r"\bigl", r"\bigr", r"\Bigl",
           r"\Bigr", r"\biggl", r"\biggr", r"\Biggl", r"\Biggr", r"\bigm", r"\Bigm"}
_ZERO = {r"\displaystyle", r"\textstyle", r"\scriptstyle", r"\limits", r"\nolimits", r"\nonumber", r"\notag",
         r"\allowbreak", r"\relax", r"\mathclose", r"\mathopen", r"\mathpunct", r"\mathinner"}
_ACCENTS = {r"\mathcal", r"\mathbb", r"\mathbf", r"\boldsymbol", r"\bm", r"\hat", r"\bar", r"\tilde", r"\widehat",
            r"\widetilde", r"\overline", r"\underline", r"\vec", r"\dot", r"\ddot", r"\mathit", r"\mathsf",
            r"\mathtt", r"\mathfrak", r"\mathscr", r"\phantom", r"\hphantom", r"\mathop", r"\mathord",
            r"\check", r"\breve", r"\acute", r"\grave", r"\mathring"}
_TEXTUAL = {r"\text", r"\textrm", r"\textit", r"\textbf", r"\mathrm", r"\operatorname", r"\operatorname*",
            r"\mbox", r"\textsf", r"\texttt", r"\emph"}
_WORDS = {r"\tr", r"\log", r"\exp", r"\det", r"\min", r"\max", r"\lim", r"\sup", r"\inf", r"\ln", r"\arg",
          r"\sin", r"\cos", r"\tanh", r"\sinh", r"\cosh", r"\argmin", r"\argmax", r"\rank", r"\diag", r"\dim",
          r"\ker", r"\deg", r"\Pr"}
_BIGOPS = {r"\sum": 1.45, r"\prod": 1.3, r"\int": 0.9, r"\bigcup": 1.2, r"\bigcap": 1.2, r"\oint": 0.9,
           r"\bigotimes": 1.4, r"\bigoplus": 1.4}
_WIDE = {r"\infty": 1.0, r"\nabla": .83, r"\partial": .57, r"\ell": .42, r"\dots": 1.2, r"\ldots": 1.2,
         r"\cdots": 1.2, r"\vdots": .3, r"\ddots": 1.2, r"\|": .5, r"\top": .78, r"\star": .5, r"\ast": .5,
         r"\prime": .3, r"\emptyset": .5, r"\forall": .56, r"\exists": .56, r"\neg": .67, r"\surd": .83,
         r"\{": .5, r"\}": .5, r"\langle": .39, r"\rangle": .39, r"\mid": .84, r"\Vert": .5, r"\vert": .28}
_CHARS = {"(": .39, ")": .39, "[": .28, "]": .28, ",": .45, ";": .45, ":": .84, "|": .28, "/": .5, "'": .3,
          "!": .3, ".": .28, "*": .94, "&": 0.0}


def tex_tokens(tex: str) -> list[str]:
    return _TOKEN.findall(tex)


def _tree(tokens: list[str]) -> list:
    """Nest ``{...}`` groups as lists (unbalanced braces are closed at the end)."""
    stack: list[list] = [[]]
    for t in tokens:
        if t == "{":
            stack.append([])
        elif t == "}":
            if len(stack) > 1:
                group = stack.pop()
                stack[-1].append(group)
        else:
            stack[-1].append(t)
    while len(stack) > 1:
        group = stack.pop()
        stack[-1].append(group)
    return stack[0]


def _flat(node) -> str:
    if isinstance(node, list):
        return "".join(_flat(n) for n in node)
    return node


def _text_width(node) -> float:
    s = re.sub(r"\\[A-Za-z]+", "x", _flat(node))
    return sum(.74 if c.isupper() else .5 if c.isalnum() else .33 if c == " " else .3 for c in s)


def _width(nodes: list, scale: float = 1.0) -> float:
    total, i, last_script = 0.0, 0, None

    def arg(j):
        while j < len(nodes) and isinstance(nodes[j], str) and nodes[j].isspace():
            j += 1
        return (nodes[j], j + 1) if j < len(nodes) else ([], j)

    def one(node, s):
        return _width(node if isinstance(node, list) else [node], s)

    while i < len(nodes):
        n = nodes[i]
        i += 1
        w = 0.0
        script = False
        if isinstance(n, list):
            w = _width(n, scale)
        elif n.isspace():
            continue
        elif n in ("^", "_"):
            a, i = arg(i)
            w = one(a, max(scale * .7, .5))
            script = True
            if last_script is not None:  # sub- and superscript stack: the wider one counts
                w = max(0.0, w - last_script)
                last_script = None
                total += w
                continue
            last_script = w
            total += w
            continue
        elif n in (r"\frac", r"\dfrac", r"\cfrac", r"\tfrac", r"\binom", r"\tbinom", r"\dbinom"):
            a, i = arg(i)
            b, i = arg(i)
            s = scale * (.7 if n in (r"\tfrac", r"\tbinom") or scale < 1 else 1.0)
            w = max(one(a, s), one(b, s)) + .24 * scale
        elif n == r"\sqrt":
            a, i = arg(i)
            if a == "[":
                while i < len(nodes) and nodes[i] != "]":
                    i += 1
                a, i = arg(i + 1)
            w = one(a, scale) + .85 * scale
        elif n in (r"\xrightarrow", r"\xleftarrow"):
            below = []
            a, j = arg(i)
            if a == "[":
                k = j
                while k < len(nodes) and nodes[k] != "]":
                    k += 1
                below, j = nodes[j:k], k + 1
                a, j = arg(j)
            i = j
            w = max(one(a, .7 * scale), _width(below, .7 * scale), 1.0 * scale) + 1.0 * scale
        elif n in _SIZERS:
            a, i = arg(i)
            w = 0.0 if a == "." else .45 * scale
        elif n in _ZERO:
            w = 0.0
        elif n in (r"\vphantom", r"\label", r"\tag", r"\hspace*", r"\vspace"):
            _, i = arg(i)
        elif n == r"\hspace":
            a, i = arg(i)
            m = re.match(r"\s*(-?[\d.]+)\s*(em|pt|ex)", _flat(a))
            w = float(m.group(1)) * {"em": 1, "pt": .1, "ex": .43}[m.group(2)] if m else 1.0
        elif n in _ACCENTS:
            a, i = arg(i)
            w = one(a, scale) * (1.1 if n in (r"\mathcal", r"\mathbb") else 1.0)
        elif n in _TEXTUAL:
            a, i = arg(i)
            w = _text_width(a) * scale + (.17 * scale if n.startswith(r"\operatorname") else 0.0)
        elif n == r"\begin":
            name, i = arg(i)
            name = _flat(name)
            depth, j = 1, i
            while j < len(nodes) and depth:
                if nodes[j] == r"\begin":
                    depth += 1
                elif nodes[j] == r"\end":
                    depth -= 1
                j += 1
            body, i = nodes[i:j - 1], j
            _, i = arg(i)  # \end's {name}
            w = _matrix_width(body, scale) + (.9 * scale if "matrix" in name or name == "cases" else 0.0)
        elif n in _SPACES:
            w = _SPACES[n] * scale
        elif n in _RELATIONS:
            w = (1.9 if "Long" in n or n == r"\iff" else 1.0 if len(n) > 2 else .78) * scale + .56 * scale
        elif n in _BINARY:
            w = .78 * scale + .44 * scale
        elif n in _BIGOPS:
            w = _BIGOPS[n] * scale + .17 * scale
        elif n in _WORDS:
            w = (len(n) - 1) * .5 * scale + .17 * scale
        elif n in _WIDE:
            w = _WIDE[n] * scale
        elif n.startswith("\\") and len(n) > 2:
            w = .62 * scale  # Greek letters and most symbols
        elif n.startswith("\\"):
            w = .4 * scale
        elif n in _CHARS:
            w = _CHARS[n] * scale
        elif n.isdigit():
            w = .5 * scale
        elif n.isupper():
            w = .72 * scale
        else:
            w = .53 * scale
        last_script = None if not script else last_script
        total += w
    return total


def _matrix_width(body: list, scale: float) -> float:
    rows, row, cell = [], [], []
    for n in body:
        if n == "\\\\":
            row.append(cell)
            rows.append(row)
            row, cell = [], []
        elif n == "&":
            row.append(cell)
            cell = []
        else:
            cell.append(n)
    row.append(cell)
    rows.append(row)
    ncols = max(len(r) for r in rows)
    cols = [max((_width(r[k], scale) for r in rows if k < len(r)), default=0.0) for k in range(ncols)]
    return sum(cols) + (ncols - 1) * 1.0 * scale


def math_width(tex: str, scale: float = 1.0) -> float:
    r"""Estimated width, in em of the current font, of ``tex`` typeset in display style.

    >>> round(math_width(r"a + b"), 1), math_width(r"\frac{x}{y}") < math_width("x + y")
    (2.3, True)
    """
    return _width(_tree(tex_tokens(tex)), scale)


def _candidates(tokens: list[str]) -> list[tuple[int, int, float]]:
    r"""Top-level break opportunities as ``(end of this line, start of the next, penalty)``.

    Never inside ``{...}``, ``\left...\right`` or an environment; best after ``,\quad`` separators, then
    before relations, then before binary ``+``/``-``; every open bracket level costs more.
    """
    out: list[tuple[int, int, float]] = []
    brace = lr = env = bracket = 0
    prev = None  # previous significant token at top level
    i = 0
    while i < len(tokens):
        t = tokens[i]
        top = brace == 0 and lr == 0 and env == 0
        if t == "{":
            brace += 1
        elif t == "}":
            brace = max(0, brace - 1)
        elif t == r"\left":
            lr += 1
        elif t == r"\right":
            lr = max(0, lr - 1)
        elif t == r"\begin":
            env += 1
        elif t == r"\end":
            env = max(0, env - 1)
        elif top and t in _OPEN:
            bracket += 1
        elif top and t in _CLOSE:
            bracket = max(0, bracket - 1)
        elif top and prev is not None:
            cost = 3.0 * bracket
            if t in (",", ";"):
                j = i + 1
                while j < len(tokens) and (tokens[j].isspace() or tokens[j] in _SPACES):
                    j += 1
                if j > i + 1 and any(tokens[k] in _SPACES and _SPACES[tokens[k]] >= .3 for k in range(i + 1, j)):
                    out.append((i + 1, j, 0.0 + cost))
            elif t in (r"\quad", r"\qquad") and prev not in (",", ";"):
                j = i + 1
                while j < len(tokens) and (tokens[j].isspace() or tokens[j] in _SPACES):
                    j += 1
                out.append((i, j, 0.5 + cost))
            elif t in _RELATIONS and prev not in _RELATIONS and prev not in _OPEN:
                out.append((i, i, 1.0 + cost))
            elif t in ("+", "-") and prev not in _RELATIONS | _BINARY | _OPEN | {",", ";", "^", "_", "&"} \
                    and prev not in _SIZERS:
                out.append((i, i, 2.0 + cost))
        if not t.isspace() and brace == 0:
            prev = t if (lr == 0 and env == 0) or t in (r"\right", "}") else prev
        i += 1
    return out


def break_math(tex: str, first: float, rest: float | None = None) -> list[str]:
    r"""Split display math ``tex`` into lines of estimated width at most ``first`` em (the first line) and
    ``rest`` em (the others), at top-level break opportunities; a piece that cannot be broken stays whole.

    >>> break_math(r"a + b + c = d", 5.0)
    ['a + b + c', '= d']
    >>> break_math(r"a + b + c + d", 3.0)
    ['a + b', '+ c', '+ d']
    >>> break_math(r"\left(a + b + c\right)", 2.0)
    ['\\left(a + b + c\\right)']
    """
    rest = first if rest is None else rest
    tokens = tex_tokens(tex)
    cands = _candidates(tokens)
    # widths of the stretches between consecutive break opportunities, summed (the estimate is additive)
    cuts = sorted({0, len(tokens)} | {c[0] for c in cands} | {c[1] for c in cands})
    seg = {(a, b): math_width("".join(tokens[a:b])) for a, b in zip(cuts, cuts[1:])}

    def width(a, b):
        return sum(w for (x, y), w in seg.items() if a <= x and y <= b)

    lines: list[str] = []
    start, budget = 0, first
    while True:
        if width(start, len(tokens)) <= budget:
            break
        feasible = []
        for c in cands:
            if c[0] > start:
                w = width(start, c[0])
                feasible.append((c, w))
                if w > budget:
                    break
        if not feasible:
            break
        fits = [(c, w) for c, w in feasible if w <= budget]
        if not fits:
            c = feasible[0][0]  # nothing fits: the shortest piece (the row is scaled to fit later)
        else:
            good = [(c, w) for c, w in fits if w >= .5 * budget] or fits
            c = min(good, key=lambda cw: (cw[0][2], -cw[0][0]))[0]
        piece = "".join(tokens[start:c[0]]).strip()
        if piece:
            lines.append(piece)
        start, budget = c[1], rest
    last = "".join(tokens[start:]).strip()
    if last or not lines:
        lines.append(last)
    return lines


def inline_pieces(tex: str) -> str:
    r"""Inline math as text that a paragraph can break: split at top-level ``,\ `` / ``;\ `` separators into
    several ``$...$``, and top-level ``\text{...}`` taken out of math (TeX breaks one formula only after
    relations and operators, and never inside ``\text``)."""
    tokens = tex_tokens(tex)
    ends = {c[0]: c[1] for c in _candidates(tokens) if tokens[c[0] - 1] in (",", ";")}
    pieces: list[tuple[str, str]] = []  # ("math" | "text", content)
    cur: list[str] = []
    depth, k = 0, 0

    def flush():
        m = "".join(cur).strip()
        while True:  # trailing spacing (a control space "\ " stripped to a lone backslash, \, \quad) would escape $
            bare = re.sub(r"(?<!\\)\\(?:[,;:!]|quad|qquad)?$", "", m).rstrip()
            if bare == m:
                break
            m = bare
        if m:
            pieces.append(("math", m))
        cur.clear()

    while k < len(tokens):
        t = tokens[k]
        if depth == 0 and k in ends:
            flush()
            k = ends[k]
            continue
        if depth == 0 and t in (r"\text", r"\textrm", r"\mbox") and k + 1 < len(tokens) and tokens[k + 1] == "{":
            j, d = k + 2, 1
            while j < len(tokens) and d:
                d += {"{": 1, "}": -1}.get(tokens[j], 0)
                j += 1
            content = "".join(tokens[k + 2:j - 1])
            if len(content.strip()) > 12:
                flush()
                pieces.append(("text", content.strip()))
                k = j
                continue
        depth += {"{": 1, "}": -1}.get(t, 0)
        cur.append(t)
        k += 1
    flush()
    return " ".join(f"${p}$" if kind == "math" else p for kind, p in pieces)
