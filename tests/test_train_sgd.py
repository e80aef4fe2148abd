"""The authors' SGD experiment in our setting: its model and runs (verify.icl.training_sgd), the authors' data model
(verify.icl.prompts), the sgd part of verify train and its figures.

Kept short (about 20 s): small L, few steps, one quick run shared by the result/figure tests.  Every check is shown
failing on a planted slip.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import sympy as sp

from verify.icl import prompts
from verify.icl import training_finite as train_finite
from verify.icl import training_sgd as ts
from verify.icl.mismatch import SIGMA_P, SIGMA_Q, TAU2, mismatch_closed_form_of, mismatch_value
from verify.icl.risk import invariant_point, toeplitz_sigma
from verify.icl.training import alpha_sweep, balanced_init
from verify.numerics.montecarlo import mean_estimate, stream
from verify.studies import train as study

S = toeplitz_sigma(5, 0.5)


@pytest.fixture(scope="module")
def quick():
    """run_sgd in quick mode, shrunk further (L = 10, 30; 40 steps) to keep this file's cost down."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(study, "QUICK", {**study.QUICK, "intended_Ls": (10, 30), "authors_Ls": (10, 30), "n_steps": 40,
                                    "windows": 4})
        return study.run_sgd(quick=True, seed=0)


# ------------------------------------------------------------------------------ determinism


def test_same_seed_same_bits_and_paired_models():
    a = ts.sgd_run("authors", ts.MODELS, 20, 40, 3, windows=4)
    b = ts.sgd_run("authors", ts.MODELS, 20, 40, 3, windows=4)
    c = ts.sgd_run("authors", ts.MODELS, 20, 40, 4, windows=4)
    for m in ts.MODELS:
        assert np.array_equal(a[m]["U"], b[m]["U"]) and np.array_equal(a[m]["V"], b[m]["V"])
        assert a[m]["window_risk"] == b[m]["window_risk"]
        assert not np.array_equal(a[m]["U"], c[m]["U"])  # the seed matters
    # one model alone sees the same batches as in the pair (data keyed by (mode, L, step), never by the model)
    alone = ts.sgd_run("authors", ("linear",), 20, 40, 3, windows=4)
    assert np.array_equal(alone["linear"]["U"], a["linear"]["U"])
    e1 = ts.held_out("intended", {"linear": (a["linear"]["U"], a["linear"]["V"])}, 20, 512, 7)
    e2 = ts.held_out("intended", {"linear": (a["linear"]["U"], a["linear"]["V"])}, 20, 512, 7)
    assert e1["linear"] == e2["linear"]


# ------------------------------------------------------------------------------ the data model


def test_authors_sampler_has_their_covariances_and_a_wrong_model_is_rejected():
    """Prompt covariance C C C^T C^T = Sigma^2, query I, E y^2 = tau^2 tr + s^2: |z| <= 5 on all 32 moments; the
    planted variants (query covariance Sigma; the intended sampler) are rejected at |z| > 5."""
    Sp, Sq = S @ S, np.eye(5)
    assert [M.tolist() for M in prompts.mode_covariances("authors", S)] == [Sp.tolist(), Sq.tolist()]
    assert ts.data_model_z(prompts.authors_prompts, Sp, Sq, 20, 4000, 0) <= 5.0
    planted = lambda *a: prompts.authors_prompts(*a, query_cov=S)  # noqa: E731
    assert ts.data_model_z(planted, Sp, Sq, 20, 4000, 0) > 5.0
    assert ts.data_model_z(prompts.sample_prompts, Sp, Sq, 20, 4000, 0) > 5.0
    assert ts.data_model_z(prompts.sample_prompts, S, S, 20, 4000, 0) <= 5.0  # the intended sampler, its model


def test_both_data_models_draw_the_same_gaussian_numbers():
    """One sampler: at Sigma = I both roots are I, so the two data models give the same batch, bit for bit; at
    another Sigma they share the task vectors and the label noise (the same draws, in the same order)."""
    a = prompts.sample_prompts(np.eye(3), 6, 4, np.random.default_rng(5), noise=0.2, w_scale=0.7)
    b = prompts.authors_prompts(np.eye(3), 6, 4, np.random.default_rng(5), noise=0.2, w_scale=0.7)
    assert all(np.array_equal(x, y) for x, y in zip(a, b))
    a = prompts.sample_prompts(S, 6, 4, np.random.default_rng(5))
    b = prompts.authors_prompts(S, 6, 4, np.random.default_rng(5))
    w_a = np.linalg.lstsq(a[0][0], a[1][0], rcond=None)[0]
    w_b = np.linalg.lstsq(b[0][0], b[1][0], rcond=None)[0]
    assert np.allclose(w_a, w_b, atol=1e-10) and not np.allclose(a[0], b[0])


