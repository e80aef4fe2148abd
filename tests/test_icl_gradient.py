"""Tests of verify.icl.gradient (gradient of R_inf, its Hessian, RK4 and DOP853 flows), of the finite differences of
verify.numerics.differences, and of the statement "icl-gradient" (proofs/icl_gradient.py): each check goes red on
its mutants, the balance check passes across seeds, and planted slips break the derivation chains."""

from __future__ import annotations

import numpy as np
import pytest
import sympy as sp

import proofs.icl_gradient as P
from proofs.icl_gradient import GRADIENT_SLIPS, LIMIT_SLIPS
from verify.icl.gradient import (
    balance,
    icl_active_vector,
    icl_from_active_vector,
    icl_risk_gradient,
    icl_risk_gradient_fd,
    icl_risk_hessian_fd,
    invariant_flow,
    invariant_flow_rhs,
    invariant_state,
    paper_flow,
    sum_of_squares,
)
from verify.icl.references import icl_risk_gradient_quadrature_fd
from verify.icl.risk import bayes_point, icl_risk_infinite, invariant_point, toeplitz_sigma
from verify.kernel.compare import relative_error
from verify.kernel.derivation import equal, polynomial_equal, polynomial_gradient
from verify.kernel.registry import get_statement
from verify.kernel.runner import Preparations, run_check
from verify.numerics.differences import central_difference, hessian_fd
from verify.numerics.ode import rk4
from verify.numerics.strategies import random_covariance


def max_relative_error(got, reference) -> float:
    return float(relative_error(got, reference))


def _point(d, seed, scale=0.7):
    rng = np.random.default_rng(seed)
    S = random_covariance(d, rng)
    U, V = scale * rng.standard_normal((2, d + 1, d + 1))
    return U, V, S, float(rng.uniform(0.0, 0.5))


# ------------------------------------------------------------------------------ gradient vs FD


@pytest.mark.parametrize("d", [1, 2, 3, 4, 5])
def test_gradient_matches_central_differences(d):
    U, V, S, noise = _point(d, 10 + d)
    err = max_relative_error(icl_risk_gradient(U, V, S, noise), icl_risk_gradient_fd(U, V, S, noise))
    assert err < 1e-7


def test_free_entries_have_zero_gradient():
    U, V, S, noise = _point(3, 1)
    gU, gV = icl_risk_gradient(U, V, S, noise)
    assert np.all(gU[:, 3] == 0) and np.all(gV[:3, :] == 0)
    fU, fV = icl_risk_gradient_fd(U, V, S, noise)
    assert np.abs(fU[:, 3]).max() < 1e-9 and np.abs(fV[:3, :]).max() < 1e-9


def _wrong_gradient(U, V, S, noise, variant):
    """The closed form with one deliberate slip (what a careless derivation would produce)."""
    d = S.shape[0]
    gU, gV = icl_risk_gradient(U, V, S, noise)
    U11, u, a, b = U[:d, :d], U[d, :d], V[d, :d], V[d, d]
    s2 = noise**2
    M = b * U11.T @ S + np.outer(u, a) @ S - np.eye(d)
    e = U11.T @ S @ a + b * s2 * u + b * np.trace(S) * u
    wU, wV = gU.copy(), gV.copy()
    if variant == "M instead of M^T in nabla_U11":
        wU[:d, :d] = np.outer(S @ a, S @ e) + b * S @ M @ S
    elif variant == "U11^T instead of U11 in nabla_a":
        wV[d, :d] = S @ U11.T @ S @ e + S @ M.T @ S @ u
    elif variant == "kappa = tr(Sigma^2) in nabla_u":
        wU[d, :d] = gU[d, :d] - np.trace(S @ S) * b * b * S @ u
    elif variant == "transposed U11 block":
        wU[:d, :d] = gU[:d, :d].T
    return wU, wV


@pytest.mark.parametrize("variant", ["M instead of M^T in nabla_U11", "U11^T instead of U11 in nabla_a",
                                     "kappa = tr(Sigma^2) in nabla_u", "transposed U11 block"])
def test_wrong_gradient_fails_fd_comparison(variant):
    U, V, S, noise = _point(3, 7)
    err = max_relative_error(_wrong_gradient(U, V, S, noise, variant), icl_risk_gradient_fd(U, V, S, noise))
    assert err > 1e-3, f"{variant} was not rejected (rel. error {err:.1e})"


