"""What a person reads in the terminal: plain Unicode math from the statements' LaTeX (no ``$``, no backslash),
verdicts instead of pass counts, numbers at their precision, tables sized to the terminal."""

from __future__ import annotations

import json
import re

import pytest

from verify.cli import main
from verify.kernel.registry import claim_specs, statements
from verify.kernel.statement import Evidence
from verify.kernel.verdict import Finding
from verify.reports.plain import derived_tex, plain, plain_math, text_width
from verify.reports.table import format_list, format_number, format_table, format_verdicts, terminal_width


def _registry_strings():
    """Every string the registry holds that a terminal reporter may print, with where it comes from; fields that
    are a bare formula are marked (math=True)."""
    out = []
    for st in statements():
        for field in ("id", "number", "title", "summary", "source"):
            out.append((f"{st.id}.{field}", getattr(st, field), None))
        out.append((f"{st.id}.statement_tex", st.statement_tex, True))
        out += [(f"{st.id}.hypothesis", h, None) for h in st.hypotheses_tex]
        out += [(f"{st.id}.note", n, None) for n in st.notes_tex]
        out += [(f"{st.id}.finding", st.finding.summary, None), (f"{st.id}.form", st.finding.form, None)]
        for c in st.checks:
            out += [(f"{st.id}:{c.name}", c.name, None), (f"{st.id}:{c.name}.description", c.description, None)]
            out += [(f"{st.id}:{c.name}:mutant", m.name, None) for m in c.mutants]
        for d in st.built_derivations():
            out += [(f"{st.id}/{d.name}", d.name, None), (f"{st.id}/{d.name}.derived", derived_tex(d), True)]
            out += [(f"{st.id}/{d.name}.why", s.why, None) for s in d.steps]
        for a in st.assumptions:
            out += [(f"{st.id}.assumption", a.name, None), (f"{st.id}.assumption_tex", a.statement_tex, True)]
    for spec in claim_specs().values():
        out += [(f"claim {spec.id}", spec.summary, None), (f"claim {spec.id}.symbols", spec.symbols_help, None)]
    return out


def test_no_dollar_or_backslash_reaches_the_terminal_from_any_registry_string():
    strings = _registry_strings()
    assert len(strings) > 800
    leaks = [(where, text, plain(text, math=math)) for where, text, math in strings
             if "$" in plain(text, math=math) or "\\" in plain(text, math=math)]
    assert not leaks, leaks[:5]
    # and the LaTeX that was there became mathematics, not noise
    tex = [(where, text, math) for where, text, math in strings if "\\" in str(text)]
    assert len(tex) > 300
    for where, text, math in tex:
        out = plain(text, math=math)
        assert not re.search(r"(?<![A-Za-z])(mathcal|mathbb|mathrm|tfrac|frac|infty|begin|Big|bigl|bigr)"
                             r"(?![A-Za-z])", out), (where, text, out)


@pytest.mark.parametrize("tex, expected", [
    (r"gradient flow on $\mathcal R_\infty$", "gradient flow on R∞"),
    (r"$\|A\|_F^2 - b^2$ is conserved", "‖A‖_F² − b² is conserved"),
    (r"$\tfrac12\big(\sqrt{1 + 4/s^2} - 1\big)$", "½(√(1 + 4/s²) − 1)"),
    (r"$U_{11} = \Sigma^{-1}/b$, $u = a = 0$", "U₁₁ = Σ⁻¹/b, u = a = 0"),
    (r"$\frac{\mathrm{tr}\Lambda}{N} I_d$", "(tr Λ)/N I_d"),
    (r"$\hat\mu_L$, $\dot m$, $\nabla_{U,V}$", "μ\u0302_L, m\u0307, ∇_(U,V)"),
    (r"$e^{a^T m_k + \frac12 a^T\Gamma_k a}$", "e^(aᵀ mₖ + ½ aᵀΓₖ a)"),
    (r"$\alpha \in \{10^{-3}, \dots, 100\}$", "α ∈ {10⁻³, …, 100}"),
    (r"50\% of $x$ -- and more", "50% of x – and more"),
    (r"$\begin{pmatrix}\Gamma^{-1} & 0\\ 0 & 0\end{pmatrix}$", "(Γ⁻¹, 0; 0, 0)"),
    (r"$\xrightarrow[N\to\infty]{} \Sigma$", "→[N→∞] Σ"),
    ("Sigma_p^{-1}/b whatever Sigma_q", "Sigma_p⁻¹/b whatever Sigma_q"),
    ("plain prose, with a_b names and 'quotes'", "plain prose, with a_b names and 'quotes'"),
])
def test_plain_turns_tex_into_unicode(tex, expected):
    assert plain(tex) == expected


def test_plain_math_and_widths():
    assert plain_math(r"\mathbb E\,\|T[\hat\mu_L]-T[\mu]\|^2") == "E ‖T[μ̂_L]−T[μ]‖²"
    assert text_width("μ\u0302_L") == 3 and text_width("m\u0307") == 1  # combining accents take no column


@pytest.mark.parametrize("value, unit, expected", [
    (5.41e-09, "", "5.4e-9"), (0.63712, "|z|", "0.637"), (22134.0, "|z|", "2.2e4"), (40.0, "digits", "40"),
    (15.274, "digits", "15.3"), (5.0, "steps", "5"), (1e-10, "", "1e-10"), (0.0, "", "0"), (-0.5059, "exponent", "-0.506"),
    (float("inf"), "", "inf"), (123.45, "s", "123"),
])
def test_numbers_at_their_precision(value, unit, expected):
    assert format_number(value, unit) == expected


