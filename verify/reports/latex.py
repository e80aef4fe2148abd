r"""A standalone LaTeX document of statements: statement, hypotheses, checked derivations, evidence table.

The derivations are the same objects the checker runs (:func:`derivation_tex`); each step is followed by its
one-line justification, set in small type under the equation line, so the mathematics gets the full width.
Long expressions are broken at top-level ``+``/``-``, relations and ``,\quad`` separators into several rows
(:func:`verify.reports.texwidth.break_math`, driven by an estimate of the typeset width); every row is also boxed
by the ``\svfit`` macro, which scales a row down only if it is still wider than the line (and says so in the
log), so no row can run off the page.  Plain-text fields written by proof authors (titles, names,
justifications) go through :func:`tex_text`, which turns the usual ASCII math (``Sigma``, ``Gamma_w``,
``s^2/2``, ``U_*``, ``R_inf``, ``^T``, ``->``) into math and escapes the rest.

:func:`compile_pdf` runs ``pdflatex`` when it is on PATH, keeps the log next to the PDF and reports overfull
boxes (:func:`overfull_boxes`) in a :class:`CompileResult`.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

import sympy as sp

from verify.kernel.statement import Evidence, Statement
from verify.kernel.verdict import VERDICTS, Finding, verdict
from verify.reports.plain import derived_tex, relation_tex
from verify.reports.texwidth import break_math, inline_pieces, math_width, tex_tokens

__all__ = [
    "document",
    "derivation_tex",
    "compile_pdf",
    "CompileResult",
    "overfull_boxes",
    "scaled_rows",
    "OverfullBoxes",
    "escape_text",
    "tex_text",
    "display_tex",
]

# ---------------------------------------------------------------------------------------------------------
# plain text

_UNICODE = {
    "Γ": r"$\Gamma$", "Σ": r"$\Sigma$", "Λ": r"$\Lambda$", "Δ": r"$\Delta$", "Θ": r"$\Theta$", "Φ": r"$\Phi$",
    "Ψ": r"$\Psi$", "Ω": r"$\Omega$", "Π": r"$\Pi$", "α": r"$\alpha$", "β": r"$\beta$", "γ": r"$\gamma$",
    "δ": r"$\delta$", "ε": r"$\varepsilon$", "ϵ": r"$\epsilon$", "ζ": r"$\zeta$", "η": r"$\eta$", "θ": r"$\theta$",
    "κ": r"$\kappa$", "λ": r"$\lambda$", "μ": r"$\mu$", "ν": r"$\nu$", "ξ": r"$\xi$", "π": r"$\pi$", "ρ": r"$\rho$",
    "σ": r"$\sigma$", "τ": r"$\tau$", "φ": r"$\varphi$", "ϕ": r"$\phi$", "χ": r"$\chi$", "ψ": r"$\psi$",
    "ω": r"$\omega$", "ℓ": r"$\ell$", "∞": r"$\infty$", "≤": r"$\le$", "≥": r"$\ge$", "→": r"$\to$", "↦": r"$\mapsto$",
    "⇒": r"$\Rightarrow$", "⟺": r"$\Leftrightarrow$", "∇": r"$\nabla$", "∂": r"$\partial$", "≠": r"$\neq$",
    "≈": r"$\approx$", "≃": r"$\simeq$", "∼": r"$\sim$", "∝": r"$\propto$", "±": r"$\pm$", "∓": r"$\mp$",
    "×": r"$\times$", "·": r"$\cdot$", "⊗": r"$\otimes$", "∈": r"$\in$", "∑": r"$\sum$", "∫": r"$\int$",
    "√": r"$\surd$", "‖": r"$\|$", "⟨": r"$\langle$", "⟩": r"$\rangle$", "ᵀ": r"$^\top$", "⋆": r"$\star$",
    "∗": r"$\ast$", "−": r"$-$", "…": r"\ldots{}", "½": r"$\tfrac12$", "¼": r"$\tfrac14$", "¾": r"$\tfrac34$",
    "⅓": r"$\tfrac13$", "⅔": r"$\tfrac23$", "ℝ": r"$\mathbb R$", "∀": r"$\forall$", "∃": r"$\exists$",
    "–": "--", "—": "---", "’": "'", "‘": "`", "“": "``", "”": "''", "′": r"$'$", "✓": r"$\checkmark$",
    "²": r"$^2$", "³": r"$^3$", "¹": r"$^1$",
}
_SUPERS = {**dict(zip("⁰¹²³⁴⁵⁶⁷⁸⁹⁺⁻⁼⁽⁾ⁿⁱᵃᵇᶜᵈᵉᶠᵍʰʲᵏˡᵐᵒᵖʳˢᵗᵘᵛʷˣʸᶻ", "0123456789+-=()niabcdefghjklmoprstuvwxyz")),
           "ᵅ": "\\alpha "}
_SUBS = dict(zip("₀₁₂₃₄₅₆₇₈₉₊₋₌₍₎ₐₑₕᵢⱼₖₗₘₙₒₚᵣₛₜᵤᵥₓ", "0123456789+-=()aehijklmnoprstuvx"))
_COMBINING = {"\u0307": r"\dot", "\u0308": r"\ddot", "\u0302": r"\hat", "\u0304": r"\bar", "\u0303": r"\tilde"}


def _unicode_math(text: str) -> str:
    r"""Runs of Unicode super/subscripts as ``$^{..}$``/``$_{..}$`` and combining accents as ``$\dot{x}$`` (a
    pre-pass of :func:`escape_text`; the remaining symbols go through its table)."""
    text = re.sub("[" + "".join(_SUPERS) + "]+", lambda m: "$^{" + "".join(_SUPERS[c] for c in m.group(0)) + "}$", text)
    text = re.sub("[" + "".join(_SUBS) + "]+", lambda m: "$_{" + "".join(_SUBS[c] for c in m.group(0)) + "}$", text)
    text = "".join(unicodedata.normalize("NFD", c) if unicodedata.normalize("NFD", c)[1:2] in _COMBINING else c
                   for c in text)  # a precomposed ṁ is m and a combining dot
    greek = {k: v.strip("$") for k, v in _UNICODE.items() if v.startswith("$\\") and k.isalpha()}
    return re.sub("(.)([" + "".join(_COMBINING) + "])",
                  lambda m: "$" + _COMBINING[m.group(2)] + "{" + greek.get(m.group(1), m.group(1)) + "}$", text)


_PLAIN_CHARS = {"<": r"\textless{}", ">": r"\textgreater{}", "|": r"\textbar{}"}


def escape_text(text: str) -> str:
    r"""Escape LaTeX specials in plain text (not in $...$ math) and map common Unicode to math.

    >>> escape_text("50% of a_b, $x_1$ & <y>")
    '50\\% of a\\_b, $x_1$ \\& \\textless{}y\\textgreater{}'
    """
    if text.count("$") % 2:  # an unbalanced $ would swallow the rest of the document: all are literal
        text = text.replace("$", "\uFFFF")
    if "$" not in text:  # plain text: an exponent written L^(-a) is set as one
        text = re.sub(r"\^\(((?:[^()$]|\([^()$]*\))*)\)",
                      lambda m: "$^{" + escape_text(m.group(1)).replace("$", "") + "}$", text)
    if any(ord(c) > 127 for c in text):
        text = _unicode_math(text)
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
    return re.sub(r"(?<!\\)\$\$", "", "".join(out))  # $a$$b$ is one formula: $ab$


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
    >>> tex_text("limit point U_*, V_*; Sigma^-1 is symmetric")
    'limit point $U_*$, $V_*$; $\\Sigma^{-1}$ is symmetric'
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
        blocks[-1][1].append((relation_tex(getattr(s.relation, "symbol", "=")), _tex(s.rhs, s.rhs_tex), tex_text(s.why)))
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
    tokens = tex_tokens(tex)
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
    r"""The body of a display that is one ``gathered``/``aligned``/``split`` block (its own alignment marks dropped;
    a ``pmatrix`` inside keeps its ``&``).

    >>> _unwrap(r"\begin{gathered}a &= \begin{pmatrix}1 & 0\\ 0 & 1\end{pmatrix}\end{gathered}")
    'a  = \\begin{pmatrix}1 & 0\\\\ 0 & 1\\end{pmatrix}'
    """
    m = re.fullmatch(r"\s*\\begin\{(gathered|aligned|split|array)\}(?:\{[^}]*\})?(.*)\\end\{\1\}\s*", tex, re.S)
    if not m or r"\begin{" + m.group(1) + "}" in m.group(2):
        return tex
    out, depth = [], 0  # drop the block's own alignment marks, never those of a matrix inside it
    for t in tex_tokens(m.group(2)):
        depth += (t == r"\begin") - (t == r"\end")
        out.append(" " if t == "&" and depth == 0 else t)
    return "".join(out)


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
    """The checks of a run (the derivations are set out above the table, so their records are not repeated)."""
    rows = []
    for ev in records:
        if ev.kind == "symbolic":
            continue
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
    return inline_pieces(tex)


_FORM_LABEL = {"verified under hypotheses": "Hypothesis", "sharpened": "Sharper form",
               "contradicts the paper": "Evidence", "falsified as written": "Witness"}


def _finding(st) -> Finding:
    return getattr(st, "finding", None) or Finding()


def _verdict_of(st: Statement, records: list):
    """The run's verdict (:func:`verify.kernel.verdict.verdict`) when evidence was run, else None."""
    recs = [r for r in records if not getattr(r, "mutant", "")]
    return verdict(_finding(st), recs) if recs else None


