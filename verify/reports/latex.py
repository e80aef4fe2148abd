r"""A standalone LaTeX document of statements: statement, hypotheses, checked derivations, evidence table.

The derivations are the same objects the checker runs (:func:`derivation_tex`); each step is followed by its
one-line justification, set in small type under the equation line, so the mathematics gets the full width.
Long expressions are broken at top-level ``+``/``-``, relations and ``,\quad`` separators into several rows
(:func:`break_math`, driven by an estimate of the typeset width, :func:`math_width`); every row is also boxed
by the ``\svfit`` macro, which scales a row down only if it is still wider than the line (and says so in the
log), so no row can run off the page.  Plain-text fields written by proof authors (titles, names,
justifications) go through :func:`tex_text`, which turns the usual ASCII math (``Sigma``, ``Gamma_w``,
``s^2/2``, ``U_*``, ``R_inf``, ``^T``, ``->``) into math and escapes the rest.

``compile_pdf`` runs ``pdflatex`` when it is on PATH, keeps the log next to the PDF and reports overfull
boxes (:func:`overfull_boxes`).
"""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
from pathlib import Path

import sympy as sp

from verify.kernel.statement import Evidence, Statement

__all__ = [
    "document",
    "derivation_tex",
    "compile_pdf",
    "overfull_boxes",
    "scaled_rows",
    "OverfullBoxes",
    "escape_text",
    "tex_text",
    "math_width",
    "break_math",
]

# ---------------------------------------------------------------------------------------------------------
# plain text

_UNICODE = {
    "Γ": r"$\Gamma$", "Σ": r"$\Sigma$", "μ": r"$\mu$", "ν": r"$\nu$", "σ": r"$\sigma$", "∞": r"$\infty$",
    "≤": r"$\le$", "≥": r"$\ge$", "→": r"$\to$", "∇": r"$\nabla$", "ε": r"$\varepsilon$", "≠": r"$\neq$",
    "±": r"$\pm$", "–": "--", "—": "---", "×": r"$\times$", "²": r"$^2$", "√": r"$\surd$", "’": "'",
}
_PLAIN_CHARS = {"<": r"\textless{}", ">": r"\textgreater{}", "|": r"\textbar{}"}


def escape_text(text: str) -> str:
    r"""Escape LaTeX specials in plain text (not in $...$ math) and map common Unicode to math.

    >>> escape_text("50% of a_b, $x_1$ & <y>")
    '50\\% of a\\_b, $x_1$ \\& \\textless{}y\\textgreater{}'
    """
    if text.count("$") % 2:  # an unbalanced $ would swallow the rest of the document: all are literal
        text = text.replace("$", "\uFFFF")
    out, in_math = [], False
    for ch in text:
        if ch == "\uFFFF":
            out.append(r"\$")
        elif ch == "$":
            in_math = not in_math
            out.append(ch)
        elif in_math:
            out.append(ch)
        elif ch in _UNICODE:
            out.append(_UNICODE[ch])
        elif ch in "&%#_{}":
            out.append("\\" + ch)
        elif ch == "~":
            out.append(r"\textasciitilde{}")
        elif ch == "^":
            out.append(r"\textasciicircum{}")
        elif ch == "\\":
            out.append(r"\textbackslash{}")
        elif ch in _PLAIN_CHARS:
            out.append(_PLAIN_CHARS[ch])
        elif ord(ch) > 127 and not ch.isalpha():
            out.append("?")  # pdflatex's utf8 covers accented letters, not arbitrary symbols
        else:
            out.append(ch)
    return "".join(out)


_GREEK_NAMES = ("alpha beta gamma Gamma delta Delta epsilon varepsilon zeta eta theta Theta kappa lambda Lambda "
                "mu nu xi Xi pi Pi rho sigma Sigma tau phi Phi varphi chi psi Psi omega Omega").split()
_GREEK_RE = "|".join(sorted(_GREEK_NAMES, key=len, reverse=True))
_UNICODE_ASCII = {"Γ": "Gamma", "Σ": "Sigma", "Λ": "Lambda", "Δ": "Delta", "μ": "mu", "ν": "nu", "σ": "sigma",
                  "τ": "tau", "κ": "kappa", "λ": "lambda", "ε": "varepsilon", "θ": "theta", "∞": "inf"}
