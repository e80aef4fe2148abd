"""proofs.icl_minimizers: each named mutant is caught, and the independent references can fail.

The statement's own items (derivation steps, evidence, mutants) run through the pytest plugin; here: the
minimizer checks no longer evaluate the closed form (a truncated R_inf cannot pass them), every value they
print is compared, and the engine references (definition by Gauss-Hermite, gradient under the integral,
Hessian by exact differences) agree with independent computations and disagree with wrong ones.
"""

from __future__ import annotations

import numpy as np
import pytest

import proofs.icl_minimizers as P
from verify.kernel.registry import get_statement
from verify.kernel.runner import run_check
from verify.kernel.derivation import Derivation
from verify.icl.risk import bayes_point, icl_risk_infinite, toeplitz_sigma
from verify.icl.references import gradient_definition, hessian_definition, risk_definition_gh
from verify.numerics.differences import central_difference
from verify.icl.symbols import Sigma, trace
from verify.numerics.strategies import random_covariance

STATEMENT = get_statement("icl-minimizers")


def _run(check, mutant=None, seed=0):
    return run_check(STATEMENT, STATEMENT.check_named(check), seed, mutant=mutant)


@pytest.mark.parametrize("check,mutant", [
    ("risk-at-minimizers", "minimizers of R_inf without cross and quartic terms"),
    ("risk-at-minimizers", "Bayes risk s^2"),
    ("risk-at-minimizers", "b U11 = Sigma^-2"),
    ("gradient-at-minimizers", "b U11 = Sigma^-2"),
    ("gradient-at-minimizers", "minimizers of R_inf without cross and quartic terms"),
    ("perturbed-point", "R_inf without cross and quartic terms"),
    ("perturbed-point", "a minimizer: excess 0"),
    ("d1-family-not-in-d2", "the d = 1 family extends: excess 0"),
    ("d1-family-not-in-d2", "Sigma_11/2"),
    ("finite-prompt-above-bayes", "Bayes risk s^2"),
])
def test_named_mutants_caught(check, mutant):
    assert _run(check).passed
    assert not _run(check, mutant).passed


def test_references_do_not_call_the_closed_form(monkeypatch):
    """With icl_risk_infinite replaced by a truncated formula the numeric checks are unchanged: they never call it."""
    import verify.icl.gradient as grad
    import verify.icl.risk as icl

    monkeypatch.setattr(icl, "icl_risk_infinite", lambda *a, **k: 0.0)
    monkeypatch.setattr(grad, "icl_risk_infinite", lambda *a, **k: 0.0)
    for name in ("risk-at-minimizers", "perturbed-point", "d1-family-not-in-d2"):
        assert _run(name).passed


def test_perturbed_excess_is_compared():
    """1.01 U_*: the definition's excess is 1/2 (0.01)^2 tr Sigma, and a 1% wrong prediction fails."""
    p = P.perturbed_points()[0]
    assert P.excess_definition(p) == pytest.approx(0.5 * 0.01**2 * np.trace(p["Sigma"]), rel=1e-9)
    assert not _run("perturbed-point", "1.01 x excess").passed


def test_rank_one_value_is_asserted():
    for p in P.rank_one_points(np.random.default_rng(0)):
        assert P.excess_definition(p) == pytest.approx(p["Sigma"][1, 1] / 2, rel=1e-12)
    assert not _run("d1-family-not-in-d2", "1.01 x Sigma_22/2").passed


# ------------------------------------------------------------------------------ engine references


@pytest.mark.parametrize("d", [1, 2, 3])
def test_definition_quadrature_matches_closed_form_and_not_a_truncated_one(d):
    rng = np.random.default_rng(d)
    S = random_covariance(d, rng)
    U, V = 0.5 * rng.standard_normal((d + 1, d + 1)), 0.5 * rng.standard_normal((d + 1, d + 1))
    R = risk_definition_gh(U, V, S, 0.3)
    assert R == pytest.approx(icl_risk_infinite(U, V, S, 0.3), rel=1e-12)
    U2 = U.copy()
    U2[d, :d] = 0.0  # dropping u changes the definition's value (the check can see it)
    assert abs(risk_definition_gh(U2, V, S, 0.3) - R) > 1e-6


