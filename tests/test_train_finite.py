"""Finite-L training (issue 9 items 2-3, Theorem 4.3): the batch risk R_L and its analytic gradient."""

from __future__ import annotations

import numpy as np
import pytest

from verify.icl import bayes_point, toeplitz_sigma
from verify.train_finite import (
    GRADIENT_SLIPS,
    fd_gradient_error,
    linear_risk_and_grad,
    risk_definition,
    sample_prompts,
    softmax_risk_and_grad,
)


def _point(seed, d=3, L=12, B=5, scale=0.6, noise=0.3):
    rng = np.random.default_rng(seed)
    S = toeplitz_sigma(d, 0.5)
    batch = sample_prompts(S, L, B, rng, noise=noise)
    U = scale * rng.standard_normal((d + 1, d + 1))
    V = scale * rng.standard_normal((d + 1, d + 1))
    return U, V, batch


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_softmax_gradient_matches_central_differences(seed):
    U, V, batch = _point(seed)
    assert fd_gradient_error(softmax_risk_and_grad, U, V, *batch) <= 1e-7


@pytest.mark.parametrize("seed", [0, 1])
def test_linear_gradient_matches_central_differences(seed):
    U, V, batch = _point(seed)
    assert fd_gradient_error(linear_risk_and_grad, U, V, *batch, attention="linear") <= 1e-7


@pytest.mark.parametrize("slip", sorted(GRADIENT_SLIPS))
def test_planted_gradient_slips_are_rejected(slip):
    U, V, batch = _point(0)
    err = fd_gradient_error(GRADIENT_SLIPS[slip], U, V, *batch)
    assert err > 1e-2, (slip, err)


def test_risk_values_agree_with_the_definition():
    U, V, batch = _point(3)
    r, _, _ = softmax_risk_and_grad(U, V, *batch)
    assert abs(r - risk_definition(U, V, *batch)) <= 1e-13 * max(1.0, r)
    r, _, _ = linear_risk_and_grad(U, V, *batch)
    assert abs(r - risk_definition(U, V, *batch, attention="linear")) <= 1e-13 * max(1.0, r)


def test_huge_scores_stay_finite():
    U, V, batch = _point(4, scale=1.0)
    r, dU, dV = softmax_risk_and_grad(1e6 * U, V, *batch)
    assert np.isfinite(r) and np.all(np.isfinite(dU)) and np.all(np.isfinite(dV))


def test_sample_prompts_same_seed_same_bits_and_noise_keeps_covariates():
    S = toeplitz_sigma(2, 0.5)
    a = sample_prompts(S, 7, 4, np.random.default_rng(9), noise=0.2)
    b = sample_prompts(S, 7, 4, np.random.default_rng(9), noise=0.2)
    c = sample_prompts(S, 7, 4, np.random.default_rng(9), noise=0.0)
    for x, y in zip(a, b):
        assert np.array_equal(x, y)
    assert np.array_equal(a[0], c[0]) and np.array_equal(a[2], c[2])
    X, Y, Xq, Yq = c
    # noiseless labels are exactly linear in the covariates, with one w per prompt
    for k in range(4):
        w = np.linalg.lstsq(X[k], Y[k], rcond=None)[0]
        assert np.allclose(Xq[k] @ w, Yq[k], atol=1e-10)


def test_sample_prompts_moments():
    S = toeplitz_sigma(2, 0.5)
    X, Y, Xq, Yq = sample_prompts(S, 50, 400, np.random.default_rng(1), noise=0.5, w_scale=0.5)
    emp = np.einsum("bli,blj->ij", X, X) / (50 * 400)
    assert np.abs(emp - S).max() < 0.05  # 20000 draws: s.e. ~ 0.01
    # Var y_q = w_scale^2 tr(Sigma) + s^2 = 0.25 * 2 + 0.25
    assert abs(Yq.var() - 0.75) < 5 * 0.75 * np.sqrt(2 / 400)


@pytest.mark.parametrize(
    "call, name",
    [
        (lambda S: sample_prompts(S, 0, 3, 0), "L"),
        (lambda S: sample_prompts(S, 3, 0, 0), "batch"),
        (lambda S: sample_prompts(S, 3, 3, 0, noise=-1), "noise"),
        (lambda S: sample_prompts(S, 3, 3, 0, w_scale=0), "w_scale"),
        (lambda S: sample_prompts([[1, 2], [2, 1]], 3, 3, 0), "Sigma"),
        (lambda S: sample_prompts(S, 3, 3, None), "seed"),
        (lambda S: softmax_risk_and_grad(np.eye(2), np.eye(3), *sample_prompts(S, 3, 2, 0)), "U"),
        (lambda S: softmax_risk_and_grad(np.eye(3), np.eye(3), np.zeros((2, 3)), np.zeros((2, 3)),
                                         np.zeros((2, 2)), np.zeros(2)), "X"),
        (lambda S: linear_risk_and_grad(np.eye(3), np.eye(3), np.zeros((2, 3, 2)), np.zeros((2, 4)),
                                        np.zeros((2, 2)), np.zeros(2)), "Y"),
        (lambda S: linear_risk_and_grad(np.eye(3), np.eye(3), np.zeros((2, 3, 2)), np.zeros((2, 3)),
                                        np.zeros((2, 2)), np.array([0.0, np.nan])), "Yq"),
    ],
)
def test_bad_input_names_the_parameter(call, name):
    S = toeplitz_sigma(2, 0.5)
    with pytest.raises((ValueError, TypeError), match=name):
        call(S)
