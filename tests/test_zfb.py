"""ZFB (zfb-linear): engine unit tests and negative controls that must fail on wrong formulas."""

import math

import numpy as np
import pytest
import sympy as sp

from proofs import zfb_linear as zl
from verify.claims import run_check
from verify.derivation import Derivation, equal
from verify.icl import toeplitz_sigma
from verify.zfb import (
    embed_prompt,
    lsa_forward,
    lsa_prediction,
    wishart_product,
    wishart_product_mc,
    zfb_error,
    zfb_error_mc,
    zfb_error_parts,
    zfb_gamma,
    zfb_minimizer,
    zfb_predict,
)

L3 = toeplitz_sigma(3, 0.5)


# ------------------------------------------------------------------------------------------ bad input


@pytest.mark.parametrize(
    "call, name",
    [
        (lambda: zfb_gamma([[1.0, 0.5], [0.0, 1.0]], 3), "Lambda"),
        (lambda: zfb_gamma([[1.0, 2.0], [2.0, 1.0]], 3), "Lambda"),
        (lambda: zfb_gamma([[np.nan]], 3), "Lambda"),
        (lambda: zfb_gamma(L3, 0), "N"),
        (lambda: zfb_gamma(L3, 2.5), "N"),
        (lambda: zfb_error(L3, 3, 0), "M"),
        (lambda: zfb_error(L3, 3, 3, noise_std=-1.0), "noise_std"),
        (lambda: zfb_error(L3, 3, 3, target_noise_std=float("inf")), "target_noise_std"),
        (lambda: zfb_error_mc(L3, 3, 3, n_prompts=1, seed=0), "n_prompts"),
        (lambda: zfb_error_mc(L3, 3, 3, n_prompts=10, seed=None), "seed"),
        (lambda: zfb_error_mc(L3, 3, 3, n_prompts=10, seed=0, method="softmax"), "method"),
        (lambda: zfb_error_mc(L3, 3, math.inf, n_prompts=10, seed=0), "M"),
        (lambda: lsa_forward(np.zeros((4, 3)), np.eye(3), np.eye(4)), "W_KQ"),
        (lambda: lsa_forward(np.zeros((4, 3)), np.eye(4), np.eye(3)), "W_PV"),
        (lambda: lsa_forward(np.zeros((4, 1)), np.eye(4), np.eye(4)), "E"),
        (lambda: embed_prompt(np.zeros((5, 3)), np.zeros(4), np.zeros(3)), "y"),
        (lambda: embed_prompt(np.zeros((5, 3)), np.zeros(5), np.zeros(2)), "x_q"),
        (lambda: zfb_predict(np.zeros((5, 2)), np.zeros(5), np.zeros(2), L3, 3), "Lambda"),
        (lambda: wishart_product(L3, np.eye(2), 3), "B"),
        (lambda: wishart_product_mc(L3, np.eye(3), 0, 10, 0), "M"),
    ],
)
def test_bad_input_names_the_parameter(call, name):
    with pytest.raises((ValueError, TypeError)) as exc:
        call()
    assert str(exc.value).startswith(name + ":"), str(exc.value)


# ------------------------------------------------------------------------------------------ determinism


def test_monte_carlo_is_deterministic_by_seed():
    a = zfb_error_mc(L3, 5, 4, n_prompts=5000, seed=11)
    b = zfb_error_mc(L3, 5, 4, n_prompts=5000, seed=11)
    c = zfb_error_mc(L3, 5, 4, n_prompts=5000, seed=12)
    assert a == b and a != c
    g1, g2 = np.random.default_rng(3), np.random.default_rng(3)
    assert zfb_error_mc(L3, 5, 4, 3000, g1, noise_std=0.3) == zfb_error_mc(L3, 5, 4, 3000, g2, noise_std=0.3)
    m1, s1 = wishart_product_mc(L3, np.eye(3), 2, 3000, 9)
    m2, s2 = wishart_product_mc(L3, np.eye(3), 2, 3000, 9)
    assert np.array_equal(m1, m2) and np.array_equal(s1, s2)


def test_lsa_and_predictor_methods_see_the_same_prompts():
    """Same seed, same draws: the full forward pass and the reduced predictor give the same estimate."""
    a = zfb_error_mc(L3, 6, 9, 4000, seed=5, noise_std=0.2, target_noise_std=0.1, method="predictor")
    b = zfb_error_mc(L3, 6, 9, 4000, seed=5, noise_std=0.2, target_noise_std=0.1, method="lsa")
    assert abs(a.mean - b.mean) < 1e-12 * a.mean and abs(a.stderr - b.stderr) < 1e-9 * a.stderr


# ------------------------------------------------------------------------------------------ the layer


def test_query_label_slot_contribution():
    """With label slot ell in the query column the output moves by ell (1 + x_q^T Gamma^{-1} x_q / M), exactly."""
    rng = np.random.default_rng(0)
    M_, N_ = 6, 4
    X, y, xq = rng.standard_normal((M_, 3)), rng.standard_normal(M_), rng.standard_normal(3)
    WKQ, WPV = zfb_minimizer(L3, N_)
    E = embed_prompt(X, y, xq)
    base = lsa_prediction(E, WKQ, WPV)
    assert abs(base - zfb_predict(X, y, xq, L3, N_)) < 1e-13
    ell = 0.7
    E[3, M_] = ell
    Gi = np.linalg.inv(zfb_gamma(L3, N_))
    assert abs(lsa_prediction(E, WKQ, WPV) - base - ell * (1 + xq @ Gi @ xq / M_)) < 1e-12


