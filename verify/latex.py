"""A standalone LaTeX document of statements: statement, hypotheses, checked derivations, evidence table.

The derivations are the same objects the checker runs; each line carries its one-line justification.
``compile_pdf`` runs ``pdflatex`` when it is on PATH.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

from .claims import Evidence, Statement
from .derivation import escape_text

__all__ = ["document", "compile_pdf", "escape_text"]

def _figure(ev: Evidence) -> str:
    from .report import format_figure

    return escape_text(f"{format_figure(ev.figure, ev.unit)} {ev.unit}".strip())


def _evidence_table(records: list[Evidence]) -> str:
    rows = []
    for ev in records:
        thr = ("$\\ge$ " if ev.relation == ">=" else "$\\le$ ") + escape_text(f"{ev.threshold:g}")
        verdict = "pass" if ev.passed else r"\textbf{FAIL}"
        rows.append(f"{escape_text(ev.name)} & {escape_text(ev.kind)} & {_figure(ev)} & {thr} & "
                    f"{verdict} & {ev.seconds:.2f} \\\\")
    body = "\n".join(rows) if rows else r"\multicolumn{6}{l}{(no evidence run)} \\"
    return (
        "\\begin{center}\\small\n\\begin{tabular}{llllll}\n\\hline\n"
        "evidence & kind & figure & threshold & result & seconds \\\\\n\\hline\n"
        f"{body}\n\\hline\n\\end{{tabular}}\n\\end{{center}}\n"
    )


def _statement_section(st: Statement, records: list[Evidence]) -> str:
    parts = [f"\\section{{{escape_text(st.number)}: {escape_text(st.title)}}}",
             f"\\noindent\\textit{{Source.}} {escape_text(st.source)}. \\textit{{Status.}} {escape_text(st.status)}.",
             "\\paragraph{Statement.}", f"\\begin{{gather*}}\n{st.statement_tex}\n\\end{{gather*}}"]
    if st.hypotheses_tex:
        parts.append("\\paragraph{Hypotheses.}\n\\begin{itemize}")
        parts += [f"  \\item ${h}$" for h in st.hypotheses_tex]
        parts.append("\\end{itemize}")
    derivs = st.built_derivations()
    if derivs:
        parts.append("\\paragraph{Derivation.} Every line below is an identity checked by SymPy "
                     "(\\texttt{verify run} and \\texttt{pytest} re-check it).")
        for d in derivs:
            parts.append(f"\\subsubsection*{{{escape_text(d.name)}}}")
            if d.brief:
                parts.append(f"The same chain with explicit entries; all {len(d.steps)} steps checked by SymPy.")
            else:
                parts.append("{\\small\n" + d.latex() + "\n}")
    parts.append("\\paragraph{Evidence.}")
    parts.append(_evidence_table(records))
    if st.notes_tex:
        parts.append("\\paragraph{Notes.}\n\\begin{itemize}")
        parts += [f"  \\item {n}" for n in st.notes_tex]
        parts.append("\\end{itemize}")
    return "\n".join(parts) + "\n"


def document(sts: list[Statement], evidence: dict[str, list[Evidence]] | None = None) -> str:
    """The whole ``.tex`` source for ``sts`` with their evidence records (by statement id)."""
    evidence = evidence or {}
    body = "\n".join(_statement_section(st, evidence.get(st.id, [])) for st in sts)
    return (
        "\\documentclass[11pt]{article}\n"
        "\\usepackage[utf8]{inputenc}\n"
        "\\usepackage[margin=2cm]{geometry}\n\\usepackage{amsmath,amssymb}\n"
        "\\allowdisplaybreaks\n"
        "\\title{softmax-verify: machine-checked statements}\n"
        "\\author{Boursier \\& Boyer, \\emph{Softmax as Linear Attention in the Large-Prompt Regime} (arXiv 2512.11784)}\n"
        "\\date{}\n\\begin{document}\n\\maketitle\n"
        f"{body}"
        "\\end{document}\n"
    )


def compile_pdf(tex_path: str | Path, timeout: float = 120.0) -> Path:
    """Run pdflatex (twice is unnecessary: no references) on ``tex_path``; return the PDF path.

    Raises ``FileNotFoundError`` when pdflatex is not on PATH and ``RuntimeError`` with the log tail
    when it fails.
    """
    exe = shutil.which("pdflatex")
    if exe is None:
        raise FileNotFoundError("pdflatex: not found on PATH (Debian: apt-get install texlive-latex-base)")
    tex_path = Path(tex_path).resolve()
    with tempfile.TemporaryDirectory() as tmp:
        proc = subprocess.run([exe, "-interaction=nonstopmode", "-halt-on-error", f"-output-directory={tmp}",
                               str(tex_path)], capture_output=True, text=True, timeout=timeout)
        pdf = Path(tmp) / (tex_path.stem + ".pdf")
        if proc.returncode != 0 or not pdf.exists():
            tail = "\n".join(proc.stdout.splitlines()[-25:])
            raise RuntimeError(f"pdflatex failed on {tex_path.name}:\n{tail}")
        target = tex_path.with_suffix(".pdf")
        shutil.copy(pdf, target)
    return target
