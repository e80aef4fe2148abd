"""ZFB (zfb-linear): engine unit tests and negative controls that must fail on wrong formulas."""

import math

import numpy as np
import pytest
import sympy as sp

from proofs import zfb_linear as zl
from verify.kernel.runner import run_check
from verify.kernel.derivation import Derivation
from verify.icl.risk import toeplitz_sigma
from verify.symbolic import symbolic_matrix
from verify.icl.zfb import (
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


def test_minimizer_limits_and_closed_form_values():
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


# ------------------------------------------------------------------------------------------ a planted Gamma

PLANTED_GAMMA = "Gamma = (1 + 2/N)Lambda + tr(Lambda)/N I"
LISTED = ["mc-predictor-M-ne-N", "mc-lsa-forward-M-eq-N", "forward-pass-equals-predictor", "large-N", "bb-risk-link",
          "corollary-4.3"]


@pytest.mark.parametrize("name", LISTED)
def test_planted_gamma_is_caught_and_true_claim_passes(name):
    """Every listed check goes red on Gamma = (1 + 2/N)Lambda + tr(Lambda)/N I and stays green on the claim."""
    check = zl.STATEMENT.check_named(name)
    assert run_check(zl.STATEMENT, check, 0).passed
    ev = run_check(zl.STATEMENT, check, 0, mutant=PLANTED_GAMMA)
    assert ev.caught, ev.detail


def test_references_never_call_zfb_gamma(monkeypatch):
    """The Gamma-free references keep working when zfb_gamma raises."""
    import verify.icl.zfb as z
    from verify.icl import zfb_references as zr

    def boom(*a, **k):
        raise AssertionError("zfb_gamma called by a reference")

    monkeypatch.setattr(z, "zfb_gamma", boom)
    WKQ, WPV = z.lsa_trained_minimizer(L3, 5)
    z.trained_first_order(L3)
    z.lsa_error_conditional_mc(L3, WKQ, WPV, 4, 1000, 0)
    z.lsa_block_error(L3, WKQ[:3, :3].T * WPV[3, 3], 4)
    p = zl.prompt_points(np.random.default_rng(0), n_prompts=5)[0]
    zr.trained_forward(p)
    zr.trained_error_estimate({"Lambda": L3, "N": 5, "M": 4, "s": 0.1, "t": 0.0}, np.random.default_rng(1), 1000)


def test_zfb_minimizer_is_the_balanced_point_of_gamma():
    """zfb_minimizer is minimizer_from_gamma(zfb_gamma): one formula for W_*(Gamma)."""
    from verify.icl.zfb import minimizer_from_gamma

    for N_ in (1, 7, math.inf):
        assert all(np.array_equal(a, b) for a, b in zip(zfb_minimizer(L3, N_), minimizer_from_gamma(zfb_gamma(L3, N_))))


def test_the_statement_as_a_subject_is_built_from_the_engine():
    """The ZFB claim of the proof: its Gamma is zfb_gamma, its error form equals the engine's zfb_error."""
    c = zl.CLAIM
    for N_, M_, s_, t_ in ((5, 5, 0.0, 0.0), (10, 4, 0.5, 0.5), (3, 17, 1.0, 0.0)):
        assert math.isclose(c.error_at(L3, N_, M_, s_, t_), zfb_error(L3, N_, M_, s_, t_), rel_tol=1e-12)
    assert math.isclose(c.error_at(L3, 4, math.inf), zfb_error(L3, 4, math.inf), rel_tol=1e-12)


def test_trained_minimizer_is_the_population_optimum():
    """The Gamma-free minimizer has zero gradient of the exact block loss, and any perturbation raises the loss."""
    from verify.icl.zfb import lsa_block_error, lsa_trained_minimizer
    WKQ, WPV = lsa_trained_minimizer(L3, 4)
    C = WPV[3, 3] * WKQ[:3, :3].T
    f0 = lsa_block_error(L3, C, 4)
    rng = np.random.default_rng(0)
    for _ in range(5):
        D = rng.standard_normal((3, 3)) * 1e-3
        assert lsa_block_error(L3, C + D, 4) > f0
    assert np.allclose(WKQ, zfb_minimizer(L3, 4)[0], atol=1e-14) and np.allclose(WPV, zfb_minimizer(L3, 4)[1], atol=1e-14)


def test_block_error_agrees_with_the_forward_pass_monte_carlo():
    """lsa_block_error (exact moments) vs the forward pass (cubature over w, x_q) at a random block-form C."""
    from verify.icl.zfb import lsa_block_error, lsa_error_conditional_mc
    rng = np.random.default_rng(1)
    C = np.eye(3) + 0.3 * rng.standard_normal((3, 3))
    WKQ, WPV = np.zeros((4, 4)), np.zeros((4, 4))
    WKQ[:3, :3], WPV[3, 3] = C.T, 1.0
    est = lsa_error_conditional_mc(L3, WKQ, WPV, 5, 100_000, 3)
    assert abs(est.z(lsa_block_error(L3, C, 5))) < 5
    assert abs(est.z(1.05 * lsa_block_error(L3, C, 5))) > 5


def test_query_output_and_cubature_are_the_forward_pass():
    from verify.icl.zfb import lsa_error_conditional_mc, lsa_error_mc, lsa_query_output
    rng = np.random.default_rng(2)
    E = rng.standard_normal((7, 4, 6))
    W1, W2 = rng.standard_normal((4, 4)), rng.standard_normal((4, 4))
    assert np.allclose(lsa_query_output(E, W1, W2), lsa_forward(E, W1, W2)[:, :, -1], atol=1e-12)
    W = zfb_minimizer(L3, 3)
    a = lsa_error_conditional_mc(L3, *W, 4, 100_000, 4, noise_std=0.4, target_noise_std=0.3)
    b = lsa_error_mc(L3, *W, 4, 400_000, 5, noise_std=0.4, target_noise_std=0.3)
    assert abs(a.mean - b.mean) < 5 * math.hypot(a.stderr, b.stderr)
    with pytest.raises(ValueError, match="^W_PV:"):
        lsa_error_conditional_mc(L3, W[0], W[1] + np.eye(4)[::-1], 4, 10, 0)  # w^{PV}_{21} != 0


def test_paper_first_form_equals_second_form_numerically():
    """The two forms of the averaged error (bias plus variance, and Theorem 4.2's) agree with the engine at M != N."""
    N_, M_ = 7, 3
    Gi = np.linalg.inv(zfb_gamma(L3, N_))
    R = np.eye(3) - Gi @ L3
    first = np.trace(L3 @ R @ R) + (np.trace(Gi @ Gi @ L3 @ L3 @ L3) + np.trace(L3) * np.trace(Gi @ Gi @ L3 @ L3)) / M_
    GM = zfb_gamma(L3, M_)
    second = np.trace(L3) - 2 * np.trace(Gi @ L3 @ L3) + np.trace(Gi @ L3 @ Gi @ GM @ L3)
    assert math.isclose(first, second, rel_tol=1e-12) and math.isclose(first, zfb_error(L3, N_, M_), rel_tol=1e-12)


def _failed(D: Derivation) -> bool:
    return not all(r.passed for r in D.check())


def _plant(D: Derivation, index: int, rhs) -> Derivation:
    """A copy of D whose step ``index`` has a planted right side (the chain after it is rebuilt from there)."""
    out = Derivation(D.name + " (planted)", D.start, conclusion=D.conclusion, conclusion_check=D.conclusion_check)
    for k, s in enumerate(D.steps):
        out.step(rhs if k == index else s.rhs, s.why, check=s.relation, label=s.label)
    return out


def test_planted_slips_fail_the_chains():
    Lam, B = symbolic_matrix("l", 2, 2, symmetric=True), symbolic_matrix("b", 2, 2)
    # Wishart: B for B^T in the last right side
    D = zl.derivation_wishart(2)
    assert not _failed(D)
    assert _failed(_plant(D, 0, Lam * B * Lam + (Lam * B * Lam + (B * Lam).trace() * Lam) / zl.M))
    # the LSA output: the query term kept (no label slot)
    D = zl.derivation_lsa_output(2, 3)
    assert not _failed(D)
    assert _failed(_plant(D, 1, D.steps[1].rhs.subs(sp.Symbol("ell"), 1)))
    # the error chain: Gamma = Lambda at the last step
    D = zl.derivation_error(2)
    assert _failed(_plant(D, len(D.steps) - 1, zl.error_sym(Lam, sp.oo, zl.M, zl.sigma, zl.tau)))


def test_eta_assumption_check_fails_on_its_mutant():
    from verify.numerics.montecarlo import stream
    chk = zl._ETA_CHECK
    assert chk.outcome(stream(0, "eta")).passed
    assert not chk.outcome(stream(0, "eta"), mutant=chk.mutants[0].name).passed


def test_every_generated_mutant_of_gamma_is_killed_or_proved_equivalent():
    """zfb-minimizer's closed form Gamma = (1 + 1/N) Lambda + tr(Lambda)/N I, mutated by machine: the trained-minimizer
    check (d = 1..6) kills every mutant the exact decision does not prove equal."""
    from verify.kernel.mutate import mutation_campaign
    from verify.kernel.registry import get_statement

    report = mutation_campaign(get_statement("zfb-minimizer"))
    assert report["generated"] >= 20 and report["survived"] == 0, [m for m in report["mutants"] if m["status"] == "survived"]
    assert report["killed"] + report["equivalent"] == report["generated"]