def test_gradient_at_limit_point_vanishes_and_perturbation_does_not():
    S = toeplitz_sigma(4, 0.5)
    U, V = bayes_point(S)
    assert max(np.abs(g).max() for g in icl_risk_gradient(U, V, S, 0.2)) < 1e-12
    assert max(np.abs(g).max() for g in icl_risk_gradient(1.01 * U, V, S, 0.2)) > 1e-3


# ------------------------------------------------------------------------------ bad input


def test_bad_inputs_name_the_parameter():
    U, V, S, _ = _point(2, 0)
    with pytest.raises(ValueError, match="^U: expected shape"):
        icl_risk_gradient(U[:2, :2], V, S)
    bad = V.copy()
    bad[0, 0] = np.nan
    with pytest.raises(ValueError, match="^V: contains NaN"):
        icl_risk_gradient(U, bad, S)
    with pytest.raises(ValueError, match="^Sigma: covariance must be symmetric"):
        icl_risk_gradient(U, V, [[1.0, 0.5], [0.0, 1.0]])
    with pytest.raises(ValueError, match="^Sigma: covariance must be positive definite"):
        icl_risk_gradient(U, V, [[1.0, 0.0], [0.0, -1.0]])
    with pytest.raises(ValueError, match="^noise: must be >= 0"):
        icl_risk_gradient(U, V, S, noise=-0.1)
    with pytest.raises(TypeError, match="^f: expected a callable"):
        central_difference(3.0, U)
    with pytest.raises(ValueError, match="^h: must be > 0"):
        central_difference(lambda X: 0.0, U, h=0.0)
    with pytest.raises(ValueError, match="^grad: expected a gradient of shape"):
        hessian_fd(lambda x: np.zeros(3), [1.0, 2.0])
    with pytest.raises(ValueError, match="^theta: expected length 9"):
        icl_from_active_vector(np.zeros(8), 2)
    with pytest.raises(ValueError, match="^b: must be finite"):
        invariant_flow_rhs(np.eye(2), float("nan"), S)
    with pytest.raises(TypeError, match="^b0: expected a real number"):
        invariant_flow(np.eye(2), "1", S, 1.0, 10)
    with pytest.raises(ValueError, match="^A0: expected shape"):
        invariant_flow(np.eye(3), 1.0, S, 1.0, 10)
    with pytest.raises(ValueError, match="^grading: must be >= 1"):
        rk4(lambda t, y: -y, [1.0], 1.0, 10, grading=0.5)
    with pytest.raises(ValueError, match="^y0: contains NaN"):
        rk4(lambda t, y: -y, [np.inf], 1.0, 10)


# ------------------------------------------------------------------------------ Hessian


def test_hessian_fd_exact_on_cubic_gradient_and_psd_at_minimizer():
    rng = np.random.default_rng(3)
    Q = rng.standard_normal((4, 4))
    Q = Q + Q.T
    # gradient of 1/2 x^T Q x + sum x_i^4 / 4 is cubic: Hessian Q + diag(3 x^2) exactly
    x = rng.standard_normal(4)
    H = hessian_fd(lambda y: Q @ y + y**3, x)
    assert np.abs(H - (Q + np.diag(3 * x**2))).max() < 1e-9
    S = random_covariance(4, rng)
    ev = np.linalg.eigvalsh(icl_risk_hessian_fd(*bayes_point(S), S, 0.3))
    assert ev.min() > -1e-10 and ev.max() > 1.0


def test_active_vector_roundtrip():
    U, V, _, _ = _point(3, 4)
    U2, V2 = icl_from_active_vector(icl_active_vector(U, V, 3), 3, U, V)
    assert np.array_equal(U, U2) and np.array_equal(V, V2)


# ------------------------------------------------------------------------------ flow


def test_fast_flow_rhs_equals_gradient_rhs():
    rng = np.random.default_rng(5)
    S = random_covariance(3, rng)
    A = rng.standard_normal((3, 3))
    b = 0.8
    Adot, bdot = invariant_flow_rhs(A, b, S)
    h = 1e-4  # one tiny RK4 step of the fast rhs reproduces y + h f(y) to O(h^2)
    As, bs = invariant_state(invariant_flow(A, b, S, h, 1), 3)
    assert np.abs((As[-1] - A) / h - Adot).max() < 1e-2 * max(1.0, np.abs(Adot).max())
    assert abs((bs[-1] - b) / h - bdot) < 1e-2 * max(1.0, abs(bdot))
    # and the gradient-based rhs is -grad of the risk (finite differences of icl_risk_infinite)
    U, V = invariant_point(A, b, 3)
    fU, fV = icl_risk_gradient_fd(U, V, S)
    assert np.abs(Adot + fU[:3, :3]).max() < 1e-7 and abs(bdot + fV[3, 3]) < 1e-7