def test_terminal_width_follows_columns_never_below_80(monkeypatch):
    monkeypatch.setenv("COLUMNS", "132")
    assert terminal_width() == 132
    monkeypatch.setenv("COLUMNS", "40")
    assert terminal_width() == 80


def _rec(sid, name, passed=True, kind="quadrature"):
    return Evidence(sid, name, kind, passed, 40.0 if passed else 3.0, 30.0, ">=", "digits", 0.1, "detail of " + name)


def test_verdicts_name_what_failed_and_never_the_declared_outcome():
    st = statements(["prop-3-1-literal"])[0]
    ok = format_verdicts([st], [_rec(st.id, "a"), _rec(st.id, "b")], width=100)
    assert "FALSIFIED AS WRITTEN" in ok and "witness: d = 1, μ = ν = N(0, 1)" in ok and "2 of 2" in ok
    bad = format_verdicts([st], [_rec(st.id, "a"), _rec(st.id, "b", passed=False)], width=100)
    assert "NOT ESTABLISHED" in bad and "FALSIFIED" not in bad and "failed: b" in bad
    assert bad.rstrip().endswith("1 of 2 derivations and checks passed.") and "not established" in bad


def test_a_failing_check_shows_its_detail_and_fail():
    text = format_table([_rec("x", "good"), _rec("x", "bad", passed=False)], width=100)
    assert "FAIL" in text and "detail of bad" in text and "detail of good" not in text
    assert "3 digits (needs ≥ 30)" in text


def test_verify_run_output_carries_no_tex_and_ends_with_verdicts(capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "120")
    assert main(["run", "prop-3-1-literal", "linear-limit", "-q"]) == 0
    out = capsys.readouterr().out
    assert "$" not in out and "\\" not in out
    assert max(text_width(ln) for ln in out.splitlines()) <= 120
    tail = " ".join(out.split("Verdicts (arXiv 2512.11784")[1].split())
    assert "Props 3.1/3.4 at L = 1 (prop-3-1-literal) FALSIFIED AS WRITTEN" in tail
    assert "Lemma 2.1 (remark) (linear-limit) VERIFIED UNDER HYPOTHESES" in tail
    assert "2 statements: 1 verified under hypotheses, 1 falsified as written." in tail


def test_a_contradiction_states_its_evidence():
    st = statements(["sharp-exponent"])[0]
    text = format_verdicts([st], [_rec(st.id, c.name) for c in st.checks], width=100)
    assert "CONTRADICTS THE PAPER" in text and "evidence: the printed rate L^(−c₂/σ²)" in " ".join(text.split())
    assert "$" not in text and "\\" not in text


def test_verify_list_is_plain_and_fits(capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "90")
    assert main(["list"]) == 0
    out = capsys.readouterr().out
    assert "$" not in out and "\\" not in out and max(text_width(ln) for ln in out.splitlines()) <= 90
    assert format_list(statements(), width=200).count("\n") >= 2 * len(statements()) - 1


def test_run_json_gains_one_verdict_record_per_statement(capsys):
    assert main(["run", "prop-3-1-literal", "linear-limit", "--no-derivations", "--json", "-q"]) == 0
    records = json.loads(capsys.readouterr().out)
    verdicts = [r for r in records if r["kind"] == "verdict"]
    assert [v["id"] for v in verdicts] == ["prop-3-1-literal", "linear-limit"] and records[-2:] == verdicts
    assert verdicts[0]["verdict"] == "falsified as written" and "left side 1" in verdicts[0]["form"]
    for v in verdicts:  # shaped like an evidence record, so readers of the array keep working
        assert {"id", "name", "kind", "passed", "figure", "threshold", "relation", "unit", "seconds"} <= set(v)
        assert v["figure"] == v["threshold"] == sum(r["id"] == v["id"] for r in records) - 1


def test_finding_forms_are_plain_text():
    with pytest.raises(ValueError, match="plain text"):
        Finding("sharpened", "x", form=r"$\alpha$")


def test_catalogue_is_the_registry_and_is_rebuilt_when_a_source_changes(tmp_path, monkeypatch):
    """verify list reads a cached catalogue keyed by the hash of the statement sources: the same entries as the
    registry's, and a changed source (a new key) is never served the old entries."""
    from verify.kernel import registry as reg

    monkeypatch.setenv("SOFTMAX_VERIFY_CACHE", str(tmp_path))
    fresh = [reg.CatalogueEntry.of(s) for s in statements()]
    reg.reset_registry()
    assert reg.catalogue() == fresh                       # built from the registry, written
    (cached,) = tmp_path.glob("catalogue-*.json")
    reg.reset_registry()
    assert reg.catalogue() == fresh                       # read back
    doc = json.loads(cached.read_text())
    doc[0]["summary"] = "A STALE SUMMARY"
    cached.write_text(json.dumps(doc))
    reg.reset_registry()
    assert reg.catalogue()[0].summary.startswith("A STALE SUMMARY")  # the cache is what is read ...
    monkeypatch.setattr(reg, "_catalogue_key", lambda: "another-source-tree")
    reg.reset_registry()
    assert reg.catalogue() == fresh                       # ... but only for the sources it was written from
    assert [p.name for p in tmp_path.glob("catalogue-*.json")] == ["catalogue-another-source-tree.json"]
    assert [e.id for e in reg.catalogue(["linear-limit"])] == ["linear-limit"]
    with pytest.raises(ValueError, match="bogus"):
        reg.catalogue(["bogus"])
