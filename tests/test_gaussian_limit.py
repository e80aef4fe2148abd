"""Lemma 2.1 beyond the registered evidence: every check must be able to fail on a wrong formula."""

import mpmath
import numpy as np
import pytest
import sympy as sp

import verify
from proofs import gaussian_limit as gl
from verify.formula import agreeing_digits, check_formula

RNG = lambda: np.random.default_rng(2024)  # noqa: E731


def _wrong_numpy(K, Q, V, m, G, z):
    return V @ m + V @ G @ K @ Q @ z  # K instead of K^T


@pytest.mark.parametrize(
    "wrong",
    [
        gl.V * gl.Gamma * gl.K.T * gl.Q * gl.z,  # missing V m
        sp.MatAdd(gl.V * gl.m, gl.V * gl.Gamma * gl.K * gl.Q * gl.z),  # K for K^T
        sp.MatAdd(gl.V * gl.m, gl.V * gl.Gamma.I * gl.K.T * gl.Q * gl.z),  # Gamma inverted
        gl.LINEAR_LIMIT,  # the linear-attention form (m != 0)
    ],
)
def test_quadrature_check_rejects_wrong_closed_form(wrong):
    out = gl.check_quadrature(expr=wrong, points=2)(RNG())
    assert not out.passed and out.figure < 5, out.detail


def test_quadrature_check_accepts_paper_form():
    out = gl.check_quadrature(points=2)(RNG())
    assert out.passed and out.figure >= 30, out.detail


def test_monte_carlo_check_rejects_wrong_limit():
    out = gl.check_monte_carlo(limit=_wrong_numpy)(RNG())
    print(out.detail)
    assert not out.passed, out.detail


def test_float64_check_rejects_wrong_limit():
    assert not gl.check_float64(limit=_wrong_numpy)(RNG()).passed


def test_companion_quadrature_rejects_softmax_form():
    assert not gl.check_companion_quadrature(expr=gl.SOFTMAX_LIMIT, points=2)(RNG()).passed


def test_monte_carlo_mse_decreases_and_z_reported():
    out = gl.check_monte_carlo()(RNG())
    assert out.passed and "z at L=10000" in out.detail and "MSE" in out.detail


def test_psd_covariance_supported():
    """Lemma 2.1 holds for every PSD Gamma: check a rank-one covariance against Monte Carlo."""
    rng = np.random.default_rng(5)
    G = np.array([[1.0, 1.0], [1.0, 1.0]])
    K, Q, V = 0.5 * np.eye(2), np.eye(2), np.eye(2)
    m, z = np.array([0.2, -0.1]), np.array([0.5, 0.3])
    target = verify.gaussian_limit(K, Q, V, m, G, z)
    quad = verify.attention_quadrature(K, Q, V, m, G, z, dps=30)
    with mpmath.mp.workdps(30):
        closed = gl.closed_form(gl.SOFTMAX_LIMIT, dict(K=K, Q=Q, V=V, m=m, Gamma=G, z=z))
        assert agreeing_digits(closed, mpmath.matrix(quad)) >= 25
    mu = verify.Gaussian(m, G, allow_singular=True)
    outs = np.array([verify.softmax_attention(mu.sample(5000, rng), z, K, Q, V) for _ in range(200)])
    zs = (outs.mean(0) - target) / (outs.std(0, ddof=1) / np.sqrt(200))
    print("z:", zs)
    assert np.all(np.abs(zs) <= 5)


@pytest.mark.parametrize("spec", [gl.SOFTMAX_CLAIM, gl.LINEAR_CLAIM], ids=lambda s: s.id)
def test_claim_examples(spec):
    assert check_formula(spec, spec.example).accepted
    for wrong in spec.wrong_examples:
        verdict = check_formula(spec, wrong)
        assert not verdict.accepted and verdict.worst_error > 1e-3, wrong


@pytest.mark.parametrize("formula", ["V*(m + Gamma*K.T*Q*z)", "V*(Gamma*(Q.T*K).T*z + m)",
                                     "(2*V*m + V*Gamma*K.T*Q*z*2)/2", "V*Gamma*Gamma**-1*m + V*Gamma*K.T*Q*z"])
def test_equivalent_rewritings_accepted(formula):
    v = verify.check_claim("gaussian-limit", formula)
    assert v.accepted and v.worst_error < 1e-30


@pytest.mark.parametrize("formula, words", [("V*m +", "parse"), ("V*Gamma", "shape"), ("V*x", "unknown"),
                                            ("m.T*z", "scalar"), ("", "empty"), ("sin(z)", "supported")])
def test_bad_formulas_raise(formula, words):
    with pytest.raises(ValueError, match="formula") as err:
        verify.check_claim("gaussian-limit", formula)
    assert words in str(err.value)


# ------------------------------------------------------------------ property test (hypothesis)

from hypothesis import given, settings, strategies as st  # noqa: E402
from hypothesis.extra.numpy import arrays  # noqa: E402


@st.composite
def lemma_inputs(draw, max_dim=6):
    """Valid inputs of Lemma 2.1: any K, Q, V; Gamma = A A^T + I/2 (SPD); moderate entries."""
    d = draw(st.integers(1, max_dim))
    entries = st.floats(-1, 1, allow_nan=False, allow_infinity=False)
    K, Q, V, A = (draw(arrays(float, (d, d), elements=entries)) for _ in range(4))
    m, z = (draw(arrays(float, (d,), elements=st.floats(-2, 2))) for _ in range(2))
    return K, Q, V, m, A @ A.T / d + 0.5 * np.eye(d), z


@settings(max_examples=60, deadline=None)
@given(lemma_inputs())
def test_lemma_holds_on_generated_inputs(args):
    K, Q, V, m, G, z = args
    ref = verify.attention_quadrature_float(K, Q, V, m, G, z)
    got = verify.gaussian_limit(K, Q, V, m, G, z)
    assert np.max(np.abs(got - ref)) <= 1e-9 * max(1.0, np.max(np.abs(ref)))


@settings(max_examples=30, deadline=None)
@given(lemma_inputs(max_dim=3))
def test_linear_form_differs_exactly_by_Vm(args):
    """T - T_lin = V m (1 - m^T K^T Q z) on generated inputs (the companion's difference step, in float64)."""
    K, Q, V, m, G, z = args
    gap = verify.gaussian_limit(K, Q, V, m, G, z) - verify.linear_limit(K, Q, V, m, G, z)
    assert np.allclose(gap, V @ m * (1 - m @ K.T @ Q @ z), atol=1e-10)


def test_certified_check_excludes_wrong_form():
    wrong = sp.MatAdd(gl.V * gl.m, gl.V * gl.Gamma * gl.K * gl.Q * gl.z)  # K for K^T
    out = gl.check_certified(expr=wrong, points=2)(RNG())
    assert not out.passed and "OUTSIDE" in out.detail
    assert gl.check_certified(points=2)(RNG()).passed


def test_certified_enclosure_names_bad_input():
    from verify.certified import attention_enclosure

    with pytest.raises(ValueError, match="prec"):
        attention_enclosure(np.eye(1), np.eye(1), np.eye(1), [0.0], [[1.0]], [1.0], prec=10)
    with pytest.raises(ValueError, match="cov"):
        attention_enclosure(np.eye(2), np.eye(2), np.eye(2), [0.0, 0.0], [[1.0, 2.0], [2.0, 1.0]], [1.0, 0.0])
