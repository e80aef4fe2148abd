"""The LaTeX/PDF writer: derivation rendering, line breaking, plain-text math, and a document with no
overfull boxes (compiled with pdflatex when it is on PATH)."""

import re
import shutil
from types import SimpleNamespace as NS

import pytest
import sympy as sp

from verify.cli import main
from verify.reports.latex import (
    CompileResult,
    OverfullBoxes,
    compile_pdf,
    derivation_tex,
    display_tex,
    document,
    escape_text,
    overfull_boxes,
    tex_text,
)
from verify.reports.texwidth import break_math, math_width

HAVE_PDFLATEX = shutil.which("pdflatex") is not None
needs_pdflatex = pytest.mark.skipif(not HAVE_PDFLATEX, reason="pdflatex not on PATH (.ci/run installs it)")
MAX_OVERFULL_PT = 5.0


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


# -- plain-text math -----------------------------------------------------------------------------------------

@pytest.mark.parametrize("text, expected", [
    ("Sigma^-1 is symmetric", r"$\Sigma^{-1}$ is symmetric"),
    ("Gamma_w of the noisy model", r"$\Gamma_w$ of the noisy model"),
    ("R_inf - s^2/2 as a mean square", r"$\mathcal R_\infty - s^2/2$ as a mean square"),
    ("limit point U_*, V_*", r"limit point $U_*$, $V_*$"),
    ("gradient flow on R_inf", r"gradient flow on $\mathcal R_\infty$"),
    ("Sec. 5 (R_∞, Eq. (8))", r"Sec. 5 ($\mathcal R_\infty$, Eq. (8))"),
])
def test_tex_text_turns_ascii_math_into_math(text, expected):
    assert tex_text(text) == expected


def _split_math(tex: str) -> tuple[list[str], str]:
    """(the $...$ pieces, the text between them) of a tex_text output."""
    return re.findall(r"(?<!\\)\$([^$]*)\$", tex), re.sub(r"(?<!\\)\$[^$]*\$", " ", tex)


@pytest.mark.parametrize("text, in_math", [
    ("E w^T Sigma w = tr Sigma", [r"w^\top", r"\Sigma"]),
    ("V = b e e^T", [r"e^\top"]),
    ("N -> infinity", [r"\to"]),
    ("b != 0, rank <= 1", [r"\neq", r"\le"]),
    ("u a = 1/Sigma", [r"1/\Sigma"]),
])
def test_ascii_operators_scripts_and_greek_never_reach_the_text(text, in_math):
    """Where a sentence mixes single-letter words and math, every script, Greek name and operator is set as math,
    and none is left in the text as an escaped ``^``/``_`` or a Greek name in roman type."""
    math, prose = _split_math(tex_text(text))
    for piece in in_math:
        assert any(piece in m for m in math), (piece, math)
    for leak in ("textasciicircum", "\\_", "Sigma", "->", "!=", "<="):
        assert leak not in prose, (leak, prose)


@pytest.mark.parametrize("text", ["icl-risk is the block formula used here", "zfb-error d=2", "odd moment",
                                  "the paper's limit point (every d)", "Boursier & Boyer (arXiv 2512.11784)"])
def test_tex_text_leaves_prose_alone(text):
    out = tex_text(text)
    assert "$" not in out and out == escape_text(text)


def test_tex_text_keeps_math_and_escapes_the_rest():
    assert tex_text(r"50% of $x_1^T$ & a_b_c_d") == r"50\% of $x_1^T$ \& a\_b\_c\_d"
    assert tex_text("costs $5") == r"costs \$5"  # an unbalanced $ is literal, not math
    assert escape_text("a $b") == r"a \$b"
    assert escape_text("<x>|") == r"\textless{}x\textgreater{}\textbar{}"


# -- breaking ----------------------------------------------------------------------------------------------

def test_break_math_splits_at_top_level_only():
    long_sum = " + ".join(f"x_{{{k}}}^2" for k in range(40))
    lines = break_math(long_sum, 20.0)
    assert len(lines) > 2 and all(math_width(ln) <= 20.0 for ln in lines)
    assert "".join(lines).replace(" ", "") == long_sum.replace(" ", "")
    assert all(ln.startswith("+") for ln in lines[1:])
    grouped = r"\left(" + long_sum + r"\right) + y"  # never inside \left...\right or braces
    assert break_math(grouped, 20.0)[0].endswith(r"\right)")
    assert break_math("a,\\quad b = c", 2.5) == ["a,", "b = c"]  # separators are dropped at a break