@pytest.mark.parametrize("d", [1, 2, 3])
def test_gradient_under_the_integral_matches_central_differences(d):
    rng = np.random.default_rng(10 + d)
    S = random_covariance(d, rng)
    U, V = 0.5 * rng.standard_normal((d + 1, d + 1)), 0.5 * rng.standard_normal((d + 1, d + 1))
    gU, gV = gradient_definition(U, V, S, 0.2)
    fU = central_difference(lambda X: risk_definition_gh(X, V, S, 0.2), U, h=0.5)  # exact: degree 2 per entry
    fV = central_difference(lambda X: risk_definition_gh(U, X, S, 0.2), V, h=0.5)
    assert np.allclose(gU, fU, atol=1e-10) and np.allclose(gV, fV, atol=1e-10)
    assert np.abs(gU).max() > 1e-3  # not trivially zero


def test_hessian_is_exact_and_sees_a_saddle():
    S = toeplitz_sigma(2, 0.5)
    U, V = bayes_point(S)
    H = hessian_definition(U, V, S, 0.3)
    assert np.linalg.eigvalsh(H).min() > -1e-10
    H0 = hessian_definition(np.zeros((3, 3)), np.zeros((3, 3)), S, 0.3)
    assert np.linalg.eigvalsh(H0).min() < -0.1
    assert np.allclose(H, hessian_definition(U, V, S, 0.3, h=0.1), atol=1e-9)  # step-independent: exact


def test_minimizer_points_and_truncated_zeros():
    specs = P.minimizer_specs(np.random.default_rng(2), (1, 2))
    for sp_ in specs:
        U, V = P.minimizer_uv(sp_, lambda S, b: np.linalg.inv(S) / b, lambda a, S: 1 / (a * S))
        assert abs(risk_definition_gh(U, V, sp_["Sigma"], sp_["s"]) - sp_["s"] ** 2 / 2) < 1e-12
        if sp_["family"] == "F1":
            U, V = P.truncated_zero_uv(sp_)
            assert risk_definition_gh(U, V, sp_["Sigma"], sp_["s"]) - sp_["s"] ** 2 / 2 > 1e-3


# ------------------------------------------------------------------------------ derivations


def test_chains_start_at_the_closed_form():
    D = P.derivation_decomposition_general()
    assert D.start is P.CLOSED_FORM
    assert all(r.passed for r in D.check())


def test_planted_slip_in_the_sum_of_squares_fails():
    """tr(Sigma)^2 for tr(Sigma^2) in the sum of squares: the step fails."""
    good = P.derivation_decomposition_general()
    bad = Derivation(good.name, good.start, conclusion=good.conclusion, conclusion_check=good.conclusion_check)
    for s in good.steps:
        rhs = s.rhs.xreplace({trace(Sigma * Sigma): trace(Sigma) ** 2}) if s.label == "squares" else s.rhs
        bad.step(rhs, s.why, check=s.relation, label=s.label)
    results = bad.check()
    assert not results[1].passed


def test_zero_set_relation_rejects_a_wrong_family():
    D = P.derivation_minimizer_set(1)
    step = D.steps[-1]
    assert step.check().passed
    fams = list(step.rhs)
    wrong = [{**fams[0], next(iter(fams[0])): 2 * fams[0][next(iter(fams[0]))]}] + fams[1:]
    assert not step.relation.test(step.lhs, wrong)[0]
    assert not step.relation.test(step.lhs, fams[:1])[0]  # (F2) missing in d = 1


def test_the_proof_module_leaves_the_numerics_to_the_engine():
    """Points, mutants and figures live in the proof; quadrature rules, integrators and sample loops in the engine."""
    import inspect

    src = inspect.getsource(P)
    for word in ("hermite_rule", "itertools.product", "solve_ivp", "for start in range", "mean_estimate", "while "):
        assert word not in src, word