_SCRIPT = r"[_^](?:\{[^{}\s]*\}|inf\b|-?[A-Za-z0-9]{1,3}(?![A-Za-z0-9])|\*)"
_BASE = (rf"(?:(?<![A-Za-z0-9\\])(?:{_GREEK_RE}|[A-Za-z]{{1,2}}[0-9]*|[0-9]+)(?:\([^()\s]*\))?"
         r"|(?<![A-Za-z0-9\\])\([^()\s]*\)|\|\|[^|\s]+\|\|)")
_MATH_TOKEN = re.compile(
    rf"{_BASE}(?:{_SCRIPT})+(?:/(?:[A-Za-z0-9]+|\([^()\s]*\))(?:{_SCRIPT})*)?(?![A-Za-z0-9])"
    rf"|(?<![A-Za-z0-9\\])[A-Za-z0-9]{{1,2}}/(?:{_GREEK_RE})(?![A-Za-z])"
    rf"|(?<![A-Za-z\\])(?:{_GREEK_RE})(?![A-Za-z])"
    r"|(?<=\s)(?:->|<=|>=|!=|~)(?=\s)")
_OPERATORS = {"->": r"\to", "<=": r"\le", ">=": r"\ge", "!=": r"\neq", "~": r"\sim"}
_FUNCTIONS = re.compile(r"(?<![A-Za-z\\])(tr|det|diag|rank|Var|Cov|log|exp)(?=\()")


def _mathify(token: str) -> str:
    """One ASCII-math token as LaTeX math (without the dollars)."""
    if token in _OPERATORS:
        return _OPERATORS[token]
    t = re.sub(r"\bR_(?:inf|\{inf\})", r"\\mathcal R_\\infty", token)
    t = re.sub(r"\|\|([^|]+)\|\|", r"\\|\1\\|", t)
    t = _FUNCTIONS.sub(r"\\operatorname{\1}", t)
    t = re.sub(rf"(?<![A-Za-z\\])({_GREEK_RE})(?![A-Za-z])", r"\\\1", t)
    t = re.sub(r"([_^])\{?inf\}?(?![A-Za-z])", r"\1\\infty", t)
    t = re.sub(r"\^T(?![A-Za-z0-9])", r"^\\top", t)
    t = re.sub(r"([_^])(-?[A-Za-z0-9]{2,}|-[A-Za-z0-9])(?![A-Za-z0-9])", r"\1{\2}", t)
    return t


def tex_text(text: str) -> str:
    r"""A plain-text field (title, name, justification, source) as LaTeX: ``$...$`` kept as math, the usual
    ASCII math turned into math, everything else escaped.

    >>> tex_text("Gamma_w of the noisy model")
    '$\\Gamma_w$ of the noisy model'
    >>> tex_text("R_inf - s^2/2 as a mean square")
    '$\\mathcal R_\\infty - s^2/2$ as a mean square'
    >>> tex_text("limit point U_*, V_*; E w^T Sigma w = tr Sigma; N -> infinity")
    'limit point $U_*$, $V_*$; E $w^\\top \\Sigma$ w = tr $\\Sigma$; N $\\to$ infinity'
    """
    parts: list[tuple[str, str]] = []  # ("math" | "text", latex)
    for seg in re.split(r"(\$[^$]+\$)", str(text)):
        if len(seg) > 2 and seg.startswith("$") and seg.endswith("$"):
            parts.append(("math", seg[1:-1]))
            continue
        for ch, name in _UNICODE_ASCII.items():
            seg = re.sub(rf"{ch}(?=[A-Za-z0-9])", name + " ", seg) if ch != "∞" else seg
            seg = seg.replace(ch, name)
        pos = 0
        for m in _MATH_TOKEN.finditer(seg):
            if any(re.sub(r"\{[^{}]*\}", "", part).count(c) > 1 for part in m.group(0).split("/") for c in "_^"):
                continue  # a_b_c is a name, not math (and a double subscript would not compile)
            if m.start() > pos:
                parts.append(("text", seg[pos:m.start()]))
            parts.append(("math", _mathify(m.group(0))))
            pos = m.end()
        if pos < len(seg):
            parts.append(("text", seg[pos:]))
    # merge math separated only by spaces or a lone + - = (``R_inf - s^2/2``, ``w^T Sigma``)
    merged: list[tuple[str, str]] = []
    for kind, s in parts:
        if (kind == "math" and len(merged) >= 2 and merged[-2][0] == "math" and merged[-1][0] == "text"
                and re.fullmatch(r"\s+(?:[-+=]\s+)?", merged[-1][1])
                and merged[-2][1] not in _OPERATORS.values() and s not in _OPERATORS.values()):
            glue = merged.pop()[1]
            prev = merged.pop()[1]
            merged.append(("math", f"{prev} {glue.strip()} {s}".replace("  ", " ")))
        elif kind == "math" and merged and merged[-1][0] == "math":
            merged.append(("math", merged.pop()[1] + " " + s))
        else:
            merged.append((kind, s))
    return "".join(f"${s}$" if kind == "math" else escape_text(s.replace("$", "\uFFFF")) for kind, s in merged)