def test_rescaled_risk_equals_the_mismatched_closed_form_with_task_variance():
    r"""R_\infty^\tau through the rescaling (*) against the independent closed form of verify.icl.mismatch with
    Sigma_p = Sigma_q = Sigma and tau2 = 1/5, at general (U, V); the unscaled risk (tau^2 forgotten) is rejected."""
    rng = np.random.default_rng(5)
    expr = mismatch_closed_form_of(SIGMA_P, SIGMA_Q, tau2=TAU2)
    R = lambda X: sp.ImmutableMatrix(X.shape[0], X.shape[1], lambda i, j: sp.Rational(float(X[i, j])))  # noqa: E731
    for _ in range(2):
        U, V = 0.5 * rng.standard_normal((6, 6)), 0.5 * rng.standard_normal((6, 6))
        point = {"U": R(U), "V": R(V), "Sigma_p": R(S), "Sigma_q": R(S), "s": sp.sqrt(sp.Rational(1, 10)),
                 "tau2": sp.Rational(1, 5)}
        ref = float(mismatch_value(point, expr))
        assert abs(ts.risk_infinite_intended(U, V) - ref) <= 1e-12 * abs(ref)
        from verify.icl.risk import icl_risk_infinite

        assert abs(icl_risk_infinite(U, V, S, math.sqrt(0.1)) - ref) > 1e-3 * abs(ref)  # planted: no rescaling


def test_authors_field_is_the_gradient_of_their_closed_form():
    r"""The L = \infty field of the authors' model against central differences of the general mismatched closed form
    (risk_infinite_authors) on the invariant subspace; a field without \Sigma_p in \nabla_A is rejected."""
    rng = np.random.default_rng(2)
    A, b = 0.3 * rng.standard_normal((5, 5)), 0.7
    gA, gb = ts.authors_field(S, 0.2)(A, b)
    h = 1e-5
    worst, worst_planted = 0.0, 0.0
    N = b * A.T @ S @ S - np.eye(5)
    planted = 0.2 * b * N.T  # Sigma_p (and Sigma_q) dropped
    for i, j in ((0, 0), (1, 3), (4, 2)):
        E = np.zeros((5, 5))
        E[i, j] = h
        fd = (ts.risk_infinite_authors(*invariant_point(A + E, b, 5)) - ts.risk_infinite_authors(*invariant_point(A - E, b, 5))) / (2 * h)
        worst = max(worst, abs(gA[i, j] - fd))
        worst_planted = max(worst_planted, abs(planted[i, j] - fd))
    fd_b = (ts.risk_infinite_authors(*invariant_point(A, b + h, 5)) - ts.risk_infinite_authors(*invariant_point(A, b - h, 5))) / (2 * h)
    assert max(worst, abs(gb - fd_b)) <= 1e-7
    assert worst_planted > 1e-3


def test_bayes_risk_against_the_ridge_predictor_by_monte_carlo():
    """The Bayes risk formula against the direct Monte Carlo of the posterior-mean predictor's squared error (w, noise
    and query drawn), |z| <= 5; the planted penalty lambda = s^2 (tau^2 forgotten) is rejected."""
    L, n = 10, 20000
    for mode in ts.MODES:
        X, Y, Xq, Yq = prompts.sampler(mode)(S, L, n, stream(11, "ridge", mode), math.sqrt(0.1), math.sqrt(0.2))
        G = np.einsum("bli,blj->bij", X, X) + 0.5 * np.eye(5)  # the ridge penalty s^2 / tau^2 = 0.5
        w_hat = np.linalg.solve(G, np.einsum("bli,bl->bi", X, Y)[..., None])[..., 0]
        ridge = mean_estimate(0.5 * (np.einsum("bi,bi->b", Xq, w_hat) - Yq) ** 2)
        formula = ts.bayes_risk(mode, L, 8192, 0)
        z = (ridge.mean - formula.mean) / math.hypot(ridge.stderr, formula.stderr)
        assert abs(z) <= 5.0, (mode, z)
        planted = ts.bayes_risk(mode, L, 8192, 0, task_var=1.0)  # lambda = s^2: a different (wrong) model
        zp = (ridge.mean - planted.mean) / math.hypot(ridge.stderr, planted.stderr)
        assert abs(zp) > 5.0, (mode, zp)


# ------------------------------------------------------------------------------ softmax approaches linear attention


def _gap(L, *, slip=None, monkeypatch=None):
    if slip is not None:
        monkeypatch.setitem(ts.RISK_AND_GRAD, "linear", slip)
    r = ts.sgd_run("intended", ts.MODELS, L, 100, 1, eta=0.05, windows=4)
    return ts.held_out("intended", {m: (r[m]["U"], r[m]["V"]) for m in ts.MODELS}, L, 2048, 1)["softmax-linear"]


