"""Engine unit tests: bad input, determinism, numerical stability, Monte Carlo calibration, the derivation checker."""

import math

import numpy as np
import pytest
import sympy as sp

import verify
from verify.kernel.statement import Check, Statement, at_least
from verify.kernel.runner import run_check
from verify.kernel.derivation import Derivation, equal_given, equal_up_to_constant_in
from verify.numerics.measures import Gaussian, as_generator
from verify.numerics.montecarlo import Estimate, mean_estimate, stream

EYE2 = np.eye(2)


# ----------------------------------------------------------------------------------- bad input

@pytest.mark.parametrize(
    "cov, words",
    [
        ([[1.0, 0.5], [0.0, 1.0]], ("cov", "symmetric")),
        ([[1.0, 2.0], [2.0, 1.0]], ("cov", "positive definite")),
        ([[1.0, np.nan], [np.nan, 1.0]], ("cov", "NaN")),
        ([[1.0, 0.0, 0.0]], ("cov", "square")),
    ],
)
def test_gaussian_rejects_bad_covariance(cov, words):
    with pytest.raises(ValueError) as err:
        Gaussian([0.0, 0.0], cov)
    for w in words:
        assert w in str(err.value)


def test_gaussian_psd_only_when_allowed():
    singular = [[1.0, 1.0], [1.0, 1.0]]
    with pytest.raises(ValueError, match="cov"):
        Gaussian([0.0, 0.0], singular)
    g = Gaussian([0.0, 0.0], singular, allow_singular=True)
    x = g.sample(1000, seed=0)
    assert np.allclose(x[:, 0], x[:, 1])


@pytest.mark.parametrize(
    "kwargs, name",
    [
        (dict(K=np.eye(3)), "K"),
        (dict(mean=[0.0, 0.0, 0.0]), "mean"),  # a wrong mean blames the mean, not cov
        (dict(z=[np.inf, 0.0]), "z"),
        (dict(V=[[1.0, np.nan], [0.0, 1.0]]), "V"),
        (dict(cov=[[1.0, 0.3], [0.0, 1.0]]), "cov"),
        (dict(Q="identity"), "Q"),
    ],
)
def test_gaussian_limit_names_bad_parameter(kwargs, name):
    args = dict(K=EYE2, Q=EYE2, V=EYE2, mean=[0.0, 0.0], cov=EYE2, z=[1.0, 0.0])
    args.update(kwargs)
    with pytest.raises((ValueError, TypeError)) as err:
        verify.gaussian_limit(**args)
    assert str(err.value).startswith(name)
    with pytest.raises((ValueError, TypeError)) as err:
        verify.attention_quadrature(**args, dps=20)
    assert name in str(err.value)


def test_tokens_need_at_least_one():
    with pytest.raises(ValueError, match="tokens"):
        verify.softmax_attention(np.zeros((0, 2)), [1.0, 0.0], EYE2, EYE2, EYE2)
    with pytest.raises(ValueError, match="z"):
        verify.softmax_attention(np.zeros((3, 2)), [1.0, 0.0, 0.0], EYE2, EYE2, EYE2)


@pytest.mark.parametrize("seed", [None, -1, 1.5, "0", True])
def test_seed_must_be_explicit(seed):
    with pytest.raises((TypeError, ValueError), match="seed"):
        as_generator(seed)


def test_unknown_claim_id():
    with pytest.raises(ValueError, match="claim_id"):
        verify.check_claim("no-such-claim", "V*m")


# ------------------------------------------------------------------------- numerics and determinism

def test_softmax_huge_scores_stay_finite():
    rng = np.random.default_rng(0)
    tokens = rng.standard_normal((50, 2))
    K = 1e4 * np.eye(2)
    out = verify.softmax_attention(tokens, np.array([1.0, 1.0]), K, EYE2, EYE2)
    assert np.all(np.isfinite(out))
    best = tokens[np.argmax(tokens @ np.array([1.0, 1.0]))]
    assert np.allclose(out, best)  # the softmax concentrates on the argmax token


def test_softmax_batch_of_queries_matches_single():
    rng = np.random.default_rng(1)
    tokens, queries = rng.standard_normal((20, 3)), rng.standard_normal((4, 3))
    K, Q, V = (rng.standard_normal((3, 3)) for _ in range(3))
    batch = verify.softmax_attention(tokens, queries, K, Q, V)
    single = np.array([verify.softmax_attention(tokens, q, K, Q, V) for q in queries])
    assert np.allclose(batch, single, rtol=1e-13, atol=1e-13)


def test_linear_attention_is_normalised_sum():
    rng = np.random.default_rng(2)
    t, z = rng.standard_normal((7, 2)), rng.standard_normal(2)
    K, Q, V = (rng.standard_normal((2, 2)) for _ in range(3))
    expected = sum((tl @ K.T @ Q @ z) * (V @ tl) for tl in t) / 7
    assert np.allclose(verify.linear_attention(t, z, K, Q, V), expected)