def test_d1_flow_matches_logistic_solution():
    # balanced d = 1: x = A = b, y = x^2 solves y' = 2 s^2 y (1 - s y): y(t) = 1 / (s + (1/y0 - s) e^{-2 s^2 t})
    sig, x0, T = 0.25, 4.0, 50.0
    tr = invariant_flow([[x0]], x0, [[sig]], T, 2000, record_every=100)
    A, b = invariant_state(tr, 1)
    y_exact = 1.0 / (sig + (1.0 / x0**2 - sig) * np.exp(-2 * sig**2 * tr.t))
    assert np.abs(A[:, 0, 0] ** 2 - y_exact).max() < 1e-8
    assert np.allclose(A[:, 0, 0], b)


def test_rk4_is_deterministic_and_fourth_order():
    f = lambda t, y: np.array([y[1], -y[0]])  # noqa: E731
    e1 = abs(rk4(f, [1.0, 0.0], 2.0, 50).final[0] - np.cos(2.0))
    e2 = abs(rk4(f, [1.0, 0.0], 2.0, 100).final[0] - np.cos(2.0))
    assert 12 < e1 / e2 < 20
    a, b = rk4(f, [1.0, 0.0], 2.0, 50), rk4(f, [1.0, 0.0], 2.0, 50)
    assert np.array_equal(a.y, b.y)


def test_balance_conserved_sum_not():
    S = toeplitz_sigma(3, 0.5)
    A0 = np.array([[0.3, -0.2, 0.1], [0.4, 0.2, 0.0], [-0.1, 0.3, 0.5]])
    tr = invariant_flow(A0, 0.7, S, 10.0, 2000, record_every=50)
    q, p = balance(tr.y), sum_of_squares(tr.y)
    assert np.abs(q - q[0]).max() < 1e-9
    assert np.abs(p - p[0]).max() > 0.1


def test_flow_stationary_at_limit_point():
    S = toeplitz_sigma(3, 0.5)
    U, V = bayes_point(S)
    Adot, bdot = invariant_flow_rhs(U[:3, :3], V[3, 3], S)
    assert np.abs(Adot).max() < 1e-12 and abs(bdot) < 1e-12
    assert icl_risk_infinite(U, V, S, 0.3) == pytest.approx(0.045, abs=1e-15)


# ------------------------------------------------------------------------------ the proof's references and figures can fail


def test_quadrature_reference_agrees_with_the_closed_form_and_rejects_slips():
    U, V, S, noise = _point(1, 21)
    ref = icl_risk_gradient_quadrature_fd(U, V, S, noise)
    assert max_relative_error(icl_risk_gradient(U, V, S, noise), ref) < 1e-12
    for name in ("dropped", "factor2"):
        assert max_relative_error(GRADIENT_SLIPS[name](U, V, S, noise), ref) > 1e-3, name


@pytest.mark.parametrize("name", sorted(GRADIENT_SLIPS))
def test_every_gradient_slip_differs_from_the_reference(name):
    U, V, S, noise = _point(3, 7)
    p = {"U": U, "V": V, "Sigma": S, "noise": noise, "reference": "closed form"}
    assert max_relative_error(icl_risk_gradient(U, V, S, noise), P.gradient_reference(p)) < 1e-11
    assert max_relative_error(GRADIENT_SLIPS[name](U, V, S, noise), P.gradient_reference(p)) > 1e-3, name


def test_flow_discrepancy_accepts_the_printed_flow_only():
    rng = np.random.default_rng(2)
    p = {"Sigma": random_covariance(3, rng), "A": rng.standard_normal((3, 3)), "b": 0.9}
    ref = P.flow_reference(p)
    assert P.flow_discrepancy(p, ref, paper_flow) < 1e-10
    for name, slip in P.FLOW_SLIPS.items():
        assert P.flow_discrepancy(p, ref, slip) > 1e-3, name