# ---------------------------------------------------------------------------------------------------------
# width estimate and line breaking of display math

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


def _tokens(tex: str) -> list[str]:
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
    return _width(_tree(_tokens(tex)), scale)


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
    tokens = _tokens(tex)
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


def _inline_pieces(tex: str) -> str:
    r"""Inline math as text that a paragraph can break: split at top-level ``,\ `` / ``;\ `` separators into
    several ``$...$``, and top-level ``\text{...}`` taken out of math (TeX breaks one formula only after
    relations and operators, and never inside ``\text``)."""
    tokens = _tokens(tex)
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


# ---------------------------------------------------------------------------------------------------------
# the document

_LINE_EM = 50.0  # \linewidth in em of \small (10pt): 500.5pt with 2cm margins on letter paper
_LINE_EM_NORMAL = 45.7  # the same in em of \normalsize (10.95pt)
_FILL = .94  # aim below the line width: the estimate is an estimate, \svfit catches the rest
_LHS_MAX = .36  # a left side wider than this share of the line gets its own row


def _tex(expr, tex: str | None) -> str:
    tex = tex if tex is not None else sp.latex(expr, order="none")
    if (len(tex) - len(tex.rstrip("\\"))) % 2:  # a trailing lone backslash would eat our closing brace
        tex += " {}"
    return tex


def _continued(piece: str) -> str:
    return "{}" + piece


def _rows_fit(rows: list[tuple[str, str, float]]) -> list[str]:
    """``(left cell, right cell math, indent em)`` as align rows, the right cell boxed to the width left."""
    out = []
    for left, right, indent in rows:
        space = rf"\hspace{{{indent:g}em}}" if indent else ""
        limit = rf"\linewidth-\svlhs-{indent:g}em" if indent else r"\linewidth-\svlhs"
        out.append(f"{left} &{space}\\svfit{{{limit}}}{{{right}}}")
    return out


def derivation_tex(derivation) -> str:
    r"""The derivation as ``align*`` rows, each step followed by its justification (``\svwhy``).

    The first row carries the start (``start_tex``) and the relation of the first step; later steps continue
    with an empty left side.  A step whose left side is not the previous right side (older, unconnected
    chains) starts a new block with its own left side.  A declared ``conclusion`` different from the last
    right side closes the chain with one more row.
    """
    steps = list(getattr(derivation, "steps", ()))
    blocks: list[list] = []
    for i, s in enumerate(steps):
        if i == 0 or s.lhs is not steps[i - 1].rhs:
            lhs_tex = s.lhs_tex
            if lhs_tex is None and i == 0:
                lhs_tex = getattr(derivation, "start_tex", None)
            blocks.append([_tex(s.lhs, lhs_tex), []])
        blocks[-1][1].append((getattr(s.relation, "symbol", "=") or "=", _tex(s.rhs, s.rhs_tex), tex_text(s.why)))
    if not blocks:
        start = _tex(getattr(derivation, "start", None), getattr(derivation, "start_tex", None))
        blocks.append([start, []])
    conclusion = getattr(derivation, "conclusion", None)
    conclusion_tex = getattr(derivation, "conclusion_tex", None)
    if (conclusion is not None or conclusion_tex) and steps:
        ctex = _tex(conclusion, conclusion_tex)
        last = blocks[-1][1][-1][1] if blocks[-1][1] else None
        if conclusion is not steps[-1].rhs and _norm(ctex) != _norm(last or ""):
            if conclusion_tex is None and math_width(ctex) > 2 * _LINE_EM:
                # an explicit (entry-wise) closed form is no reading matter: say that it was checked
                rel, rhs, why = blocks[-1][1][-1]
                blocks[-1][1][-1] = (rel, rhs, why + "; this equals the registered closed form of the statement "
                                     "(checked entry by entry)")
            else:
                blocks[-1][1].append(("=", ctex, "the registered closed form of the statement (checked)"))
    return "\n".join(_block_tex(lhs, rows) for lhs, rows in blocks)


