"""proofs.icl_risk_infinite: the claim checker for R_inf, negative controls of the derivation relations, consistency.

The statement's own derivation steps and evidence checks run through the pytest plugin; here: the claim
``verify claim icl-risk-infinite`` accepts the right formula and its rewritings and rejects the wrong ones,
each relation used in the derivation is watched failing on a wrong step, and the closed form agrees with the
engine's float implementation and with the definition at special points.
"""

from __future__ import annotations

import mpmath
import numpy as np
import pytest
import sympy as sp
from mpmath import mp

import proofs.icl_risk_infinite as P
from verify.icl.symbols import PREDICTION
from verify.kernel.registry import get_statement
from verify.kernel.runner import Preparations, run_check
from verify.kernel.derivation import Derivation
from verify.kernel.compare import digits_between as agreeing_digits
from verify.kernel.claim import check_formula
from verify.icl.risk import bayes_point, icl_risk_infinite
from verify.icl.references import (
    definition_quadrature, float_point, gap_to_subject, mpf, random_point, risk_definition_gh, risk_definition_mc,
)
from verify.icl.symbols import closed_form_value


@pytest.fixture(scope="module")
def spec():
    return P.CLAIM


# ----------------------------------------------------------------------------------------------- claim


def test_example_accepted(spec):
    v = check_formula(spec, spec.example, seed=0)
    assert v.accepted, v.detail
    assert v.n_points == 20 and {p.dim for p in P.claim_points(0)} == {1, 2, 3, 4, 5}


@pytest.mark.parametrize("formula", P.CLAIM_EQUIVALENTS)
def test_equivalent_rewritings_accepted(spec, formula):
    v = check_formula(spec, formula, seed=0)
    assert v.accepted, v.detail


@pytest.mark.parametrize("formula", P.CLAIM_WRONG)
def test_wrong_examples_rejected(spec, formula):
    v = check_formula(spec, formula, seed=0)
    assert not v.accepted, f"wrong formula accepted: {formula}"
    assert v.worst_error > 1e3 * spec.tolerance


def test_tiny_perturbation_rejected(spec):
    """The reference is the definition to ~40 digits: an error of 1e-15 is caught."""
    assert not check_formula(spec, spec.example + " + 1/10**15", seed=0).accepted


def test_wrong_examples_listed(spec):
    assert len(spec.wrong_examples) >= 4 and len(set(spec.wrong_examples)) == len(spec.wrong_examples)
    assert spec.example not in spec.wrong_examples


@pytest.mark.parametrize("formula", ["u", "U11*u", "Sigma"])
def test_wrong_shape_raises(spec, formula):
    with pytest.raises(ValueError, match="expected a scalar"):
        check_formula(spec, formula, seed=0)


@pytest.mark.parametrize("formula", ["foo*b", "trace(Gamma)", "b + w"])
def test_unknown_symbol_raises(spec, formula):
    with pytest.raises(ValueError, match="unknown symbol"):
        check_formula(spec, formula, seed=0)


def test_reference_is_the_definition_not_the_closed_form():
    """Claim references equal the closed form (to 40 digits) but are computed by quadrature of the definition."""
    pts = P.claim_points(1)
    assert any(p.values["s"] == 0 for p in pts) and any(p.values["s"] != 0 for p in pts)
    rng = np.random.default_rng(7)
    pt = random_point(2, rng)
    with mp.workdps(P.DPS):
        assert agreeing_digits(mpf(closed_form_value(pt)), definition_quadrature(pt)) >= 35


# ------------------------------------------------------------------ relations: watched failing


def test_wrong_block_product_rejected():
    wrong = P.x.T * (P.G_W - P.b * P.u * P.Q_W)  # drop the b u (w^T Sigma w) term
    ok, _ = P.GENERAL.test(PREDICTION, wrong)
    assert not ok
    wrong_noise = P.x.T * (P.G_W - P.b * P.s**2 * P.u)  # forget the s^2 in the corner of Gamma_w
    assert not P.GENERAL.test(PREDICTION, wrong_noise)[0]
    assert P.GENERAL.test(PREDICTION, P.x.T * P.G_W)[0]


def test_wrong_query_expectation_rejected():
    h = P.G_W - P.w
    lhs = P.HALF * (P.x.T * P.G_W - P.w.T * P.x - P.eps * P.I1) ** 2
    assert P.E_QUERY.test(lhs, P.HALF * (h.T * P.Sigma * h + P.s**2 * P.I1))[0]
    assert not P.E_QUERY.test(lhs, P.HALF * (h.T * P.Sigma * h))[0]  # forgot the target noise
    assert not P.E_QUERY.test(lhs, P.HALF * (h.T * h + P.s**2 * P.I1))[0]  # E x x^T = I instead of Sigma


