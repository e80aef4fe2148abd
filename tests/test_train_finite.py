"""Finite-L training (Theorem 4.3): the prompt sampler, the batch risk R_L and its analytic gradient, gradient descent
on R_L with fresh prompts (verify.icl.training_finite), the planted gradient slips of train-finite, the finite-L part
of verify train."""

from __future__ import annotations

import importlib

import numpy as np
import pytest

from verify.icl.prompts import sample_prompts
from verify.icl.risk import bayes_point, toeplitz_sigma
from verify.icl.training_finite import (
    fd_gradient_error,
    linear_risk_and_grad,
    risk_definition,
    softmax_risk_and_grad,
)

GRADIENT_SLIPS = importlib.import_module("proofs.train_finite").GRADIENT_SLIPS


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


# ------------------------------------------------------------------------------------------- training at finite L

from verify.icl import training_finite as train_finite  # noqa: E402
from verify.icl.risk import icl_risk_mc  # noqa: E402
from verify.icl.training import balanced_init  # noqa: E402
from verify.icl.training_finite import finite_gd, off_subspace_norm, risk_mc  # noqa: E402
from verify.studies import train as study  # noqa: E402


def test_finite_gd_same_seed_same_bits_and_streams_differ():
    S = toeplitz_sigma(2, 0.5)
    start = balanced_init(S, 0.5)
    a = finite_gd(*start, S, 15, 0.05, 20, batch=8, seed=3, record_every=5)
    b = finite_gd(*start, S, 15, 0.05, 20, batch=8, seed=3, record_every=5)
    c = finite_gd(*start, S, 15, 0.05, 20, batch=8, seed=4, record_every=5)
    assert np.array_equal(a.y, b.y) and np.array_equal(a.series["batch_risk"][1:], b.series["batch_risk"][1:])
    assert not np.array_equal(a.y, c.y)
    assert a.t.tolist() == [0.0, 0.25, 0.5, 0.75, 1.0] and not a.diverged
    with pytest.raises(ValueError, match="attention"):
        finite_gd(*start, S, 15, 0.05, 2, batch=8, seed=3, attention="relu")
    with pytest.raises(TypeError, match="seed"):
        finite_gd(*start, S, 15, 0.05, 2, batch=8, seed=None)


def test_the_expected_gradient_keeps_the_invariant_subspace():
    """R_L is even in (u, a) (w -> -w flips every label): on the subspace the (u, a) gradients of a batch and of its
    label-flipped copy cancel exactly, so only gradient noise leaves the subspace."""
    S = toeplitz_sigma(3, 0.5)
    U, V = balanced_init(S, 0.7)
    X, Y, Xq, Yq = sample_prompts(S, 20, 6, np.random.default_rng(1))
    _, dU1, dV1 = softmax_risk_and_grad(U, V, X, Y, Xq, Yq)
    _, dU2, dV2 = softmax_risk_and_grad(U, V, X, -Y, Xq, -Yq)
    assert np.abs(dU1[3, :3]).max() > 1e-3  # one batch does push off the subspace
    assert np.allclose(dU1[3, :3] + dU2[3, :3], 0, atol=1e-14) and np.allclose(dV1[3, :3] + dV2[3, :3], 0, atol=1e-14)
    p = finite_gd(U, V, S, 20, 0.05, 3, batch=4, seed=0)
    assert off_subspace_norm(p)[0] == 0.0 and off_subspace_norm(p)[-1] > 0.0


def test_risk_mc_agrees_with_the_rao_blackwellised_engine():
    S = toeplitz_sigma(2, 0.5)
    U, V = bayes_point(S)
    U = 0.8 * U
    a = risk_mc(U, V, S, 20, 4000, 0)
    b = icl_risk_mc(U, V, S, 20, 20000, 1)
    assert abs(a.mean - b.mean) <= 5 * np.hypot(a.stderr, b.stderr)


def test_linear_attention_excess_at_the_bayes_point_is_exactly_one_over_L():
    """The audit's 232-263x (L = 16 -> 4096) is this law: (R_L - s^2/2) at (U*, V*) is c / L for linear attention."""
    r = train_finite.linear_excess_ratio(np.eye(2), 4, 64, 32000, 0, w_scale=2 ** -0.5)
    assert abs(r["ratio"] - 16.0) <= 5 * r["ratio_stderr"] and r["ratio_stderr"] < 1.5
    wrong = abs(r["ratio"] - 16.0 ** 0.77) / r["ratio_stderr"]  # the softmax-like rate L^-0.77 is rejected
    assert wrong > 5