def _norm(tex: str) -> str:
    return re.sub(r"\s+|\\[,;:!]|\\ ", "", tex)


def _block_tex(lhs: str, steps: list[tuple[str, str, str]]) -> str:
    width = _FILL * _LINE_EM
    lhs_w = math_width(lhs)
    rows: list[tuple[str, str, float]] = []
    whys: dict[int, str] = {}
    if lhs_w <= _LHS_MAX * _LINE_EM:
        pre = rf"\settowidth{{\svlhs}}{{$\displaystyle {lhs}$}}"
        avail = width - lhs_w
        for k, (rel, rhs, why) in enumerate(steps):
            pieces = break_math(f"{rel} {rhs}", avail, avail - 2)
            for j, p in enumerate(pieces):
                left = lhs if (k == 0 and j == 0) else ""
                rows.append((left, "{}" + p if j == 0 else _continued(p), 0.0 if j == 0 else 2.0))
            whys[len(rows) - 1] = why
    else:  # a long left side: every row left-flush, the left side first (possibly broken itself)
        pre = r"\setlength{\svlhs}{0pt}"
        for j, p in enumerate(break_math(lhs, width, width - 2)):
            rows.append(("", p if j == 0 else _continued(p), 0.0 if j == 0 else 2.0))
        for rel, rhs, why in steps:
            for j, p in enumerate(break_math(f"{rel} {rhs}", width - 1, width - 3)):
                rows.append(("", "{}" + p if j == 0 else _continued(p), 1.0 if j == 0 else 3.0))
            whys[len(rows) - 1] = why
    body = _rows_fit(rows)
    lines, last = [], len(body) - 1
    for k, row in enumerate(body):
        if k == last:
            lines.append(row)
        else:
            lines.append(row + r" \\" + (f"\n\\svwhy{{{whys[k]}}}" if k in whys else ""))
    after = f"\\svwhyafter{{{whys[last]}}}\n" if last in whys else ""
    return "{\\small\n" + pre + "\n\\begin{align*}\n" + "\n".join(lines) + "\n\\end{align*}\n" + after + "}"


def _split_rows(tex: str) -> list[str]:
    r"""Top-level ``\\`` rows of a display (outside braces and environments)."""
    tokens = _tokens(tex)
    rows, cur, brace, env = [], [], 0, 0
    for t in tokens:
        if t == "{":
            brace += 1
        elif t == "}":
            brace -= 1
        elif t == r"\begin":
            env += 1
        elif t == r"\end":
            env -= 1
        if t == "\\\\" and brace == 0 and env == 0:
            rows.append("".join(cur))
            cur = []
            continue
        cur.append(t)
    rows.append("".join(cur))
    return [r.strip() for r in rows if r.strip()]


def _unwrap(tex: str) -> str:
    r"""The body of a display that is one ``gathered``/``aligned``/``split`` block (alignment marks dropped)."""
    m = re.fullmatch(r"\s*\\begin\{(gathered|aligned|split|array)\}(?:\{[^}]*\})?(.*)\\end\{\1\}\s*", tex, re.S)
    if not m or r"\begin{" + m.group(1) + "}" in m.group(2):
        return tex
    return re.sub(r"(?<!\\)&", " ", m.group(2))


def display_tex(tex: str, line_em: float = _LINE_EM_NORMAL) -> str:
    r"""A display (``gather*``) of ``tex`` whose rows are broken to the line width and boxed by ``\svfit``."""
    rows = []
    for row in _split_rows(_unwrap(tex)):
        pieces = break_math(row, _FILL * line_em)
        rows += [p if j == 0 else _continued(p) for j, p in enumerate(pieces)]
    body = " \\\\\n".join(rf"\svfit{{\linewidth}}{{{r}}}" for r in rows)
    return "\\begin{gather*}\n" + body + "\n\\end{gather*}"


def _figure(ev: Evidence) -> str:
    from verify.reports.table import format_figure

    return escape_text(f"{format_figure(ev.figure, ev.unit)} {ev.unit}".strip())