def test_same_seed_same_bits():
    g = Gaussian([0.0, 1.0], [[2.0, 0.3], [0.3, 1.0]])
    assert np.array_equal(g.sample(100, seed=42), g.sample(100, seed=42))
    assert not np.array_equal(g.sample(100, seed=42), g.sample(100, seed=43))
    a = stream(7, "x", 1).standard_normal(5)
    assert np.array_equal(a, stream(7, "x", 1).standard_normal(5))
    assert not np.array_equal(a, stream(7, "x", 2).standard_normal(5))


def test_check_runs_are_reproducible():
    """A Monte Carlo check run twice at one seed gives the same bits, and another seed moves its figure."""
    from verify.kernel.evidence import Mutant, z_test

    check = z_test("mean", lambda p: p["mu"], lambda p, rng: mean_estimate(rng.normal(p["mu"], 1.0, 500)),
                   [{"mu": 0.5}, {"mu": 2.0}], mutants=[Mutant("shifted", lambda p: p["mu"] + 1.0)])
    st = Statement("toy-mean", "0", "toy", "a sample mean", "test", "E x = mu", checks=[check])
    first, second = run_check(st, check, seed=3), run_check(st, check, seed=3)
    assert first.passed and first.figure == second.figure and first.detail == second.detail
    assert run_check(st, check, seed=4).figure != first.figure


def test_monte_carlo_standard_errors_are_calibrated():
    """Over 2000 independent estimates of E[X] = 0.5 (X exponential), z-scores are ~ N(0, 1)."""
    rng = np.random.default_rng(123)
    zs = np.array([mean_estimate(rng.exponential(0.5, size=400)).z(0.5) for _ in range(2000)])
    coverage = np.mean(np.abs(zs) <= 1.96)
    # binomial standard error of a 95% coverage over 2000 trials: sqrt(.95 * .05 / 2000) = 0.0049
    z_cov = (coverage - 0.95) / math.sqrt(0.95 * 0.05 / 2000)
    print(f"coverage {coverage:.4f}, z = {z_cov:+.2f}; var(z) = {zs.var():.3f}")
    assert abs(z_cov) <= 5, f"95% interval coverage {coverage:.4f} (z = {z_cov:+.2f})"
    assert abs(zs.var() - 1.0) <= 5 * math.sqrt(2 / 2000) * 1.2, f"var(z) = {zs.var():.3f}"


def test_estimate_z_handles_exact_values():
    assert Estimate(1.0, 0.0, 5).z(1.0) == 0.0
    assert Estimate(1.0, 0.0, 5).z(0.0) == math.inf


# --------------------------------------------------------------------------- derivation checker

def test_false_step_is_refuted_with_counterexample():
    x, y = sp.symbols("x y")
    d = Derivation("bad", (x + y) ** 3).step(x**3 + y**3, "freshman's dream")
    r = d.check()[0]
    assert not r.passed and "refuted at" in r.detail


def test_general_d_matrix_steps_can_fail():
    n = sp.Symbol("n", integer=True, positive=True)
    K, Q, V, Gamma = (sp.MatrixSymbol(s, n, n) for s in ("K", "Q", "V", "Gamma"))
    m, z, a = (sp.MatrixSymbol(s, n, 1) for s in ("m", "z", "a"))
    wrong = Derivation("wrong general", V * (m + Gamma * K.T * Q * z)).step(V * m + V * Gamma * K * Q * z, "K for K^T")
    assert not wrong.check()[0].passed
    no_symmetry = Derivation("needs symmetry", m + (Gamma + Gamma.T) * a / 2).step(m + Gamma * a, "forgot the hypothesis")
    assert not no_symmetry.check()[0].passed
    with_symmetry = Derivation("uses symmetry", m + (Gamma + Gamma.T) * a / 2).step(
        m + Gamma * a, "Gamma symmetric", check=equal_given({Gamma.T: Gamma}, "Gamma symmetric"))
    assert with_symmetry.check()[0].passed


def test_up_to_constant_relation_detects_dependence():
    x, c = sp.symbols("x c")
    ok = Derivation("ok", x**2 + 2 * x + c).step((x + 1) ** 2, "complete the square",
                                                   check=equal_up_to_constant_in([x], "x"))
    bad = Derivation("bad", x**2 + 3 * x).step((x + 1) ** 2, "wrong square", check=equal_up_to_constant_in([x], "x"))
    assert ok.check()[0].passed and not bad.check()[0].passed


def test_step_needs_a_justification():
    x = sp.Symbol("x")
    with pytest.raises(ValueError, match="why"):
        Derivation("d", x).step(x, "")


def test_failing_check_is_reported_not_raised():
    def boom(rng):
        raise ValueError("cov: not positive definite")

    def never(prepared, subject):
        raise AssertionError("a failed preparation is never scored")

    st = Statement("t", "T", "t", "t", "t", "t", checks=[Check("boom", "float64", boom, never)])
    ev = run_check(st, st.checks[0])
    assert not ev.passed and "cov" in ev.detail
    late = Check("late", "float64", lambda rng: None, lambda prepared, subject: boom(None))
    ev = run_check(Statement("t", "T", "t", "t", "t", "t", checks=[late]), late)
    assert not ev.passed and "cov" in ev.detail


def test_outcome_refuses_nan():
    with pytest.raises(ValueError, match="NaN"):
        at_least(float("nan"), 1.0)