def test_run_finite_tiny_is_json_and_writes_three_figures(monkeypatch, tmp_path):
    import json

    tiny = dict(study._finite_setting(True), n_steps=40, batch=8, seeds=2, Ls=(10, 40), n_eval=500, generic_Ls=(10,))
    monkeypatch.setattr(study, "_finite_setting", lambda quick: tiny)
    monkeypatch.setattr(study, "_audit_ratio", lambda quick, seed: [
        {"setting": "stub", "attention": "linear", "noise_var": 0.0, "ratio": 256.0, "ratio_stderr": 1.0},
        {"setting": "stub", "attention": "softmax", "noise_var": 0.0, "ratio": 47.0, "ratio_stderr": 1.0},
        {"setting": "stub", "attention": "linear", "noise_var": 0.1, "ratio": 1.0, "ratio_stderr": 1.0,
         "raw_ratio": 4.4}])
    seen = []
    res = study.run_finite(quick=True, seed=0, progress=seen.append)
    assert set(res) == {"runs", "fits", "findings"} and seen
    doc = json.loads(json.dumps(res))
    assert any(r.get("kind") == "balanced" and r["L"] == 40 for r in doc["runs"])
    assert any("invariant subspace at L = inf" in f for f in doc["findings"])
    assert study.run_finite(quick=True, seed=0)["runs"][1]["final_excess"] == res["runs"][1]["final_excess"]
    paths = study.write_finite_figures(res, tmp_path / "fig")
    assert [p.name for p in paths] == ["finite_risk_vs_time.png", "finite_excess_vs_L.png", "finite_gap_vs_L.png"]
    assert all(p.stat().st_size > 1000 for p in paths)


def test_the_score_gradient_derivation_and_its_planted_slip():
    mod = importlib.import_module("proofs.train_finite")
    assert all(r.passed for r in mod.derivation_score_gradient(2).check())
    assert not all(r.passed for r in mod.derivation_score_gradient(2, centred=False).check())


def test_the_convergence_checks_describe_their_own_cases():
    """The prose of the finite-L checks is read from their cases: the batch, steps, runs and L grid it states are the
    ones the check runs (the slow check's batch included)."""
    mod = importlib.import_module("proofs.train_finite")
    checks = {c.name: c for c in mod.STATEMENT.checks}
    for name, case in (("finite-L-approaches-L-inf", mod.CONVERGENCE_CASE),
                       ("finite-L-approaches-L-inf-wide", mod.WIDE_CASE)):
        text = checks[name].description
        assert f"batches of {case['batch']} prompts" in text and f"{case['n_steps']} steps" in text, name
        assert f"{case['runs']} runs per" in text and ", ".join(map(str, case["Ls"])) in text, name
    assert f"batch {mod.WIDE_CASE['batch']}" in checks["finite-L-approaches-L-inf-wide"].description


# ------------------------------------------------------------------------------ planted engine errors turn train-finite red


def _plant_and_run(monkeypatch, module, name, value, check):
    from verify.kernel.registry import get_statement
    from verify.kernel.runner import run_check

    monkeypatch.setattr(module, name, value)
    st = get_statement("train-finite")
    return run_check(st, st.check_named(check), 0)


def test_the_L_inf_reference_limit_times_10_is_red(monkeypatch):
    import verify.icl.training_finite as engine

    orig = engine.limit_risk
    ev = _plant_and_run(monkeypatch, engine, "limit_risk", lambda case: 10 * orig(case), "L-inf-reference-vs-definition")
    assert not ev.passed and ev.figure < 2, ev


def test_the_L_inf_reference_run_for_half_its_steps_is_red(monkeypatch):
    import verify.icl.training_finite as engine

    orig = engine.limit_risk
    ev = _plant_and_run(monkeypatch, engine, "limit_risk", lambda case: orig(dict(case, n_steps=case["n_steps"] // 2)),
                        "L-inf-reference-vs-definition")
    assert not ev.passed and ev.figure < 3, ev


def test_the_V_update_transposed_is_red(monkeypatch):
    """The query row of V never trained: invisible from the balanced start (the expected gradient keeps a = 0), red
    from the generic starts of the step check."""
    import verify.icl.training_finite as engine

    def transposed(dU, dV, d):
        return np.concatenate([dU[:d, :d].ravel(), dU[d, :d], dV.T[d, :d], [dV[d, d]]])

    ev = _plant_and_run(monkeypatch, engine, "active_update", transposed, "descent-steps-vs-definition")
    assert not ev.passed and ev.figure > 1e-3, ev


def test_prompts_with_covariance_CtC_are_red(monkeypatch):
    """C^T C instead of Sigma, planted in the descent's own draws and in the public sampler."""
    import verify.icl.prompts as prompts
    import verify.icl.training_finite as engine

    orig = prompts.sample_with_roots
    ev = _plant_and_run(monkeypatch, engine, "sample_with_roots",
                        lambda pr, qr, *a: orig(pr.T, None if qr is None else qr.T, *a), "descent-steps-vs-definition")
    assert not ev.passed and ev.figure > 1e-3, ev

    def sampler(Sigma, L, batch, rng, noise=0.0, w_scale=1.0):
        C = np.linalg.cholesky(np.asarray(Sigma, dtype=float))
        return orig(C, C, L, batch, np.random.default_rng(rng) if not isinstance(rng, np.random.Generator) else rng,
                    float(noise), float(w_scale))

    ev = _plant_and_run(monkeypatch, prompts, "sample_prompts", sampler, "prompt-sampler-law")
    assert not ev.passed and ev.figure > 20, ev


def test_the_batch_risk_without_its_half_is_red(monkeypatch):
    import verify.icl.training_finite as engine

    core = engine._softmax_core

    def slipped(*args):
        r, dU, dV = core(*args)
        return 2 * r, dU, dV

    for check in ("batch-risk-vs-definition", "descent-steps-vs-definition"):
        ev = _plant_and_run(monkeypatch, engine, "_softmax_core", slipped, check)
        assert not ev.passed and ev.figure > 0.5, (check, ev)