def test_conservation_bound_holds_for_the_balance_and_not_for_the_sum():
    p = {"Sigma": toeplitz_sigma(3, 0.5), "A0": np.array([[0.3, -0.2, 0.1], [0.4, 0.2, 0.0], [-0.1, 0.3, 0.5]]),
         "b0": 0.7, "t_end": 20.0}
    drift, allowed, steps = P.conservation_drift(p, (paper_flow, balance))
    assert drift <= allowed and steps > 10 and allowed < 1e-8
    drift, allowed, _ = P.conservation_drift(p, (paper_flow, sum_of_squares))
    assert drift > 1e6 * allowed
    drift, allowed, _ = P.conservation_drift(p, (P.FLOW_SLIPS["wrong sign"], balance))
    assert drift > 1e6 * allowed


def test_limit_slips_are_far_from_the_flow_limit():
    (p,) = P.balanced_points(None, [[[0.25]]], (4.0,))
    assert p["P"].tolist() == [[1.0]] and p["alpha"] == 4.0
    assert P.balanced_limit_distance(p, bayes_point) < 1e-8
    for name, slip in LIMIT_SLIPS.items():
        assert P.balanced_limit_distance(p, slip) > 0.1, name


def test_balanced_points_integrate_each_covariance_once_in_a_batch():
    """The endpoints of a batch equal those of one flow at a time (the batch only stacks the states)."""
    rng = np.random.default_rng(4)
    pts = P.balanced_points(rng, [toeplitz_sigma(2, 0.5)], (0.5, 1.5), t_end=50.0, n_steps=500)
    for p in pts:
        A0 = p["alpha"] * p["P"]
        A, b = invariant_state(invariant_flow(A0, p["alpha"], p["Sigma"], 50.0, 500, grading=3.0), 2)
        U, V = p["endpoint"]
        assert np.allclose(U[:2, :2], A[-1], atol=1e-12) and abs(V[2, 2] - b[-1]) < 1e-12


def test_polynomial_relation_and_gradient():
    x, y = sp.symbols("x y")
    rel = polynomial_equal()
    assert rel.test((x + y) ** 2, x**2 + 2 * x * y + y**2)[0]
    assert not rel.test((x + y) ** 2, x**2 + y**2)[0]
    assert not rel.test(sp.Matrix([[x, y]]), sp.Matrix([[x], [y]]))[0]
    assert polynomial_gradient(x**2 * y + 3, sp.Matrix([[x, y]]), sp.Matrix([[sp.Symbol("z")]])) == sp.Matrix([[2 * x * y, x**2, 0]])


# ------------------------------------------------------------------------------ the statement's checks


def _check(name):
    st = get_statement("icl-gradient")
    return st, st.check_named(name)


_STORE = Preparations()
"""Preparations shared by the tests of this module (each check prepared once per seed, as the plugin does)."""


@pytest.mark.parametrize("seed", [5, 8, 16, 20, 27, 28])
def test_balance_conserved_passes_across_seeds(seed):
    st, chk = _check("balance-conserved")
    ev = run_check(st, chk, seed)
    assert ev.passed, ev.detail


@pytest.mark.parametrize("check,mutant", [
    ("gradient-vs-fd", r"$\nabla_{U_{11}}$ transposed"),
    ("gradient-vs-fd", r"$\kappa b^2\Sigma u$ dropped from $\nabla_u$"),
    ("gradient-vs-fd", r"$2\nabla_a$"),
    ("balance-conserved", r"$\|A\|_F^2 + b^2$"),
    ("balanced-flow-converges", r"$U_\star$ with $\mathrm{tr}(\Sigma^{-2})^{+1/4}$"),
    ("audit-witness-d1", r"$U_\star$ with $\mathrm{tr}(\Sigma^{-2})^{+1/4}$"),
])
def test_named_mutants_are_caught(check, mutant):
    st, chk = _check(check)
    assert run_check(st, chk, 0, preparations=_STORE).passed
    assert not run_check(st, chk, 0, mutant=mutant, preparations=_STORE).passed


@pytest.mark.parametrize("check", ["wrong-gradient-rejected", "transposed-flow-rejected", "sum-not-conserved"])
def test_negative_controls_reject_the_wrong_form_and_accept_the_right_one(check):
    st, chk = _check(check)
    assert chk.kind == "negative-control"
    assert run_check(st, chk, 1).passed
    assert all(not run_check(st, chk, 1, mutant=m.name).passed for m in chk.mutants)


def test_gradient_check_uses_the_quadrature_of_the_definition():
    st, chk = _check("gradient-vs-fd")
    ev = run_check(st, chk, 3)
    assert ev.passed and ev.figure >= 11 and "quadrature" in ev.detail + chk.description