def _verdict_paragraph(st: Statement, records: list) -> str:
    v = _verdict_of(st, records)
    finding = _finding(st)
    kind = v.kind if v is not None else finding.kind
    head = (f"\\noindent\\textbf{{Verdict: {escape_text(kind)}}}"
            + ("" if v is not None else " (declared; no evidence was run for this document)") + ". ")
    summary = finding.summary.rstrip(".")
    body = escape_text(summary[:1].upper() + summary[1:]) + "." if summary else ""
    if v is not None and not v.established:
        body += " Failed: " + escape_text(", ".join(v.failed)) + "."
    elif finding.form:
        body += f" \\textit{{{_FORM_LABEL.get(kind, 'Form')}:}} " + escape_text(finding.form.rstrip(".")) + "."
    if v is not None:
        body += f" ({v.passed} of {v.total} derivations and checks passed in this run.)"
    return head + body


def _statement_section(st: Statement, records: list) -> str:
    parts = [f"\\section{{{tex_text(st.number)}: {tex_text(st.title)}}}\\label{{st:{st.id}}}",
             _verdict_paragraph(st, records) + "\n",
             f"\\noindent\\textit{{Source.}} {tex_text(st.source)}.",
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
                n = len(d.steps)
                parts.append(f"The same chain with explicit entries; {'its step is' if n == 1 else f'all {n} steps are'} "
                             "checked by SymPy. It derives")
                parts.append(display_tex(derived_tex(d)))
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
\usepackage{graphicx,calc,array,tabularx,url}
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


def _summary_table(sts: list[Statement], evidence: dict) -> str:
    """One row per statement: its number, title and verdict (computed from the run's evidence when there is some,
    else the declared kind, marked so)."""
    rows = []
    for st in sts:
        v = _verdict_of(st, evidence.get(st.id, []))
        kind = escape_text(v.kind) if v is not None else escape_text(_finding(st).kind) + "$^*$"
        if v is not None and v.kind in ("falsified as written", "contradicts the paper", "not established"):
            kind = f"\\textbf{{{kind}}}"
        rows.append(f"{tex_text(st.number)} & {tex_text(st.title)} (\\ref{{st:{st.id}}}) & {kind} \\\\")
    declared = "" if all(evidence.get(st.id) for st in sts) else (
        "\n\\noindent{\\footnotesize $^*$ declared verdict: this document was written without running the "
        "evidence.}\n")
    meaning = "\n".join(f"  \\item[\\textit{{{escape_text(k)}}}] {escape_text(m)}." for k, m in VERDICTS.items())
    return ("\\section*{Summary of verdicts}\n\\addcontentsline{toc}{section}{Summary of verdicts}\n"
            "{\\small\\noindent\n\\begin{tabularx}{\\linewidth}{>{\\raggedright\\arraybackslash}p{0.24\\linewidth} "
            ">{\\raggedright\\arraybackslash}X >{\\raggedright\\arraybackslash}p{0.2\\linewidth}}\n\\hline\n"
            "statement & what it says (section) & verdict \\\\\n\\hline\n" + "\n".join(rows)
            + "\n\\hline\n\\end{tabularx}\n}\n" + declared
            + "\n\\paragraph{The verdicts.} Each statement declares the outcome its evidence is built to establish; "
            "the verdict is that outcome when every derivation step and every check of the run passed, and "
            "\\textit{not established} otherwise.\n\\begin{description}\\small\n" + meaning + "\n\\end{description}\n")


def _version() -> str:
    try:
        from importlib.metadata import version

        return version("softmax-verify")
    except Exception:  # a source tree without metadata
        return ""


def document(sts: list[Statement], evidence: dict[str, list[Evidence]] | None = None) -> str:
    """The whole ``.tex`` source for ``sts`` with their evidence records (by statement id): a title naming the
    toolkit and the paper it checks, a table of contents, the summary of verdicts, then one section per
    statement."""
    evidence = evidence or {}
    body = "\n".join(_statement_section(st, evidence.get(st.id, [])) for st in sts)
    version = _version()
    return (
        PREAMBLE
        + "\\title{Machine-checked statements of \\emph{Softmax as Linear Attention in the Large-Prompt Regime: "
        "a Measure-based Perspective}\\\\ {\\large (Boursier \\& Boyer, arXiv 2512.11784v2) and of the results it "
        "leans on}}\n"
        f"\\author{{softmax-verify{' ' + escape_text(version) if version else ''}}}\n"
        "\\date{Every derivation step is checked by SymPy; every evidence item is computed independently of the "
        "closed form it checks.}\n\\begin{document}\n\\maketitle\n\\tableofcontents\n"
        + _summary_table(sts, evidence)
        + f"{body}"
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


@dataclass(frozen=True)
class CompileResult:
    """What a pdflatex run wrote and reported: the PDF, its log (kept beside the ``.tex``), the widths (pt) of
    every overfull box, and how many display rows ``\\svfit`` had to scale down to fit."""

    pdf: Path
    log: Path
    overfull: list[float] = field(default_factory=list)
    scaled: int = 0


def compile_pdf(tex_path: str | Path, timeout: float = 120.0, max_overfull: float | None = None) -> CompileResult:
    """Run pdflatex on ``tex_path`` (twice when it has a table of contents or references); the PDF and the log of
    the last run are written beside it.

    With ``max_overfull`` set, a box wider than that raises :class:`OverfullBoxes` (a ``RuntimeError``) after the
    PDF is written.  Raises ``FileNotFoundError`` when pdflatex is not on PATH and ``RuntimeError`` with the log
    tail when it fails.
    """
    exe = shutil.which("pdflatex")
    if exe is None:
        raise FileNotFoundError("pdflatex: not found on PATH (Debian: apt-get install texlive-latex-base)")
    given = Path(tex_path)  # the paths reported are the ones the caller gave (relative stays relative)
    tex_path = given.resolve()
    log_path = tex_path.with_suffix(".log")
    with tempfile.TemporaryDirectory() as tmp:
        for _ in range(2 if "\\tableofcontents" in tex_path.read_text() or "\\ref{" in tex_path.read_text() else 1):
            proc = subprocess.run([exe, "-interaction=nonstopmode", "-halt-on-error", f"-output-directory={tmp}",
                                   str(tex_path)], capture_output=True, text=True, timeout=timeout,
                                  errors="replace")
            if proc.returncode != 0:
                break
        pdf = Path(tmp) / (tex_path.stem + ".pdf")
        log = Path(tmp) / (tex_path.stem + ".log")
        log_text = log.read_text(errors="replace") if log.exists() else proc.stdout
        log_path.write_text(log_text)
        if proc.returncode != 0 or not pdf.exists():
            tail = "\n".join(proc.stdout.splitlines()[-25:])
            raise RuntimeError(f"pdflatex failed on {tex_path.name}:\n{tail}")
        target = tex_path.with_suffix(".pdf")
        shutil.copy(pdf, target)
    result = CompileResult(given.with_suffix(".pdf"), given.with_suffix(".log"), overfull_boxes(log_text),
                           scaled_rows(log_text))
    too_wide = [w for w in result.overfull if max_overfull is not None and w > max_overfull]
    if too_wide:
        raise OverfullBoxes(too_wide, max_overfull, result.pdf)
    return result