def _evidence_table(records: list) -> str:
    rows = []
    for ev in records:
        thr = ("$\\ge$ " if ev.relation == ">=" else "$\\le$ ") + escape_text(f"{ev.threshold:g}")
        verdict = "pass" if ev.passed else r"\textbf{FAIL}"
        mutant = getattr(ev, "mutant", "")
        name = tex_text(ev.name) + (f" (mutant: {tex_text(mutant)})" if mutant else "")
        rows.append(f"{name} & {escape_text(ev.kind)} & {_figure(ev)} & {thr} & {verdict} & {ev.seconds:.2f} \\\\")
    body = "\n".join(rows) if rows else r"\multicolumn{6}{l}{(no evidence run)} \\"
    return (
        "{\\small\\noindent\n\\begin{tabularx}{\\linewidth}{>{\\raggedright\\arraybackslash}X l "
        ">{\\raggedright\\arraybackslash}p{0.16\\linewidth} l l r}\n\\hline\n"
        "evidence & kind & figure & threshold & result & seconds \\\\\n\\hline\n"
        f"{body}\n\\hline\n\\end{{tabularx}}\n}}\n"
    )


def _math_or_text(tex: str) -> str:
    """A field that is math (no ``$``) or text with ``$...$`` math, as text that may break."""
    if "$" in tex:
        return tex
    return _inline_pieces(tex)


def _statement_section(st: Statement, records: list) -> str:
    parts = [f"\\section{{{tex_text(st.number)}: {tex_text(st.title)}}}",
             f"\\noindent\\textit{{Source.}} {tex_text(st.source)}. \\textit{{Status.}} {tex_text(st.status)}.",
             "\\paragraph{Statement.}", display_tex(st.statement_tex)]
    if st.hypotheses_tex:
        parts.append("\\paragraph{Hypotheses.}\n\\begin{itemize}\\raggedright")
        parts += [f"  \\item {_math_or_text(h)}" for h in st.hypotheses_tex]
        parts.append("\\end{itemize}")
    assumptions = tuple(getattr(st, "assumptions", None) or ())
    if assumptions:
        parts.append("\\paragraph{Assumptions used.} Facts the derivations use without proof; each has its own "
                     "evidence check.\n\\begin{itemize}\\raggedright")
        parts += [f"  \\item \\textit{{{tex_text(a.name)}}}: {_math_or_text(a.statement_tex)}" for a in assumptions]
        parts.append("\\end{itemize}")
    derivs = st.built_derivations()
    if derivs:
        parts.append("\\paragraph{Derivation.} Every line below is checked by SymPy "
                     "(\\texttt{verify run} and \\texttt{pytest} re-check it); its justification follows it.")
        for d in derivs:
            parts.append(f"\\subsubsection*{{{tex_text(d.name)}}}")
            if d.brief:
                parts.append(f"The same chain with explicit entries; all {len(d.steps)} steps checked by SymPy.")
            else:
                parts.append(derivation_tex(d))
    parts.append("\\paragraph{Evidence.}\\mbox{}\\par\\nobreak")
    parts.append(_evidence_table(records))
    if st.notes_tex:
        parts.append("\\paragraph{Notes.}\n\\begin{itemize}")
        parts += [f"  \\item {n}" for n in st.notes_tex]
        parts.append("\\end{itemize}")
    return "\n".join(parts) + "\n"


PREAMBLE = r"""\documentclass[11pt]{article}
\usepackage[utf8]{inputenc}
\usepackage[margin=2cm]{geometry}
\usepackage{amsmath,amssymb}
\usepackage{graphicx,calc,array,tabularx}
\allowdisplaybreaks
\setlength{\emergencystretch}{3em}
\newsavebox{\svbox}
\newlength{\svwidth}
\newlength{\svlhs}
% \svfit{width}{math}: the math in display style at its natural width; scaled down (and logged) only if wider
\newcommand{\svfit}[2]{\sbox{\svbox}{$\displaystyle #2$}\setlength{\svwidth}{#1}%
  \ifdim\wd\svbox>\svwidth\typeout{softmax-verify: scaled a row of \the\wd\svbox\space to \the\svwidth\space(line \the\inputlineno)}%
  \resizebox{\svwidth}{!}{\usebox{\svbox}}\else\usebox{\svbox}\fi}
% \svwhy{text}: the justification of the step above, under it in small type
\newcommand{\svwhy}[1]{\noalign{\vskip0pt\vbox{\normalbaselines\hsize\linewidth\footnotesize\raggedright
  \leftskip=4em\noindent\llap{$\triangleright$\ }#1\par}\vskip3pt}}
% \svwhyafter{text}: the same for the last row, set after the display (no empty row at its end)
\newcommand{\svwhyafter}[1]{\par\vspace{-\belowdisplayskip}{\footnotesize\raggedright\leftskip=4em
  \noindent\llap{$\triangleright$\ }#1\par}\vspace{\belowdisplayskip}}
"""


