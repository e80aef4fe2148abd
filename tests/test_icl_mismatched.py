"""proofs.icl_mismatched_covariance: R_inf with prompt covariance Sigma_p != query covariance Sigma_q (Sec. 7).

The derivation steps pass and a planted slip fails; every check passes and goes red on each of its mutants;
the engine reference (Gauss-Hermite of the definition, verify.icl.mismatch) agrees with the matched closed form
(verify.icl.risk.icl_risk_infinite) when Sigma_p = Sigma_q and sees the mismatch otherwise; the authors' figure at d = 5.
"""

from __future__ import annotations

import numpy as np
import pytest
import sympy as sp
from mpmath import mp

import proofs.icl_mismatched_covariance as P
from verify.kernel.registry import get_statement
from verify.kernel.runner import run_check
from verify.kernel.derivation import Derivation
from verify.icl.risk import icl_risk_infinite
from verify.icl.mismatch import (
    CLOSED_MISMATCH, float_matrix, invariant_mismatch_point, mismatch_point, mismatch_quadrature, mismatch_value, toeplitz,
)

STATEMENT = get_statement("icl-mismatched-covariance")


def _gap(value, q) -> float:
    """|value - q| for an mpf value and an exact rational q, at 60 digits."""
    q = sp.Rational(q)
    with mp.workdps(60):
        return float(abs(value - mp.mpf(q.p) / q.q))


@pytest.mark.parametrize("k", range(4))
def test_derivation_steps_pass(k):
    D = P.derivations()[k]
    results = D.check()
    assert results and all(r.passed for r in results), [r.detail for r in results if not r.passed]


def _replant(D, index, rhs):
    """The chain of D with step ``index`` replaced by a wrong right side (later steps keep theirs)."""
    E = Derivation(D.name, D.start, conclusion=D.conclusion, conclusion_check=D.conclusion_check)
    for i, s in enumerate(D.steps):
        E.step(rhs if i == index else s.rhs, s.why, check=s.relation, label=s.label)
    return E


def test_planted_slip_fails():
    """The query mean taken under Sigma_p (the matched model) instead of Sigma_q: that step goes red."""
    D = P.derivation_invariant()
    h = P.b * P.A.T * P.Sp * P.w - P.w
    E = _replant(D, 1, P.HALF * (h.T * P.Sp * h + P.s**2 * P.I1))
    by_label = dict(zip(E.labels(), E.check()))
    assert not by_label["expect-query"].passed
    # and the general chain: quartic with (tr Sigma_p)^2 only
    G = P.derivation_general()
    wrong = G.steps[2].rhs - P.b**2 * (P.u.T * P.Sq * P.u) * P.trace(P.Sp * P.Sp)
    F = _replant(G, 2, wrong)
    assert not dict(zip(F.labels(), F.check()))["expect-task"].passed


def test_minimizer_slip_fails():
    """Claiming the minimizer Sigma_q^{-1}/b fails the zero-set step."""
    D = P.derivation_minimizer()
    E = _replant(D, 1, P.SQ2.inv() / P.bnz)
    assert not dict(zip(E.labels(), E.check()))["zero-set"].passed


@pytest.mark.parametrize("check", [c.name for c in P.CHECKS])
def test_check_passes_and_mutants_fail(check):
    c = STATEMENT.check_named(check)
    ev = run_check(STATEMENT, c, 0)
    assert ev.passed, ev
    for m in c.mutants:
        assert not run_check(STATEMENT, c, 0, mutant=m.name).passed, m.name


def test_reference_agrees_with_matched_closed_form():
    """Sigma_p = Sigma_q = Sigma: the reference is the matched R_inf (engine float closed form) at general U, V."""
    rng = np.random.default_rng(7)
    for k in (1, 2, 3):
        p = mismatch_point(k, rng)
        p["Sigma_q"] = p["Sigma_p"]
        ref = float(mismatch_quadrature(p))
        closed = icl_risk_infinite(float_matrix(p["U"]), float_matrix(p["V"]), float_matrix(p["Sigma_p"]), float(p["s"]))
        assert ref == pytest.approx(closed, rel=1e-13)


def test_reference_sees_the_mismatch():
    """Sigma_p != Sigma_q: the reference differs from the matched R_inf with either covariance."""
    p = mismatch_point(2, np.random.default_rng(3))
    ref = float(mismatch_quadrature(p))
    U, V, s_ = float_matrix(p["U"]), float_matrix(p["V"]), float(p["s"])
    for S in (p["Sigma_p"], p["Sigma_q"]):
        assert abs(ref - icl_risk_infinite(U, V, float_matrix(S), s_)) > 1e-3 * ref
    assert _gap(mismatch_quadrature(p, dps=60), mismatch_value(p, CLOSED_MISMATCH)) < 1e-55


def test_authors_setting_d5():
    """Sigma_ij = 0.5^|i-j|, d = 5, s^2 = 0.1: in their model (Sigma_p = Sigma^2, Sigma_q = I) A = Sigma^-2 reaches
    s^2/2 = 0.05 and the intended Sigma^-1 does not; in the intended model Sigma^-2 has risk 4/3 + 1/20 = 83/60."""
    S = toeplitz(5, sp.Rational(1, 2))
    s_ = 1 / sp.sqrt(10)
    assert (S.inv()).trace() == sp.Rational(23, 3)
    own = invariant_mismatch_point((S * S).inv(), 1, S * S, sp.eye(5), s_)
    assert _gap(mismatch_quadrature(own), sp.Rational(1, 20)) < 1e-35
    intended_root = invariant_mismatch_point(S.inv(), 1, S * S, sp.eye(5), s_)
    excess = sp.Rational(((S - sp.eye(5)) ** 2).trace(), 2)  # b A^T Sigma_p - I = Sigma - I
    assert excess == sp.Rational(1, 2) * 2 * sum(sp.Rational(1, 4) ** abs(i - j) for i in range(5) for j in range(i))
    assert _gap(mismatch_quadrature(intended_root), excess + sp.Rational(1, 20)) < 1e-35
    intended = invariant_mismatch_point((S * S).inv(), 1, S, S, s_)
    assert _gap(mismatch_quadrature(intended), sp.Rational(83, 60)) < 1e-35
    assert P.INTENDED({"Sigma": S, "s2": sp.Rational(1, 10)}) == sp.Rational(83, 60)
    # the authors' task variance w ~ N(0, I/5): the invariant-subspace excess scales by 1/5, 4/15 + 1/20 = 19/60
    assert _gap(mismatch_quadrature({**intended, "tau2": sp.Rational(1, 5)}), sp.Rational(19, 60)) < 1e-35
    assert _gap(mismatch_quadrature({**own, "tau2": sp.Rational(1, 5)}), sp.Rational(1, 20)) < 1e-35


def test_bad_point_names_the_parameter():
    p = mismatch_point(2, np.random.default_rng(0))
    with pytest.raises(ValueError, match="Sigma_q"):
        mismatch_quadrature({**p, "Sigma_q": sp.eye(3)})
    with pytest.raises(ValueError, match="point"):
        mismatch_quadrature({k: v for k, v in p.items() if k != "s"})
    with pytest.raises(ValueError, match="tau2"):
        mismatch_quadrature({**p, "tau2": 0})
