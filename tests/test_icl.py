"""Tests of verify.icl.risk: closed form of R_inf against Monte Carlo of the definition, the fast finite-L engine
against the straightforward implementation (bench/bench_icl_mc.py), the paired gap estimator, determinism,
bad input, and a negative control showing the Monte Carlo comparison has teeth.

Every statistical check uses the house threshold |z| <= 5 and prints the z it saw (run with -s to see them).
"""

from __future__ import annotations

import importlib.util
import math
from pathlib import Path

import numpy as np
import pytest

from verify.icl.risk import (
    PROMPTS_PER_BLOCK,
    bayes_point,
    gamma_w,
    icl_prediction_infinite,
    icl_risk_gap_mc,
    icl_risk_infinite,
    icl_risk_infinite_mc,
    icl_risk_mc,
    invariant_point,
    toeplitz_sigma,
)
from verify.numerics.montecarlo import DEFAULT_Z, Estimate, RateFit, fit_rate

Z = DEFAULT_Z


def _naive():
    """The straightforward implementation lives in the bench script; load it by path."""
    path = Path(__file__).resolve().parents[1] / "bench" / "bench_icl_mc.py"
    spec = importlib.util.spec_from_file_location("bench_icl_mc", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod.naive_icl_risk_mc


def _random_point(rng, d, scale=0.4):
    A = rng.standard_normal((d, d))
    Sigma = A @ A.T / d + 0.3 * np.eye(d)
    U = scale * rng.standard_normal((d + 1, d + 1))
    V = scale * rng.standard_normal((d + 1, d + 1))
    return U, V, Sigma


def _report(label, est, ref):
    z = est.z(ref)
    print(f"{label}: MC {est} vs {ref:.6g}  z = {z:+.2f}")
    return z


# --------------------------------------------------------------------------------------------- closed form


@pytest.mark.parametrize("case", range(5))
def test_closed_form_matches_monte_carlo_of_definition(case):
    rng = np.random.default_rng(1000 + case)
    d = [2, 3, 4, 3, 5][case]
    noise = [0.0, 0.5, 0.0, 1.0, 0.3][case]
    U, V, Sigma = _random_point(rng, d)
    closed = icl_risk_infinite(U, V, Sigma, noise=noise)
    est = icl_risk_infinite_mc(U, V, Sigma, n_prompts=200_000, seed=case, noise=noise)
    z = _report(f"R_inf case {case} (d={d}, s={noise})", est, closed)
    assert abs(z) <= Z, f"closed form {closed} vs MC {est}: z = {z:.2f}"


def test_negative_control_wrong_closed_forms_are_rejected():
    """Dropping the b^2 (u^T S u)(...) term, or keeping only (tr S)^2 in it, must be caught at a point u != 0."""
    rng = np.random.default_rng(7)
    d = 3
    U, V, Sigma = _random_point(rng, d, scale=0.3)
    U[d, :d] = [0.6, -0.4, 0.5]  # u != 0
    V[d, d] = 1.0  # b != 0
    u, b = U[d, :d], V[d, d]
    trS, trS2 = np.trace(Sigma), np.trace(Sigma @ Sigma)
    quartic = 0.5 * b * b * (u @ Sigma @ u)
    right = icl_risk_infinite(U, V, Sigma)
    wrong_dropped = right - quartic * (trS**2 + 2 * trS2)
    wrong_trace_sq = right - quartic * 2 * trS2
    est = icl_risk_infinite_mc(U, V, Sigma, n_prompts=200_000, seed=3)
    z_right = _report("negative control, right closed form", est, right)
    z_drop = _report("negative control, b^2 term dropped", est, wrong_dropped)
    z_tr = _report("negative control, (tr S)^2 only", est, wrong_trace_sq)
    assert abs(z_right) <= Z, f"z = {z_right:.2f}"
    assert abs(z_drop) > Z, f"the wrong form (term dropped) was not rejected: z = {z_drop:.2f}"
    assert abs(z_tr) > Z, f"the wrong form ((tr S)^2 only) was not rejected: z = {z_tr:.2f}"


@pytest.mark.parametrize("seed", range(4))
def test_invariant_subspace_reduction(seed):
    rng = np.random.default_rng(seed)
    d = 2 + seed
    _, _, Sigma = _random_point(rng, d)
    A = rng.standard_normal((d, d))
    b = float(rng.standard_normal())
    s = 0.7 * seed
    U, V = invariant_point(A, b, d)
    K = b * Sigma @ A - np.eye(d)
    expected = 0.5 * np.trace(K @ Sigma @ K.T) + s * s / 2
    got = icl_risk_infinite(U, V, Sigma, noise=s)
    assert abs(got - expected) <= 1e-12 * max(1.0, abs(expected)), (got, expected)


@pytest.mark.parametrize("d, rho, s", [(1, 0.0, 0.0), (3, 0.5, 0.0), (5, 0.5, math.sqrt(0.1)), (4, -0.3, 2.0)])
def test_bayes_point_risk_is_label_noise(d, rho, s):
    Sigma = toeplitz_sigma(d, rho)
    U, V = bayes_point(Sigma)
    assert abs(icl_risk_infinite(U, V, Sigma, noise=s) - s * s / 2) <= 1e-12
    rng = np.random.default_rng(d)
    W, X = rng.standard_normal((50, d)), rng.standard_normal((50, d))
    p = icl_prediction_infinite(U, V, Sigma, W, X, noise=s)
    np.testing.assert_allclose(p, np.einsum("ni,ni->n", W, X), atol=1e-12)


def test_gamma_w_and_batched_prediction():
    rng = np.random.default_rng(5)
    d = 3
    U, V, Sigma = _random_point(rng, d)
    w, x = rng.standard_normal(d), rng.standard_normal(d)
    G = gamma_w(Sigma, w, noise=0.5)
    B = np.vstack([np.eye(d), w])
    np.testing.assert_allclose(G, B @ Sigma @ B.T + np.diag([0.0] * d + [0.25]), atol=1e-14)
    W, X = rng.standard_normal((7, d)), rng.standard_normal((7, d))
    batch = icl_prediction_infinite(U, V, Sigma, W, X, noise=0.5)
    single = [icl_prediction_infinite(U, V, Sigma, W[i], X[i], noise=0.5) for i in range(7)]
    np.testing.assert_allclose(batch, single, rtol=1e-13)
    p = icl_prediction_infinite(U, V, Sigma, w, x, noise=0.5)
    assert isinstance(p, float)
    assert abs(p - V[d] @ G @ U @ np.append(x, 0.0)) < 1e-12


# --------------------------------------------------------------------------------------------- finite L


@pytest.mark.parametrize("general, noise", [(False, 0.0), (True, 0.0), (True, 0.6)])
def test_fast_engine_matches_straightforward_implementation(general, noise):
    naive_icl_risk_mc = _naive()
    d, L = 3, 50
    Sigma = toeplitz_sigma(d, 0.5)
    if general:
        rng = np.random.default_rng(11)
        U, V, _ = _random_point(rng, d, scale=0.5)
    else:
        Ub, V = bayes_point(Sigma)
        U = 0.7 * Ub
    fast = icl_risk_mc(U, V, Sigma, L, n_prompts=40_000, seed=1, noise=noise)
    naive = naive_icl_risk_mc(U, V, Sigma, L, n_prompts=20_000, seed=2, noise=noise)
    z = (fast.mean - naive.mean) / math.hypot(fast.stderr, naive.stderr)
    print(f"R_L fast {fast} vs naive {naive} (general={general}, s={noise}): z = {z:+.2f}")
    assert abs(z) <= Z, f"fast {fast} vs naive {naive}: z = {z:.2f}"


def test_L_equal_one_is_single_token_prediction():
    """L = 1: p_1 = (V z_1)_{d+1}, so R_1 = 1/2 E[(a.x_1 + b y_1 - y_q)^2] has an elementary closed form."""
    d = 3
    rng = np.random.default_rng(4)
    U, V, Sigma = _random_point(rng, d)
    s = 0.5
    a, b = V[d, :d], V[d, d]
    # a.x_1 + b y_1 - y_q = (a + b w).x_1 - w.x_q + b eps_1 - eps_q, all independent given w
    expected = 0.5 * (a @ Sigma @ a + b * b * np.trace(Sigma) + np.trace(Sigma) + (b * b + 1) * s * s)
    est = icl_risk_mc(U, V, Sigma, 1, n_prompts=100_000, seed=0, noise=s)
    z = _report("R_1 elementary form", est, expected)
    assert abs(z) <= Z, f"z = {z:.2f}"


def test_huge_scores_give_finite_risk():
    Sigma = toeplitz_sigma(3, 0.5)
    Ub, V = bayes_point(Sigma)
    with pytest.warns(RuntimeWarning, match="ESS|effective"):
        est = icl_risk_mc(1e4 * Ub, V, Sigma, 100, n_prompts=500, seed=0)
    with pytest.warns(RuntimeWarning, match="ESS|effective"):
        gap = icl_risk_gap_mc(1e4 * Ub, V, Sigma, 100, n_prompts=500, seed=0)
    assert all(math.isfinite(v) for v in (est.mean, est.stderr, gap.mean, gap.stderr))
    assert not est.reliable and not gap.reliable  # the prompt collapsed onto one token: flagged, never agreement


# --------------------------------------------------------------------------------------------- gap


def _point():
    Sigma = toeplitz_sigma(5, 0.5)
    Ub, V = bayes_point(Sigma)
    return 0.7 * Ub, V, Sigma


def test_gap_positive_and_decreasing_in_L():
    U, V, Sigma = _point()
    n = {10: 40_000, 100: 20_000, 1000: 8_000}
    gaps = {L: icl_risk_gap_mc(U, V, Sigma, L, n[L], seed=L) for L in n}
    for L, g in gaps.items():
        print(f"gap L={L}: {g}  (mean/stderr = {g.mean / g.stderr:.1f})")
    assert gaps[10].mean > Z * gaps[10].stderr, f"gap at L=10 not significantly positive: {gaps[10]}"
    for La, Lb in [(10, 100), (100, 1000)]:
        diff = gaps[La] - gaps[Lb]  # independent seeds
        print(f"gap({La}) - gap({Lb}) = {diff}  z = {diff.z(0.0):+.1f}")
        assert diff.mean > Z * diff.stderr, f"gap not decreasing from L={La} to L={Lb}: {gaps[La]} vs {gaps[Lb]}"


@pytest.mark.parametrize("L, control_variate", [(10, True), (100, True), (100, False)])
def test_gap_agrees_with_risk_minus_closed_form(L, control_variate):
    U, V, Sigma = _point()
    s = 0.3
    gap = icl_risk_gap_mc(U, V, Sigma, L, 20_000, seed=21, noise=s, control_variate=control_variate)
    rl = icl_risk_mc(U, V, Sigma, L, 20_000, seed=22, noise=s)
    ref = rl.mean - icl_risk_infinite(U, V, Sigma, noise=s)
    z = (gap.mean - ref) / math.hypot(gap.stderr, rl.stderr)
    print(f"gap L={L} cv={control_variate}: paired {gap} vs R_L - R_inf = {ref:.5g} +- {rl.stderr:.2g}: z = {z:+.2f}")
    assert abs(z) <= Z, f"z = {z:.2f}"


def test_gap_control_variate_is_unbiased_and_helps():
    """Same prompts with and without the control variates: means agree (the difference is a mean-zero term
    evaluated on the same prompts, tested by its own paired standard error), and the stderr drops."""
    U, V, Sigma = _point()
    L, n = 1000, 8_000
    with_cv = icl_risk_gap_mc(U, V, Sigma, L, n, seed=5)
    without = icl_risk_gap_mc(U, V, Sigma, L, n, seed=5, control_variate=False)
    print(f"gap L={L}: with cv {with_cv}, without {without}")
    assert with_cv.stderr < 0.5 * without.stderr
    z = (with_cv.mean - without.mean) / without.stderr
    print(f"cv vs no cv: z = {z:+.2f} (in units of the no-cv stderr)")
    assert abs(z) <= Z


def test_paired_estimator_beats_independent_difference():
    U, V, Sigma = _point()
    L, n = 1000, 8_000
    paired = icl_risk_gap_mc(U, V, Sigma, L, n, seed=31)
    indep = icl_risk_mc(U, V, Sigma, L, n, seed=32) - icl_risk_infinite_mc(U, V, Sigma, n, seed=33)
    ratio = indep.stderr / paired.stderr
    print(f"stderr independent / paired at L={L}: {ratio:.1f}")
    assert ratio >= 10


def test_fit_rate():
    Ls = [10, 100, 1000, 10000]
    ests = [Estimate(3.0 * L**-0.8, 0.01 * 3.0 * L**-0.8, 1000) for L in Ls]
    fit = fit_rate(Ls, ests)
    assert isinstance(fit, RateFit)
    assert abs(fit.exponent + 0.8) < 1e-12 and abs(fit.intercept - math.log(3.0)) < 1e-10
    assert fit.interval[0] < -0.8 < fit.interval[1] and fit.chi2 < 1e-20 and fit.dof == 2
    with pytest.raises(ValueError, match="L=1000"):
        fit_rate(Ls, ests[:2] + [Estimate(1e-3, 1e-3, 10)] + ests[3:])
    with pytest.raises(ValueError, match="L=100"):
        fit_rate(Ls, ests[:1] + [Estimate(-1e-3, 1e-4, 10)] + ests[2:])
    with pytest.raises(ValueError, match="estimates"):
        fit_rate(Ls, ests[:3])
    with pytest.raises(ValueError, match="Ls"):
        fit_rate([10, 10], ests[:2])


def test_fit_rate_on_monte_carlo_gap():
    """End to end, small: the gap decays roughly like 1/L at the point used by the bench."""
    U, V, Sigma = _point()
    Ls = [100, 1000, 10000]
    gaps = [icl_risk_gap_mc(U, V, Sigma, L, n, seed=L) for L, n in zip(Ls, [20_000, 4_000, 1_000])]
    fit = fit_rate(Ls, gaps)
    print(f"rate fit L=100..10000: {fit}")
    assert -1.1 < fit.exponent < -0.85


# --------------------------------------------------------------------------------------------- determinism


def test_same_seed_same_bits_different_seed_different():
    U, V, Sigma = _point()
    for fn, args in [
        (icl_risk_mc, (U, V, Sigma, 20, 600)),
        (icl_risk_gap_mc, (U, V, Sigma, 20, 600)),
        (icl_risk_infinite_mc, (U, V, Sigma, 600)),
    ]:
        a, b, c = fn(*args, seed=3), fn(*args, seed=3), fn(*args, seed=4)
        assert (a.mean, a.stderr, a.n) == (b.mean, b.stderr, b.n)
        assert a.mean != c.mean
        ss = fn(*args, seed=np.random.SeedSequence(3))
        assert ss == fn(*args, seed=np.random.SeedSequence(3))
        gen = np.random.default_rng(3)
        assert fn(*args, seed=gen) != fn(*args, seed=gen)  # a Generator advances


def test_results_do_not_depend_on_chunk_size():
    U, V, Sigma = _point()
    n = 2 * PROMPTS_PER_BLOCK + 37
    for L in (1, 30):
        ref = icl_risk_mc(U, V, Sigma, L, n, seed=9)
        gref = icl_risk_gap_mc(U, V, Sigma, L, n, seed=9)
        for chunk in (1, 31, 4096, 1 << 22):
            assert icl_risk_mc(U, V, Sigma, L, n, seed=9, chunk_tokens=chunk) == ref
            assert icl_risk_gap_mc(U, V, Sigma, L, n, seed=9, chunk_tokens=chunk) == gref


# --------------------------------------------------------------------------------------------- bad input

_S = toeplitz_sigma(2, 0.5)
_U, _V = bayes_point(_S)

BAD = [
    ("Sigma", lambda: icl_risk_infinite(_U, _V, [[1.0, 0.5], [0.0, 1.0]])),
    ("Sigma", lambda: icl_risk_infinite(_U, _V, [[1.0, 2.0], [2.0, 1.0]])),
    ("Sigma", lambda: icl_risk_mc(_U, _V, [[1.0, np.nan], [np.nan, 1.0]], 10, 10, 0)),
    ("U", lambda: icl_risk_infinite(np.eye(2), _V, _S)),
    ("V", lambda: icl_risk_mc(_U, np.eye(4), _S, 10, 10, 0)),
    ("U", lambda: icl_risk_gap_mc(np.full((3, 3), np.inf), _V, _S, 10, 10, 0)),
    ("V", lambda: icl_risk_infinite_mc(_U, np.full((3, 3), np.nan), _S, 10, 0)),
    ("noise", lambda: icl_risk_infinite(_U, _V, _S, noise=-0.1)),
    ("noise", lambda: icl_risk_mc(_U, _V, _S, 10, 10, 0, noise=np.inf)),
    ("noise", lambda: icl_risk_gap_mc(_U, _V, _S, 10, 10, 0, noise=float("nan"))),
    ("L: ", lambda: icl_risk_mc(_U, _V, _S, 0, 10, 0)),
    ("L: ", lambda: icl_risk_gap_mc(_U, _V, _S, -3, 10, 0)),
    ("L: ", lambda: icl_risk_mc(_U, _V, _S, 2.5, 10, 0)),
    ("n_prompts", lambda: icl_risk_mc(_U, _V, _S, 10, 1, 0)),
    ("n_prompts", lambda: icl_risk_infinite_mc(_U, _V, _S, 1, 0)),
    ("seed", lambda: icl_risk_mc(_U, _V, _S, 10, 10, None)),
    ("seed", lambda: icl_risk_gap_mc(_U, _V, _S, 10, 10, -1)),
    ("seed", lambda: icl_risk_infinite_mc(_U, _V, _S, 10, "abc")),
    ("chunk_tokens", lambda: icl_risk_mc(_U, _V, _S, 10, 10, 0, chunk_tokens=0)),
    ("w", lambda: gamma_w(_S, [1.0, 2.0, 3.0])),
    ("w", lambda: icl_prediction_infinite(_U, _V, _S, [np.nan, 0.0], [0.0, 0.0])),
    ("x_q", lambda: icl_prediction_infinite(_U, _V, _S, [1.0, 0.0], [0.0])),
    ("x_q", lambda: icl_prediction_infinite(_U, _V, _S, np.zeros((3, 2)), np.zeros((4, 2)))),
    ("rho", lambda: toeplitz_sigma(3, 1.0)),
    ("d", lambda: toeplitz_sigma(0, 0.5)),
    ("A", lambda: invariant_point(np.eye(3), 1.0, 2)),
    ("b", lambda: invariant_point(np.eye(2), np.nan, 2)),
    ("level", lambda: fit_rate([1, 2], [Estimate(1.0, 0.1, 9), Estimate(0.5, 0.1, 9)], level=1.5)),
]


@pytest.mark.parametrize("name, call", BAD, ids=[f"{i}-{b[0].strip(': ')}" for i, b in enumerate(BAD)])
def test_bad_input_names_the_parameter(name, call):
    with pytest.raises((ValueError, TypeError)) as info:
        call()
    assert str(info.value).startswith(name.strip() if name.endswith(": ") else name), str(info.value)
    if name == "L: ":
        assert str(info.value).startswith("L: ")