def document(sts: list[Statement], evidence: dict[str, list[Evidence]] | None = None) -> str:
    """The whole ``.tex`` source for ``sts`` with their evidence records (by statement id)."""
    evidence = evidence or {}
    body = "\n".join(_statement_section(st, evidence.get(st.id, [])) for st in sts)
    return (
        PREAMBLE
        + "\\title{softmax-verify: machine-checked statements}\n"
        "\\author{Boursier \\& Boyer\\\\ \\emph{Softmax as Linear Attention in the Large-Prompt Regime} "
        "(arXiv 2512.11784)}\n"
        "\\date{}\n\\begin{document}\n\\maketitle\n"
        f"{body}"
        "\\end{document}\n"
    )


# ---------------------------------------------------------------------------------------------------------
# compiling

_OVERFULL = re.compile(r"^Overfull \\[hv]box \((-?[\d.]+)pt too (?:wide|high)\)", re.M)


def overfull_boxes(log_text: str) -> list[float]:
    r"""The widths (pt) of every ``Overfull \hbox``/``\vbox`` pdflatex reports in ``log_text``, in log order.

    >>> overfull_boxes("Overfull \\hbox (12.5pt too wide) in paragraph at lines 3--4\nUnderfull \\hbox (badness 10000)")
    [12.5]
    """
    return [float(m.group(1)) for m in _OVERFULL.finditer(log_text)]


def scaled_rows(log_text: str) -> int:
    r"""How many display rows ``\svfit`` had to scale down to fit (a sign the line breaking fell short)."""
    return log_text.count("softmax-verify: scaled a row")


class OverfullBoxes(RuntimeError):
    """pdflatex produced boxes wider than allowed; ``widths`` lists them (pt), ``worst`` is the largest."""

    def __init__(self, widths: list[float], limit: float, pdf: Path):
        self.widths, self.limit, self.pdf = widths, limit, pdf
        self.worst = max(widths)
        super().__init__(f"{len(widths)} overfull box(es) wider than {limit:g}pt in {pdf.name}, worst "
                         f"{self.worst:.1f}pt (see {pdf.with_suffix('.log').name})")


def compile_pdf(tex_path: str | Path, timeout: float = 120.0, max_overfull: float | None = None) -> Path:
    """Run pdflatex (once: no references) on ``tex_path``; return the PDF path (the log is kept beside it).

    The returned path carries ``overfull`` (the widths of every overfull box, pt) and ``scaled`` (rows scaled
    to fit) as attributes.  With ``max_overfull`` set, a box wider than that raises :class:`OverfullBoxes`
    (a ``RuntimeError``) after the PDF is written.  Raises ``FileNotFoundError`` when pdflatex is not on
    PATH and ``RuntimeError`` with the log tail when it fails.
    """
    exe = shutil.which("pdflatex")
    if exe is None:
        raise FileNotFoundError("pdflatex: not found on PATH (Debian: apt-get install texlive-latex-base)")
    tex_path = Path(tex_path).resolve()
    with tempfile.TemporaryDirectory() as tmp:
        proc = subprocess.run([exe, "-interaction=nonstopmode", "-halt-on-error", f"-output-directory={tmp}",
                               str(tex_path)], capture_output=True, text=True, timeout=timeout,
                              errors="replace")
        pdf = Path(tmp) / (tex_path.stem + ".pdf")
        log = Path(tmp) / (tex_path.stem + ".log")
        log_text = log.read_text(errors="replace") if log.exists() else proc.stdout
        tex_path.with_suffix(".log").write_text(log_text)
        if proc.returncode != 0 or not pdf.exists():
            tail = "\n".join(proc.stdout.splitlines()[-25:])
            raise RuntimeError(f"pdflatex failed on {tex_path.name}:\n{tail}")
        target = tex_path.with_suffix(".pdf")
        shutil.copy(pdf, target)
    widths = overfull_boxes(log_text)
    result = _CompiledPath(target)
    result.overfull, result.scaled = widths, scaled_rows(log_text)
    too_wide = [w for w in widths if max_overfull is not None and w > max_overfull]
    if too_wide:
        raise OverfullBoxes(too_wide, max_overfull, target)
    return result


class _CompiledPath(type(Path())):
    """A ``Path`` to the PDF that also carries what the compilation reported."""

    overfull: list[float]
    scaled: int