def test_display_breaks_wide_rows_and_gathered_blocks():
    wide = r"\begin{gathered}" + ",\\quad ".join(f"a_{k} = b_{k} + c_{k}" for k in range(30)) + r"\\ z\end{gathered}"
    out = display_tex(wide)
    assert r"\begin{gathered}" not in out and out.count(r"\svfit") > 3


def _derivation(n_terms=30):
    x = sp.symbols(f"x0:{n_terms}")
    start = sum(xi for xi in x) ** 2
    rhs = sp.expand(start)
    s1 = NS(lhs=start, rhs=rhs, why="expand; E w^T Sigma w = tr Sigma", relation=NS(symbol="=", name="equal"),
            lhs_tex=None, rhs_tex=None, label="step-1")
    s2 = NS(lhs=rhs, rhs=rhs, why="nothing: $a = a$", relation=NS(symbol=r"\simeq", name="up to"),
            lhs_tex=None, rhs_tex=None, label="step-2")
    return NS(name="long square", start=start, start_tex=None, steps=[s1, s2], brief=False,
              conclusion=rhs, conclusion_tex=None)


def test_derivation_tex_renders_a_connected_chain():
    tex = derivation_tex(_derivation())
    assert tex.count(r"\begin{align*}") == 1  # one chain, one block
    assert tex.count(r"\svwhy{") + tex.count(r"\svwhyafter{") == 2  # a justification per step
    assert r"\simeq" in tex and r"$w^\top \Sigma$" in tex
    rows = tex.split(r"\\")
    assert len(rows) > 6  # the 465-term expansion is broken over many rows
    assert tex.count("(x_{0} + x_{1}") == 1  # the start is on the first row only


# -- overfull boxes: parsed, and the check can fail -------------------------------------------------------

SYNTHETIC_LOG = r"""
Overfull \hbox (3.5pt too wide) in paragraph at lines 10--11
[]\OT1/cmr/m/n/10.95 text
Underfull \hbox (badness 10000) in paragraph at lines 12--13
Overfull \hbox (427.65192pt too wide) detected at line 528
Overfull \vbox (2.0pt too high) has occurred while \output is active
"""


def test_overfull_boxes_parses_a_log():
    assert overfull_boxes(SYNTHETIC_LOG) == [3.5, 427.65192, 2.0]
    assert [w for w in overfull_boxes(SYNTHETIC_LOG) if w > MAX_OVERFULL_PT] == [427.65192]
    assert overfull_boxes("no boxes here") == []


@needs_pdflatex
def test_an_unbreakable_line_is_flagged(tmp_path):
    tex = tmp_path / "bad.tex"
    tex.write_text("\\documentclass{article}\\begin{document}\n\\noindent\\mbox{" + "unbreakable " * 30
                   + "}\n\\end{document}\n")
    with pytest.raises(OverfullBoxes) as exc:
        compile_pdf(tex, max_overfull=MAX_OVERFULL_PT)
    assert exc.value.worst > 100 and "overfull" in str(exc.value)
    assert (tmp_path / "bad.pdf").exists() and (tmp_path / "bad.log").exists()
    result = compile_pdf(tex)  # without a limit: reported, not raised
    assert isinstance(result, CompileResult) and max(result.overfull) == exc.value.worst
    assert result.pdf == tmp_path / "bad.pdf" and result.log == tmp_path / "bad.log"


@needs_pdflatex
def test_a_long_derivation_compiles_without_overfull_boxes(tmp_path):
    st = NS(id="t", number="Test 1", title="R_inf with Gamma_w", summary="", source="here", status="verified",
            statement_tex=" + ".join(f"a_{{{k}}} b_{{{k}}}" for k in range(80)) + r",\quad " + "c = d",
            hypotheses_tex=[r"x \in \mathbb R^d,\ " + r",\ ".join(f"y_{{{k}}} = {k}" for k in range(40))],
            notes_tex=[], assumptions=[NS(name="Gaussian MGF", statement_tex=r"\mathbb E e^{a^\top x} = e^{a^\top a/2}")],
            built_derivations=lambda: (_derivation(),))
    tex = tmp_path / "one.tex"
    tex.write_text(document([st]))
    result = compile_pdf(tex, max_overfull=MAX_OVERFULL_PT)
    assert result.pdf.stat().st_size > 1000 and "Assumptions used" in tex.read_text()