def _normalised_by(power):
    """Planted linear attention p_L = L^{-power} sum_l s_l v_l (tokens scaled by L^{(1 - power)/2}) instead of 1/L."""
    def linear(U, V, X, Y, Xq, Yq):
        f = X.shape[1] ** ((1.0 - power) / 2)
        return train_finite.linear_risk_and_grad(U, V, X * f, Y * f, Xq, Yq)

    return linear


def test_sgd_softmax_risk_approaches_the_linear_attention_risk_at_large_L(monkeypatch):
    """Same batches, 100 SGD steps (eta = 0.05 so the models move): the paired held-out gap R_L(softmax run) -
    R_L(linear run) is significant at L = 10 and shrinks at L = 300 (below a third, and below 0.05 absolute).  With
    linear attention normalised by L^{-3/4} instead of 1/L (a planted slip that still trains to finite parameters)
    the gap at L = 300 is a number, and the same criterion rejects it; normalised by L^{-1/2} SGD diverges and
    there is no estimate at all (never a number that could pass)."""
    small, big = _gap(10), _gap(300)

    def close(gap):
        return abs(gap.mean) < small.mean / 3 and abs(gap.mean) + 5 * gap.stderr < 0.05

    assert small.mean > 5 * small.stderr
    assert abs(big.mean) < small.mean / 3 and abs(big.mean) + 5 * big.stderr < 0.05
    assert close(big)
    planted = _gap(300, slip=_normalised_by(0.75), monkeypatch=monkeypatch)
    assert planted is not None and np.isfinite(planted.mean)
    assert not close(planted), planted
    with np.errstate(all="ignore"):
        assert _gap(300, slip=_normalised_by(0.5), monkeypatch=monkeypatch) is None


# ------------------------------------------------------------------------------ the run, JSON, figures


def test_quick_run_is_json_and_states_the_budget(quick):
    json.dumps(quick)
    assert quick["findings"][0].startswith("budget:") and "NOT convergence" in quick["findings"][0]
    models = {(r["mode"], r["model"]) for r in quick["runs"]}
    assert models == {(m, x) for m in ts.MODES for x in ts.MODELS + ("L=inf GD",)}
    af = quick["infinite"]["authors_flow"]
    assert af["rel_dist_sigma_inv2"] < 1e-6 and abs(af["risk_intended"] - (0.05 + 4 / 15)) < 1e-6
    assert abs(af["risk_authors"] - 0.05) < 1e-9


def test_figures_are_written(quick, tmp_path):
    cells = [{"d": 1, "sigma_op": 0.25, **c} for c in alpha_sweep([[0.25]], [0.1, 4.0])]
    paths = study.write_sgd_figures({**quick, "init_interval": cells}, tmp_path)
    assert [p.name for p in paths] == ["sgd_final_risk.png", "sgd_risk_vs_step.png", "sgd_trajectory_gap.png",
                                       "alpha_sweep.png"]
    for p in paths:
        assert p.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and p.stat().st_size > 10_000


# ------------------------------------------------------------------------------ bad input


@pytest.mark.parametrize("call, exc, name", [
    (lambda: ts.sgd_run("torch", ts.MODELS, 10, 40, 0), ValueError, "mode"),
    (lambda: ts.sgd_run("intended", ("relu",), 10, 40, 0), ValueError, "model"),
    (lambda: ts.sgd_run("intended", ts.MODELS, 0, 40, 0), ValueError, "L"),
    (lambda: ts.sgd_run("intended", ts.MODELS, 10, 3, 0), ValueError, "n_steps"),
    (lambda: ts.sgd_run("intended", ts.MODELS, 10, 40, -1), ValueError, "seed"),
    (lambda: ts.sgd_run("intended", ts.MODELS, 10, 10**9, 0), ValueError, "n_steps"),
    (lambda: ts.bayes_risk("authors", 10, 10**9, 0), ValueError, "n_prompts"),
    (lambda: ts.sgd_run("intended", ts.MODELS, 10, 40, 0, eta=float("nan")), ValueError, "eta"),
    (lambda: ts.held_out("intended", {"linear": balanced_init(S, 0.3)}, 10, 100, 0), ValueError, "n_prompts"),
    (lambda: prompts.authors_prompts([[1.0, 2.0], [2.0, 1.0]], 3, 2, 0), ValueError, "Sigma"),
    (lambda: ts.bayes_risk("intended", 10, 100, 0, noise_var=-0.1), ValueError, "noise_var"),
    (lambda: study.run_sgd(quick="yes", seed=0), TypeError, "quick"),
    (lambda: study.run_sgd(quick=True, seed=1.5), TypeError, "seed"),
    (lambda: study.alpha_figure([], "x.png"), ValueError, "audit_rows"),
    (lambda: prompts.sampler("torch"), ValueError, "mode"),
])
def test_bad_input_names_the_parameter(call, exc, name):
    with pytest.raises(exc, match=rf"^{name}\b"):
        call()