def test_wrong_task_expectation_rejected():
    start = P.derivation_general().steps[-2].lhs  # the expanded integrand
    good = P.CLOSED_FORM
    bad = good - P.HALF * P.b**2 * (P.u.T * P.Sigma * P.u) * sp.Trace(P.Sigma * P.Sigma)  # one pairing only
    assert P.E_TASK.test(start, good)[0]
    assert not P.E_TASK.test(start, bad)[0]


@pytest.mark.parametrize("k", [1, 2, 3])
def test_definition_relation_rejects_wrong_closed_forms(k):
    rel = P.definition_relation((k,))
    assert rel.test(P.DEFINITION_INTEGRAND, P.CLOSED_FORM)[0]
    wrong = P.CLOSED_FORM - P.HALF * P.s**2 * P.I1
    assert not rel.test(P.DEFINITION_INTEGRAND, wrong)[0]
    z = sp.ZeroMatrix(P.d, 1)
    assert not rel.test(P.DEFINITION_INTEGRAND, P.closed_form_of(P.U11, z, z))[0]  # invariant-only on general U, V


def test_every_derivation_step_passes_and_is_labelled():
    for D in P.derivations():
        results = D.check()
        assert all(r.passed for r in results), [(s.label, r.detail) for s, r in zip(D.steps, results)]
        assert D.conclusion is not None and D.connected().passed


# ------------------------------------------------------------------------------ consistency, special points


@pytest.mark.parametrize("k", [1, 2, 3])
def test_closed_form_matches_engine_float(k):
    rng = np.random.default_rng(k)
    for _ in range(3):
        pt = random_point(k, rng)
        U, V, S, s = float_point(pt)
        assert icl_risk_infinite(U, V, S, s) == pytest.approx(float(closed_form_value(pt)), rel=1e-12)


def test_bayes_point_attains_noise_floor():
    S = np.array([[1.5, 0.5], [0.5, 1.0]])
    U, V = bayes_point(S)
    assert icl_risk_infinite(U, V, S, 0.3) == pytest.approx(0.045, abs=1e-12)


def test_extra_minimizers_in_dimension_one():
    """d = 1: b = 0, U11 = 0, u a Sigma = 1 predicts w x_q exactly, so R_inf = s^2/2 (quadrature of the definition)."""
    Sigma, u, s = sp.Rational(3, 2), sp.Rational(2), sp.Rational(1, 3)
    a = 1 / (u * Sigma)
    pt = {"U": sp.Matrix([[0, 5], [u, -1]]), "V": sp.Matrix([[7, 2], [a, 0]]), "Sigma": sp.Matrix([[Sigma]]), "s": s}
    with mp.workdps(P.DPS):
        ref = definition_quadrature(pt)
        assert agreeing_digits(ref, mpmath.mpf(1) / 18) >= 35
    assert closed_form_value(pt) == s**2 / 2
    # in d = 2 the rank-one u a^T Sigma cannot equal I: the same construction leaves a positive excess
    S2 = sp.eye(2)
    pt2 = {"U": sp.Matrix([[0, 0, 0], [0, 0, 0], [1, 0, 0]]), "V": sp.Matrix([[0, 0, 0], [0, 0, 0], [1, 0, 0]]),
           "Sigma": S2, "s": s}
    assert closed_form_value(pt2) > s**2 / 2


def test_gap_point_has_requested_score_scale():
    U, V, S, s = P.gap_point()
    rng = np.random.default_rng(0)
    w = rng.standard_normal((200000, 2))
    xq = rng.standard_normal((200000, 2)) @ np.linalg.cholesky(S).T
    x = rng.standard_normal((200000, 2)) @ np.linalg.cholesky(S).T
    y = np.einsum("ni,ni->n", w, x) + s * rng.standard_normal(200000)
    score = np.einsum("ni,ij,nj->n", x, U[:2, :2], xq) + y * (xq @ U[2, :2])
    assert np.mean(score**2) == pytest.approx(0.1, rel=0.05)


# ------------------------------------------------------------------ the checks see the slips they are meant to see

STATEMENT = get_statement("icl-risk-infinite")


_STORE = Preparations()
"""Preparations shared by the tests of this module (each check prepared once per seed, as the plugin does)."""


def _run(check, mutant=None, seed=0):
    return run_check(STATEMENT, STATEMENT.check_named(check), seed, mutant=mutant, preparations=_STORE)