# -- the whole document through the command line ----------------------------------------------------

def test_latex_document(capsys, tmp_path):
    target = tmp_path / "doc.tex"
    code, out, err = run(capsys, "latex", "gaussian-limit", "linear-limit", "-o", str(target),
                         *(["--pdf"] if HAVE_PDFLATEX else []))
    assert code == 0, err
    tex = target.read_text()
    assert r"\begin{align*}" in tex and r"\begin{tabularx}" in tex
    assert "V m + V \\Gamma K^{T} Q z" in tex  # the paper's order, not reordered
    assert tex.count(r"\svwhy{") + tex.count(r"\svwhyafter{") >= 4  # a justification per step
    if HAVE_PDFLATEX:
        assert (tmp_path / "doc.pdf").stat().st_size > 1000
        widths = overfull_boxes((tmp_path / "doc.log").read_text())
        assert not [w for w in widths if w > MAX_OVERFULL_PT], widths


@needs_pdflatex
def test_latex_all_statements_compile_without_overfull_boxes(capsys, tmp_path):
    """Every registered statement renders to LaTeX that pdflatex accepts, and nothing runs off the page."""
    target = tmp_path / "all.tex"
    code, out, err = run(capsys, "latex", "-o", str(target), "--pdf", "--no-evidence")
    assert code == 0, err
    assert (tmp_path / "all.pdf").stat().st_size > 10000
    widths = overfull_boxes((tmp_path / "all.log").read_text())
    too_wide = [w for w in widths if w > MAX_OVERFULL_PT]
    assert not too_wide, f"{len(too_wide)} overfull boxes, worst {max(too_wide):.1f}pt"


# -- the appendix reads like one ------------------------------------------------------------------------

def test_the_appendix_has_a_title_a_contents_a_verdict_table_and_proper_matrices(tmp_path):
    """The title names the toolkit and the paper it checks (the paper's authors are not its authors), a table of
    contents and a summary of verdicts come first; a pmatrix keeps its column separators; a transformation step is
    a map (longmapsto), not an implication between expressions; the verdict is computed from the records."""
    from verify.kernel.registry import statements
    from verify.kernel.runner import run_statements

    sts = statements(["zfb-linear", "prop-3-1-literal", "gaussian-limit"])
    lit = sts[1]
    tex = document(sts, {lit.id: run_statements([lit], seed=0)})
    assert r"\author{softmax-verify" in tex and r"\author{Boursier" not in tex
    assert "arXiv 2512.11784v2" in tex.split(r"\begin{document}")[0]
    assert tex.index(r"\tableofcontents") < tex.index("Summary of verdicts") < tex.index(r"\section{")
    for body in re.findall(r"\\begin\{pmatrix\}(.*?)\\end\{pmatrix\}", tex, re.S):
        assert "&" in body, body
    rows = [ln for ln in tex.splitlines() if ln.lstrip().startswith(("&", r"\settowidth")) or r"\svfit{\linewidth-" in ln]
    assert not [ln for ln in rows if r"{}\Rightarrow" in ln], "a step between expressions is set as an implication"
    assert r"{}\longmapsto" in tex  # the maps steps of the explicit Lemma 2.1 chains
    summary = tex.split("Summary of verdicts", 1)[1].split(r"\section{", 1)[0]
    assert r"\textbf{falsified as written}" in summary  # computed from the records run for it
    assert r"verified$^*$" in summary and "declared verdict" in summary  # the others were not run
    assert r"\textit{Witness:}" in tex and "passed in this run" in tex


@needs_pdflatex
def test_the_table_of_contents_is_filled(tmp_path):
    from verify.kernel.registry import statements

    target = tmp_path / "toc.tex"
    target.write_text(document(statements(["prop-3-1-literal", "linear-limit"])))
    result = compile_pdf(target, max_overfull=MAX_OVERFULL_PT)
    assert result.pdf == target.with_suffix(".pdf") and result.pdf.exists()
    assert "No file toc.toc" not in (tmp_path / "toc.log").read_text()  # the second run read the contents
