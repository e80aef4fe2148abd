"""The sharp exponent of Prop 3.1 (statement ``sharp-exponent``, engine ``verify.concentration.exponent``) and the
study ``verify audit`` (``verify.studies.audit``).

The statements ``sharp-exponent`` and ``prop-3-1-literal`` run through the plugin (tests/statements.verify); here: the
public API, the alpha mutants caught by the slope evidence, the audit's fits and consistency checks, its JSON schema
on a micro grid (the real ``--quick`` grid takes about a minute), same seed -> same bits, bad input -> exit 2.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

import verify
from verify.studies import audit
from verify.kernel.registry import get_statement
from verify.kernel.runner import run_check
from verify.cli import main
from verify.concentration.exponent import alpha_of_s, regime_exponent

MICRO = {"exact": [(1, (1.0,))], "exact_Ls": [10, 100, 1000], "far": (), "far_Ls": [],
         "mc": [("gaussian", 1, (1.0,)), ("rademacher", 1, (1.0,))], "mc_Ls": (10, 100),
         "mc_prompts": {10: 40, 100: 40}}


@pytest.fixture
def micro(monkeypatch):
    monkeypatch.setitem(audit.GRID, "quick", MICRO)


def test_sharp_exponent_values_and_branches():
    assert verify.sharp_exponent(1.0, np.eye(2)) == pytest.approx((math.sqrt(5) - 1) / 2, rel=1e-15)
    assert verify.sharp_exponent(1.5, [[1.0]]) == pytest.approx(1 / 3, rel=1e-14)
    assert verify.sharp_exponent(0.5, [[1.0]]) == 1.0
    assert alpha_of_s(math.sqrt(0.5)) == pytest.approx(1.0, rel=1e-14)  # continuous at s^2 = 1/2
    # the operator norm, not the Frobenius norm, sets s
    assert verify.sharp_exponent(1.0, np.diag([1.0, 0.1])) == pytest.approx(verify.sharp_exponent(1.0, [[1.0]]))
    # sigma^2 alpha(sigma) increases to 1/u^2
    vals = [s * s * verify.sharp_exponent(s, [[1.0]]) for s in (1, 2, 4, 8, 100, 1e4)]
    assert all(a < b for a, b in zip(vals, vals[1:])) and vals[-1] == pytest.approx(1.0, abs=1e-6)


def test_engine_alpha_agrees_with_the_proof_closed_form():
    st = get_statement("sharp-exponent")
    subject = st.check_named("slope-convergence").subject
    for sg in (0.3, 0.5, 1.0, 1.7, 3.0):
        assert subject({"sigma": sg, "u": 1.0}) == pytest.approx(verify.sharp_exponent(sg, [[1.0]]), rel=1e-12)


def test_regime_exponent_is_continuous():
    for c in (2 / 3, 2.0):
        assert regime_exponent(c - 1e-9) == pytest.approx(regime_exponent(c + 1e-9), abs=1e-8)


@pytest.mark.parametrize("bad, exc, name", [((-1.0, [[1.0]]), ValueError, "sigma"), (("1", [[1.0]]), TypeError, "sigma"),
                                            ((1.0, [[1.0, 2.0]]), ValueError, "U"), ((1.0, [[np.nan]]), ValueError, "U")])
def test_sharp_exponent_bad_input(bad, exc, name):
    with pytest.raises(exc, match=name):
        verify.sharp_exponent(*bad)


def test_alpha_mutants_caught_by_the_slope_evidence():
    st = get_statement("sharp-exponent")
    chk = st.check_named("slope-convergence")
    assert run_check(st, chk).passed
    names = {m.name for m in chk.mutants}
    assert {"paper form c2/sigma^2 with c2 = 1", "1/(2 s^2)", "min(1, 1/(2 s^2))"} <= names
    for m in chk.mutants:
        ev = run_check(st, chk, mutant=m.name)
        assert ev.caught, (m.name, ev.figure)
        assert ev.figure > 2.0  # at least twice the threshold (ell |slope + alpha| <= 1)


def test_audit_json_schema(micro, capsys):
    assert main(["audit", "--quick", "--json", "--seed", "3", "--workers", "1"]) == 0
    out = capsys.readouterr()
    doc = json.loads(out.out)  # stdout is one JSON document: progress never goes there
    assert {"measurements", "fits", "findings", "constants", "meta", "checks"} <= set(doc)
    assert all(doc["checks"].values())
    keys_m = {"statement", "measure", "d", "sigma", "u_norm", "L", "value", "stderr", "ess", "method"}
    keys_f = {"statement", "measure", "d", "sigma", "u_norm", "slope", "ci_low", "ci_high", "L_min", "L_max",
              "predicted_exponent"}
    assert doc["measurements"] and all(keys_m <= set(m) for m in doc["measurements"])
    assert doc["fits"] and all(keys_f <= set(f) for f in doc["fits"])
    assert {"L1-boundary-defect", "sigma2-alpha-limit", "linear-attention-rate"} <= {f["id"] for f in doc["findings"]}
    assert all(set(f) == {"id", "summary", "evidence"} for f in doc["findings"])
    assert {m["method"] for m in doc["measurements"]} == {"exact", "montecarlo"}
    for f in doc["fits"]:
        assert f["ci_low"] <= f["slope"] <= f["ci_high"]
    lin = [f for f in doc["fits"] if f["statement"] == "prop-3.1-linear" and f["method"] == "exact"]
    assert lin and all(f["slope"] == pytest.approx(-1.0, abs=1e-12) for f in lin)


def test_audit_same_seed_same_bits_and_report(micro, monkeypatch, tmp_path):
    monkeypatch.setitem(audit.GRID, "quick", dict(MICRO, exact=[]))  # Monte Carlo cells only: the randomness
    a = audit.run(quick=True, seed=5)
    b = audit.run(quick=True, seed=5, workers=2)  # cells seeded by their key: any number of workers
    assert [m["value"] for m in a["measurements"]] == [m["value"] for m in b["measurements"]]
    c = audit.run(quick=True, seed=6)
    assert [m["value"] for m in a["measurements"] if m["method"] == "montecarlo"] != \
           [m["value"] for m in c["measurements"] if m["method"] == "montecarlo"]
    paths = audit.write(a, tmp_path / "rep" / "deeper", figures=False)  # created with its parents
    assert (tmp_path / "rep" / "deeper" / "report.md").read_text().startswith("# verify audit")
    assert json.loads((tmp_path / "rep" / "deeper" / "audit.json").read_text())["meta"]["seed"] == 5
    assert len(paths) == 2


@pytest.mark.parametrize("argv", [["audit", "--seed", "-1"], ["audit", "--seed", "x"], ["audit", "--bogus"],
                                  ["audit", "--workers", "0"]])
def test_audit_bad_usage_exits_2(argv, capsys):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "verify: error" in err


def test_audit_output_not_a_directory_exits_2(tmp_path, capsys, monkeypatch):
    f = tmp_path / "file.txt"
    f.write_text("x")
    monkeypatch.setattr(audit, "run", lambda **kw: pytest.fail("a bad -o DIR is refused before computing"))
    assert main(["audit", "--quick", "-o", str(f)]) == 2
    assert "-o/--output" in capsys.readouterr().err
    assert main(["audit", "--quick", "-o", str(f / "deeper")]) == 2


# ------------------------------------------------------------------------------------------ fits and checks


def _curve_rows(slopes, *, sigma=1.0, L0=10.0, method="exact"):
    """Measurements of one Gaussian d = 1 curve with U = V = 1 whose local slopes between L = 10^k are ``slopes``."""
    rows, value = [], 1.0
    for k in range(len(slopes) + 1):
        if k:
            value *= 10.0 ** slopes[k - 1]
        rows.append(dict(statement="prop-3.1", measure="gaussian", d=1, sigma=sigma, u_norm=1.0, L=L0 * 10.0**k,
                         value=value, stderr=0.0, ess=None, method=method, case="U=V=I"))
    return rows


def test_pre_asymptotic_flag_reads_the_slope_the_fit_reports():
    # last three local slopes -0.70, -0.68, -0.66 up to L = 10^8 (1/ell = 0.054): settled at the mean -0.68, which
    # is 0.062 from -alpha = -0.618 (pre-asymptotic), while the last local slope alone (-0.66) is only 0.042 away
    fits = audit.local_fits(_curve_rows([-0.9, -0.8, -0.75, -0.72, -0.70, -0.68, -0.66]))
    settled = [f for f in fits if f["kind"] != "local"]
    assert len(settled) == 1 and settled[0]["kind"] == "settled"
    f = settled[0]
    assert f["slope"] == pytest.approx(-0.68, abs=1e-12)
    assert f["pre_asymptotic"] is True
    for f in fits:  # every record: the flag is about the slope it displays
        ell = math.log(f["L_max"]) if f["kind"] != "local" else 0.5 * (math.log(f["L_min"]) + math.log(f["L_max"]))
        assert f["pre_asymptotic"] == (abs(f["slope"] - f["predicted_exponent"]) > 1.0 / ell)


def test_pre_asymptotic_flag_clears_when_the_displayed_slope_is_close():
    # mean -0.64 is 0.022 from -0.618 (< 1/ell), though the last local slope -0.55 is 0.068 away
    f = [f for f in audit.local_fits(_curve_rows([-0.9, -0.8, -0.75, -0.72, -0.70, -0.67, -0.55]))
         if f["kind"] != "local"][0]
    assert f["slope"] == pytest.approx(-0.64, abs=1e-12) and f["pre_asymptotic"] is False


def test_ok_reads_the_consistency_checks():
    assert audit.ok({"checks": {"a": True, "b": True}})
    assert not audit.ok({"checks": {"a": True, "b": False}})
    assert not audit.ok({"checks": {}})
    rows = _curve_rows([-0.9, -0.8]) + [dict(_curve_rows([-0.9])[1], method="montecarlo", value=0.2, stderr=0.01)]
    checks = audit._checks({"measurements": rows, "fits": audit.local_fits(rows)})
    assert checks["montecarlo-agrees-with-exact"] is False  # MC 0.2 +- 0.01 against the exact 10^-0.9 = 0.126: z = 7.4