def test_finite_L_gap_sees_a_p_inf_shift():
    """Shifting p_inf 5% toward y_q makes R_inf 0.9025 x the truth: the gap to it plateaus near 0.196 and fails."""
    U, V, S, s = P.gap_point()
    R = risk_definition_gh(U, V, S, s)
    rng = np.random.default_rng(0)
    far = gap_to_subject(U, V, S, s, L=10000, n_prompts=4000, rng=rng, limit=0.9025 * R)
    assert far.mean == pytest.approx(0.0975 * R, rel=0.05) and 0.19 < far.mean < 0.21
    ev = _run("finite-L-gap", "p_inf 5% toward y_q: 0.9025 R_inf")
    assert not ev.passed and ev.figure > -0.2, ev.detail  # a plateau: exponent ~ 0


def test_finite_L_gap_rejects_one_percent_and_keeps_rate_one():
    ev = _run("finite-L-gap", "1.01 x R_inf")
    assert not ev.passed
    true = _run("finite-L-gap")
    assert true.passed and true.figure < -0.9, true.detail  # CI upper end of the exponent: rate ~ 1/L


def test_gap_to_subject_is_unbiased_for_the_true_limit():
    U, V, S, s = P.gap_point()
    est = gap_to_subject(U, V, S, s, L=100, n_prompts=20000, rng=np.random.default_rng(1),
                         limit=icl_risk_infinite(U, V, S, s))
    direct = gap_to_subject(U, V, S, s, L=100, n_prompts=20000, rng=np.random.default_rng(1),
                            limit=risk_definition_gh(U, V, S, s))
    assert est.mean == pytest.approx(direct.mean, abs=1e-12) and est.mean > 5 * est.stderr


def test_monte_carlo_sees_a_one_percent_error():
    ev = _run("monte-carlo-infinite-L", "1.01 x R_inf")
    assert not ev.passed and ev.figure >= 5, ev.detail
    true = _run("monte-carlo-infinite-L")
    assert true.passed and "UNDERPOWERED" not in true.detail


def test_monte_carlo_reference_is_the_definition():
    pt = random_point(2, np.random.default_rng(4))
    est = risk_definition_mc(*float_point(pt), n_pairs=20000, seed=3)
    assert abs(est.z(float(closed_form_value(pt)))) < 5
    assert abs(est.z(1.01 * float(closed_form_value(pt)))) > 5 or est.stderr > 0.002 * est.mean


@pytest.mark.parametrize("check", ["quadrature-vs-definition", "invariant-formula-rejected", "numpy-kernel-vs-closed-form"])
def test_every_mutant_caught(check):
    for m in STATEMENT.check_named(check).mutants:
        assert not _run(check, m.name).passed, m.name


def test_numpy_kernel_agrees_with_the_sympy_closed_form():
    """The fast kernel verify.icl.risk.icl_risk_infinite is the subject of a check against the SymPy closed form."""
    ev = _run("numpy-kernel-vs-closed-form", seed=3)
    assert ev.passed and ev.figure >= 14, ev.detail
    assert {p["dim"] for p in P._kernel_points(np.random.default_rng(0))} == {1, 2, 3, 4, 5}


def test_planted_slip_in_the_chain_fails():
    """tr(Sigma)^2 for tr(Sigma^2) in the intermediate rhs of the task expectation: that step or the end fails."""
    good = P.derivation_general()
    steps = good.steps
    k = [s.label for s in steps].index("expect-task")
    slip = steps[k].rhs.xreplace({P.trace(P.Sigma * P.Sigma): P.trace(P.Sigma) ** 2})
    assert slip != steps[k].rhs
    bad = Derivation(good.name, good.start, conclusion=good.conclusion, conclusion_check=good.conclusion_check)
    for j, s in enumerate(steps):
        bad.step(slip if j == k else s.rhs, s.why, check=s.relation, label=s.label)
    results = bad.check()
    assert all(r.passed for r in good.check())
    assert not all(r.passed for r in results)
    assert not results[k].passed


def test_chains_start_at_the_definition_and_end_at_the_closed_forms():
    gen, expl, inv = P.derivations()
    assert gen.start is P.DEFINITION_INTEGRAND and expl.start is P.DEFINITION_INTEGRAND
    assert gen.conclusion is P.CLOSED_FORM and inv.conclusion is P.INVARIANT_FORM
    wrong = Derivation("x", gen.start, conclusion=P.ONE_PAIRING, conclusion_check=gen.conclusion_check)
    for s in gen.steps:
        wrong.step(s.rhs, s.why, check=s.relation, label=s.label)
    assert not wrong.conclude().passed