def test_minimiser_limits_and_closed_form_values():
    WKQ, WPV = zfb_minimizer(L3, math.inf)
    Si = np.linalg.inv(L3)
    c = np.trace(Si @ Si) ** 0.25
    assert np.allclose(WKQ[:3, :3], Si / c) and np.isclose(WPV[3, 3], c)
    assert zfb_error(L3, math.inf, math.inf) < 1e-14
    parts = zfb_error_parts(L3, 5, 5)
    assert math.isclose(zfb_error(L3, 5, 5), np.trace(L3) - np.trace(np.linalg.inv(zfb_gamma(L3, 5)) @ L3 @ L3))
    assert parts["prompt_noise"] == 0.0 and parts["target_noise"] == 0.0


# ------------------------------------------------------------------------------------------ Wishart identity by MC


def test_wishart_identity_d2_by_monte_carlo_and_a_wrong_version_rejected():
    Lam = np.array([[1.0, 0.6], [0.6, 2.0]])
    B = np.array([[1.0, 2.0], [-1.0, 0.5]])  # not symmetric: B^T matters
    M_ = 2
    mean, se = wishart_product_mc(Lam, B, M_, 400_000, seed=2024)
    z = (mean - wishart_product(Lam, B, M_)) / se
    assert np.max(np.abs(z)) <= 5, z
    wrong = Lam @ B @ Lam + (Lam @ B @ Lam + np.trace(B @ Lam) * Lam) / M_  # B for B^T
    zw = (mean - wrong) / se
    assert np.max(np.abs(zw)) > 5, zw


# ------------------------------------------------------------------------------------------ negative controls


def test_negative_control_check_passes():
    ev = run_check(zl.STATEMENT, zl.STATEMENT.check_named("wrong-formulas-rejected"), 0)
    assert ev.passed and ev.figure > 5, ev.detail


@pytest.mark.parametrize("wrong", sorted(zl.WRONG_FORMULAS))
def test_monte_carlo_check_rejects_each_wrong_formula(wrong):
    config = zl._cfg(L3, 5, 5, 0.5, 0.0)
    out = zl.check_monte_carlo([config], 100_000, formula=zl.WRONG_FORMULAS[wrong])(np.random.default_rng(1))
    assert not out.passed and out.figure > 5, out.detail
    good = zl.check_monte_carlo([config], 100_000)(np.random.default_rng(1))
    assert good.passed, good.detail


def test_paper_first_form_equals_second_form_numerically():
    """paper.md gives two forms of the averaged error; both agree with the engine at M != N."""
    N_, M_ = 7, 3
    Gi = np.linalg.inv(zfb_gamma(L3, N_))
    R = np.eye(3) - Gi @ L3
    first = np.trace(L3 @ R @ R) + (np.trace(Gi @ Gi @ L3 @ L3 @ L3) + np.trace(L3) * np.trace(Gi @ Gi @ L3 @ L3)) / M_
    GM = zfb_gamma(L3, M_)
    second = np.trace(L3) - 2 * np.trace(Gi @ L3 @ L3) + np.trace(Gi @ L3 @ Gi @ GM @ L3)
    assert math.isclose(first, second, rel_tol=1e-12) and math.isclose(first, zfb_error(L3, N_, M_), rel_tol=1e-12)


def _failed(D: Derivation) -> bool:
    return not all(r.passed for r in D.check())


def test_derivation_rejects_wrong_wishart():
    Lam, B = zl._sym("l", 2), zl._full("b", 2)
    x = zl._vec("x", 2)
    fourth = zl.expect(x * x.T * B * x * x.T, [zl.GaussianBlock(list(x), Lam)])
    D = Derivation("wrong", fourth).step(2 * Lam * B * Lam + zl._tr(B * Lam) * Lam, "B^T replaced by B")
    assert _failed(D)


def test_derivation_rejects_gamma_equal_lambda_at_finite_n():
    Lam = zl._sym("l", 2)
    wrong = zl.error_closed_form(Lam, sp.oo, zl.M, 0, 0)  # Gamma = Lambda
    D = Derivation("wrong", zl.error_closed_form(Lam, zl.N, zl.M, 0, 0)).step(wrong, "Gamma = Lambda")
    assert _failed(D)


def test_derivation_rejects_wrong_rate_and_query_term():
    Lam = zl._diag("lambda", 2)
    err = zl.error_closed_form(Lam, zl.N, zl.N, 0, 0)
    D = Derivation("wrong", zl.N * err).step(2 * zl._tr(Lam), "d tr(Lambda) instead of (d+1) tr(Lambda)",
                                             check=zl.limit_as(zl.N))
    assert _failed(D)
    # the LSA output with a non-zero label slot is NOT the predictor: the query term is real
    good = zl.derivation_lsa_output(2, 3)
    last = good.steps[2]
    assert last.relation.test(last.lhs, last.rhs)[0]
    assert not equal.test(last.lhs, last.rhs)[0]


def test_cheap_derivations_pass():
    for D in (zl.derivation_lsa_output(2, 3), zl.derivation_wishart(2, 2), zl.derivation_error_direct(1, 3)):
        assert all(r.passed for r in D.check()), D.name
