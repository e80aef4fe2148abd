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
from dataclasses import dataclass, field
from pathlib import Path

import sympy as sp

from verify.kernel.statement import Evidence, Statement
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
    return inline_pieces(tex)


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


@dataclass(frozen=True)
class CompileResult:
    """What a pdflatex run wrote and reported: the PDF, its log (kept beside the ``.tex``), the widths (pt) of
    every overfull box, and how many display rows ``\\svfit`` had to scale down to fit."""

    pdf: Path
    log: Path
    overfull: list[float] = field(default_factory=list)
    scaled: int = 0


def compile_pdf(tex_path: str | Path, timeout: float = 120.0, max_overfull: float | None = None) -> CompileResult:
    """Run pdflatex (once: no references) on ``tex_path``; the PDF and the log are written beside it.

    With ``max_overfull`` set, a box wider than that raises :class:`OverfullBoxes` (a ``RuntimeError``) after the
    PDF is written.  Raises ``FileNotFoundError`` when pdflatex is not on PATH and ``RuntimeError`` with the log
    tail when it fails.
    """
    exe = shutil.which("pdflatex")
    if exe is None:
        raise FileNotFoundError("pdflatex: not found on PATH (Debian: apt-get install texlive-latex-base)")
    tex_path = Path(tex_path).resolve()
    log_path = tex_path.with_suffix(".log")
    with tempfile.TemporaryDirectory() as tmp:
        proc = subprocess.run([exe, "-interaction=nonstopmode", "-halt-on-error", f"-output-directory={tmp}",
                               str(tex_path)], capture_output=True, text=True, timeout=timeout,
                              errors="replace")
        pdf = Path(tmp) / (tex_path.stem + ".pdf")
        log = Path(tmp) / (tex_path.stem + ".log")
        log_text = log.read_text(errors="replace") if log.exists() else proc.stdout
        log_path.write_text(log_text)
        if proc.returncode != 0 or not pdf.exists():
            tail = "\n".join(proc.stdout.splitlines()[-25:])
            raise RuntimeError(f"pdflatex failed on {tex_path.name}:\n{tail}")
        target = tex_path.with_suffix(".pdf")
        shutil.copy(pdf, target)
    result = CompileResult(target, log_path, overfull_boxes(log_text), scaled_rows(log_text))
    too_wide = [w for w in result.overfull if max_overfull is not None and w > max_overfull]
    if too_wide:
        raise OverfullBoxes(too_wide, max_overfull, target)
    return result