def test_numpy_kernel_is_checked_against_the_sympy_blocks():
    """The numpy gradient agrees with the statement's SymPy blocks at exact points; every planted slip is caught."""
    st, chk = _check("numpy-kernel-vs-closed-form")
    ev = run_check(st, chk, 2)
    assert ev.passed and ev.figure >= 14, ev.detail
    assert all(not run_check(st, chk, 2, mutant=m.name).passed for m in chk.mutants)
    assert len(chk.mutants) == len(GRADIENT_SLIPS)


# ------------------------------------------------------------------------------ derivations reject planted slips


def _slipped_flow(A, b, Sigma):
    """Sigma^2 A Sigma -> Sigma A Sigma^2 in the printed flow."""
    S2 = Sigma * Sigma
    return b * S2 - b**2 * Sigma * A * S2, (A.T * S2).trace() - b * (A.T * S2 * A * Sigma).trace()


def test_invariant_flow_chain_passes_and_a_planted_slip_fails():
    assert all(r.passed for r in P.derivation_invariant_flow(2).check())
    results = P.derivation_invariant_flow(2, flow=_slipped_flow).check()
    assert not all(r.passed for r in results)
    assert not results[1].passed  # the step "u- and a-blocks vanish" meets the slipped flow


def test_transposed_paper_flow_is_refuted_symbolically():
    from verify.symbolic import symbolic_matrix

    def transposed(A, b, Sigma):
        return b * Sigma * Sigma - b**2 * Sigma * A.T * Sigma * Sigma, _slipped_flow(A, b, Sigma)[1]

    assert not all(r.passed for r in P.derivation_invariant_flow(2, flow=transposed).check())
    assert symbolic_matrix("A", 2, 2) != symbolic_matrix("A", 2, 2).T  # the chain uses a non-symmetric A


def test_conservation_chain_fails_for_a_wrong_flow():
    assert all(r.passed for r in P.derivation_conservation(2).check())

    def wrong_sign(A, b, Sigma):
        S2 = Sigma * Sigma
        return b * S2 - b**2 * S2 * A * Sigma, (A.T * S2).trace() + b * (A.T * S2 * A * Sigma).trace()

    assert not all(r.passed for r in P.derivation_conservation(2, flow=wrong_sign).check())
    assert not all(r.passed for r in P.derivation_conservation(2, flow=_slipped_flow).check())


def test_gradient_chain_rejects_a_transposed_block():
    from verify.icl.symbols import icl_symbols, risk_infinite_from_blocks

    der = P.derivation_gradient(2)
    assert all(r.passed for r in der.check())
    assert der.steps[0].lhs is der.start and der.steps[1].lhs is der.steps[0].rhs  # one connected chain
    S = icl_symbols(2)
    U11, u, a, b = S["blocks"]
    Sig = S["Sigma"]
    R = risk_infinite_from_blocks(U11, u, a, b, Sig)
    gU11, gu, ga, gb = P.gradient_blocks(U11, u, a, b, Sig)
    eG = P.explicit_gradient(R, S["U"], S["V"])
    assert equal.test(eG, P.assemble(gU11, gu, ga, gb, 2))[0]
    assert not equal.test(eG, P.assemble(gU11.T, gu, ga, gb, 2))[0]  # transposed block
    assert not equal.test(eG, P.assemble(gU11, gu, 2 * ga, gb, 2))[0]  # factor 2
    # the same slip planted in the chain's last right side fails the step
    step = der.steps[1]
    assert not step.relation.test(step.lhs, P.assemble(gU11.T, gu, ga, gb, 2))[0]


def test_wrong_closed_form_fails_the_decomposition():
    from verify.icl.symbols import icl_symbols, residual, risk_infinite_from_blocks, s
    from verify.symbolic import wick_expectation

    S = icl_symbols(2)
    U11, u, a, b = S["blocks"]
    Sig, w = S["Sigma"], S["w"]
    right = risk_infinite_from_blocks(U11, u, a, b, Sig)
    # kappa = (tr S)^2 + tr(S^2) instead of + 2 tr(S^2): a dropped Wick pairing
    wrong = right - sp.Rational(1, 2) * b**2 * (u.T * Sig * u)[0] * (Sig * Sig).trace()
    r = residual(U11, u, a, b, Sig, w)
    mean_sq = wick_expectation(sp.expand((r.T * Sig * r)[0]), list(w))
    assert equal.test(right, s**2 / 2 + mean_sq / 2)[0]
    assert not equal.test(wrong, s**2 / 2 + mean_sq / 2)[0]
