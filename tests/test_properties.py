"""Property tests: the closed forms agree with independent references on generated hard inputs, and every
invalid input is refused with the documented error naming the parameter.

Inputs come from the Hypothesis strategies of :mod:`verify.numerics.strategies`: covariances Q diag(lambda) Q^T with
eigenvalues from 1e-6 to 1e6 (condition numbers up to 1e12) in a random rotation, d up to 10, score slopes
up to 1e3, generic (K, Q, V) and (U, V).  The profile (``tests/conftest.py``) is deterministic in CI.

Tolerances are derived from the conditioning, never tuned to pass.  With u = 2^-53 and gamma_n = n u/(1 - n u),
float64 matrix products obey |fl(A B) - A B| <= gamma_n |A| |B| (entrywise absolute values, inner dimension n;
Higham, *Accuracy and Stability of Numerical Algorithms*, Sec. 3.5), so a chain of k products of d x d
factors is off by at most (k - 1) gamma_d times the same chain in absolute values.  The entrywise products of
absolute values are exactly the conditioning of the formula at the point: they are large against the result
precisely where the terms cancel (ill-conditioned Gamma, K^T Q z nearly orthogonal to the top eigenvectors).

* Lemma 2.1 vs 25-digit Gauss-Hermite of the definition (``attention_quadrature``, d <= 2, slopes <= 5):
  |closed - ref| <= (4 gamma_d + 2u) (|V||Gamma||K^T||Q||z| + |V||m|) + u |ref| + 1e-22 |V||B| 1
  (a rigorous a-priori bound: the reference is exact for the float inputs to 1e-25).
* Lemma 2.1 vs float64 trapezoid quadrature of the definition (``attention_quadrature_float``, d <= 10,
  slopes <= 1e3): the same bound for the closed form plus the reference's own a-priori bound (Cholesky
  backward error gamma_{d+1} |B||B^T||a|, the N-point sums gamma_N (|b| + 40) and the rounding of the exponent
  3u (|b| + 40)^2 per whitened coordinate, pushed through V B).
* Linear limit vs exact 3-node Gauss-Hermite of its definition (``linear_attention_quadrature``, d <= 4):
  (4 gamma_d + 2u) |V| (|Gamma| + |m||m|^T) |K^T||Q||z| + u |ref|.
* R_inf closed form (``icl_risk_infinite``) vs the definition: tolerance C (d+1)^2 u R_abs, where R_abs is the
  statement's SymPy closed form (``verify.icl.symbols.CLOSED_FORM`` at d = k) with every coefficient and entry
  replaced by its absolute value and every minus by a plus (|U11|, |u|, |a|, |b|, |Sigma|, +I in M): the size of
  the terms that cancel.  C = 4 against the exact 30-digit quadrature (d <= 2), C = 16 against the float64 Gauss-Hermite
  rule ``risk_definition_gh`` (d <= 4; it rounds too).  Measured worst ratios |closed - ref| / ((d+1)^2 u R_abs)
  over 500 random examples each: 0.49 (exact reference) and 1.85 (float64 reference, d <= 6).

``test_tolerances_are_sharp`` shows each tolerance rejecting planted wrong forms (K for K^T, a dropped V m,
Gamma^2 for Gamma, a relative offset of 1e-9) at a point with condition number 1e12.
"""

from __future__ import annotations

import functools

import numpy as np
import pytest
import sympy as sp
from hypothesis import given, strategies as st

import verify
from verify.icl.references import icl_risk_infinite_quadrature, risk_definition_gh
from verify.icl.risk import bayes_point
from verify.icl.symbols import icl_symbols, risk_infinite_from_blocks, s as noise_symbol
from verify.numerics.quadrature import linear_attention_quadrature
from verify.numerics.strategies import attention_points, icl_points, spd_covariances

U_ROUND = 2.0**-53


def gamma(n: int) -> float:
    return n * U_ROUND / (1 - n * U_ROUND)


A = np.abs


def _args(p):
    return p["K"], p["Q"], p["V"], p["m"], p["Gamma"], p["z"]


def closed_form_bound(K, Q, V, m, G, z):
    """A priori rounding bound of V m + V Gamma K^T Q z evaluated left to right in float64."""
    d = len(m)
    return (4 * gamma(d) + 2 * U_ROUND) * (A(V) @ A(G) @ A(K.T) @ A(Q) @ A(z) + A(V) @ A(m))


def float_reference_bound(K, Q, V, m, G, z, step=0.125):
    """A priori rounding bound of ``attention_quadrature_float`` (see the module docstring)."""
    d = len(m)
    B = np.linalg.cholesky(G)
    a = K.T @ (Q @ z)
    b = B.T @ a
    half = A(b) + 40.0
    points = int(np.max(2 * half / step)) + 5
    dg = gamma(points) * half + 3 * U_ROUND * half**2  # error of each whitened tilted mean
    return (A(V) @ (gamma(d + 1) * A(B) @ A(B.T) @ A(a) + A(B) @ dg
                    + 2 * gamma(d + 1) * (A(m) + A(B) @ (A(b) + dg)))
            + 2 * gamma(d) * A(V) @ A(m))


def linear_bound(K, Q, V, m, G, z):
    d = len(m)
    return (4 * gamma(d) + 2 * U_ROUND) * (A(V) @ (A(G) + np.outer(A(m), A(m))) @ A(K.T) @ A(Q) @ A(z))


def _absolute(e):
    """The expression tree of ``e`` with every number replaced by its absolute value (a minus becomes a plus)."""
    if e.is_Add:
        return sp.Add(*[_absolute(t) for t in e.args])
    if e.is_Mul:
        return sp.Mul(*[_absolute(t) for t in e.args])
    if e.is_Pow:
        return sp.Pow(_absolute(e.base), e.exp)
    return abs(e) if e.is_Number else e


@functools.lru_cache(maxsize=None)
def _risk_abs_at(d: int):
    """R_abs at dimension d, lambdified from the statement's SymPy closed form (one source of truth)."""
    S = icl_symbols(d)
    sigma = [S["Sigma"][i, j] for i in range(d) for j in range(i, d)]
    expr = _absolute(risk_infinite_from_blocks(*S["blocks"], S["Sigma"]))
    return sp.lambdify((list(S["U"]), list(S["V"]), sigma, noise_symbol), expr, "numpy")


def risk_abs(U, V, S, s):
    """The closed form of R_inf on absolute values: bounds every term that is summed (and may cancel)."""
    d = S.shape[0]
    return float(_risk_abs_at(d)(A(U).ravel(), A(V).ravel(), A(S)[np.triu_indices(d)], abs(s)))


def _assert_within(got, ref, tol, what):
    err = A(np.asarray(got, dtype=float) - np.asarray(ref, dtype=float))
    assert np.all(np.isfinite(err)), f"{what}: non-finite value"
    bad = err > tol
    assert not bad.any(), f"{what}: |closed - ref| = {err[bad]} > tolerance {np.asarray(tol)[bad]}"


# ------------------------------------------------------------------------------------------- agreement


@given(attention_points(max_d=10))
def test_gaussian_limit_matches_float_quadrature(p):
    K, Q, V, m, G, z = _args(p)
    got = verify.gaussian_limit(K, Q, V, m, G, z)
    ref = verify.attention_quadrature_float(K, Q, V, m, G, z)
    _assert_within(got, ref, closed_form_bound(*_args(p)) + float_reference_bound(*_args(p)), "Lemma 2.1 (float)")


@given(attention_points(max_d=2, max_score=5.0))
def test_gaussian_limit_matches_high_precision_quadrature(p):
    K, Q, V, m, G, z = _args(p)
    got = verify.gaussian_limit(K, Q, V, m, G, z)
    ref = np.array([float(t) for t in verify.attention_quadrature(K, Q, V, m, G, z, dps=25)])
    B = np.linalg.cholesky(G)
    tol = closed_form_bound(K, Q, V, m, G, z) + U_ROUND * A(ref) + 1e-22 * A(V) @ A(B) @ np.ones(len(m))
    _assert_within(got, ref, tol, "Lemma 2.1 (25 digits)")


@given(attention_points(max_d=4))
def test_linear_limit_matches_exact_moments(p):
    K, Q, V, m, G, z = _args(p)
    got = verify.linear_limit(K, Q, V, m, G, z)
    ref = np.array([float(t) for t in linear_attention_quadrature(K, Q, V, m, G, z, dps=30)])
    _assert_within(got, ref, linear_bound(K, Q, V, m, G, z) + U_ROUND * A(ref), "linear limit")


@given(icl_points(max_d=4))
def test_icl_risk_infinite_matches_definition_gh(p):
    U, V, S, s = p["U"], p["V"], p["Sigma"], p["s"]
    d = S.shape[0]
    got, ref = verify.icl_risk_infinite(U, V, S, s), risk_definition_gh(U, V, S, s)
    _assert_within(got, ref, 16 * (d + 1) ** 2 * U_ROUND * risk_abs(U, V, S, s), "R_inf vs float64 GH")


@given(icl_points(max_d=2))
def test_icl_risk_infinite_matches_exact_quadrature(p):
    U, V, S, s = p["U"], p["V"], p["Sigma"], p["s"]
    d = S.shape[0]
    got = verify.icl_risk_infinite(U, V, S, s)
    ref = float(icl_risk_infinite_quadrature(U, V, S, s, dps=30))
    _assert_within(got, ref, 4 * (d + 1) ** 2 * U_ROUND * risk_abs(U, V, S, s) + U_ROUND * abs(ref),
                   "R_inf vs 30-digit GH")


@given(spd_covariances(max_d=6), st.sampled_from([1e-15, 1.0, 1e15]))
def test_positive_definiteness_is_relative(S, c):
    """c Sigma is as positive definite as Sigma: 1e-15 I is accepted, and results scale exactly as they should."""
    d = S.shape[0]
    I = np.eye(d)
    got = verify.gaussian_limit(I, I, I, np.zeros(d), c * S, np.ones(d))
    _assert_within(got, (c * S) @ np.ones(d), closed_form_bound(I, I, I, np.zeros(d), c * S, np.ones(d)),
                   "scaled covariance")
    U, V = bayes_point(S)
    assert np.isfinite(verify.icl_risk_infinite(U, V, c * S))


def test_tolerances_are_sharp():
    """At a point with condition number 1e12, the true forms pass and wrong forms fail the same tolerances."""
    rng = np.random.default_rng(7)
    d = 3
    Qr, _ = np.linalg.qr(rng.standard_normal((d, d)))
    G = (Qr * np.array([1e-6, 1.0, 1e6])) @ Qr.T
    G = (G + G.T) / 2
    K, Q, V = (rng.uniform(-1, 1, (d, d)) for _ in range(3))
    m, z = rng.uniform(-2, 2, d), rng.uniform(-1, 1, d)
    B = np.linalg.cholesky(G)
    K *= 3.0 / np.max(A(B.T @ K.T @ Q @ z))  # score slope 3
    ref = np.array([float(t) for t in verify.attention_quadrature(K, Q, V, m, G, z, dps=25)])
    tol = closed_form_bound(K, Q, V, m, G, z) + U_ROUND * A(ref) + 1e-22 * A(V) @ A(B) @ np.ones(d)
    right = verify.gaussian_limit(K, Q, V, m, G, z)
    assert np.all(A(right - ref) <= tol)
    wrong = {
        "K for K^T": V @ m + V @ G @ K @ Q @ z,
        "V m dropped": V @ G @ K.T @ Q @ z,
        "Gamma^2 for Gamma": V @ m + V @ G @ G @ K.T @ Q @ z,
        "relative 1e-9": right * (1 + 1e-9),
    }
    for name, value in wrong.items():
        assert np.any(A(value - ref) > tol), f"the tolerance does not see {name!r}"
    lin_ref = np.array([float(t) for t in linear_attention_quadrature(K, Q, V, m, G, z, dps=30)])
    lin_tol = linear_bound(K, Q, V, m, G, z) + U_ROUND * A(lin_ref)
    assert np.all(A(verify.linear_limit(K, Q, V, m, G, z) - lin_ref) <= lin_tol)
    assert np.any(A(V @ G @ K.T @ Q @ z - lin_ref) > lin_tol)  # m m^T dropped
    # R_inf at an ill-conditioned Sigma: true form within 16 (d+1)^2 u R_abs, a 1e-9 offset outside
    S = (Qr * np.array([1e-6, 1.0, 1e6])) @ Qr.T
    S = (S + S.T) / 2
    U, Vv = rng.uniform(-1, 1, (d + 1, d + 1)), rng.uniform(-1, 1, (d + 1, d + 1))
    r_ref, r_tol = risk_definition_gh(U, Vv, S, 0.3), 16 * (d + 1) ** 2 * U_ROUND * risk_abs(U, Vv, S, 0.3)
    r = verify.icl_risk_infinite(U, Vv, S, 0.3)
    assert abs(r - r_ref) <= r_tol < 1e-9 * abs(r_ref)
    assert abs(r * (1 + 1e-9) - r_ref) > r_tol


# ------------------------------------------------------------------------------------------ bad input

_TYPE_BAD = ("none", "str", "bool", "complex")
_VALUE_BAD = ("nan", "inf", "shape")
_COV_BAD = ("nonsymmetric", "indefinite")


def _corrupt(value, kind: str, draw):
    """``value`` made invalid in the way ``kind`` says; the expected exception type."""
    arr = np.array(value, dtype=float)
    if kind == "none":
        return None, TypeError
    if kind == "str":
        return draw(st.sampled_from(["1.0", "identity", ""])), TypeError
    if kind == "bool":
        return draw(st.sampled_from([True, arr != 0])), TypeError
    if kind == "complex":
        return arr + 1j * draw(st.floats(-1, 1)), TypeError
    if kind in ("nan", "inf"):
        out = arr.copy()
        out.flat[draw(st.integers(0, out.size - 1))] = np.nan if kind == "nan" else draw(st.sampled_from([np.inf, -np.inf]))
        return out, ValueError
    if kind == "shape":
        k = arr.shape[0] + 1
        return (np.ones((k, k)) if arr.ndim == 2 else np.ones(k)), ValueError
    if kind == "nonsymmetric":
        out = arr.copy()
        out[0, -1] += 1e-6 * np.max(A(arr)) + (1.0 if arr.shape[0] == 1 else 0.0)
        if arr.shape[0] == 1:  # a 1 x 1 matrix is symmetric: make it non-square instead
            return np.ones((1, 2)), ValueError
        return out, ValueError
    if kind == "indefinite":
        w, Qm = np.linalg.eigh(arr)
        w[-1] = -w[-1]
        return (Qm * w) @ Qm.T, ValueError
    raise AssertionError(kind)


_ATTENTION_FUNCTIONS = {
    "gaussian_limit": verify.gaussian_limit,
    "linear_limit": verify.linear_limit,
    "attention_quadrature_float": verify.attention_quadrature_float,
    "attention_quadrature": verify.attention_quadrature,
}
_ATTENTION_PARAMS = ("K", "Q", "V", "mean", "cov", "z")


@given(attention_points(max_d=4, max_score=3.0), st.sampled_from(sorted(_ATTENTION_FUNCTIONS)),
       st.sampled_from(_ATTENTION_PARAMS), st.data())
def test_attention_bad_input_names_the_parameter(p, fname, param, data):
    args = dict(zip(_ATTENTION_PARAMS, _args(p)))
    kinds = _TYPE_BAD + _VALUE_BAD + (_COV_BAD if param == "cov" else ())
    kind = data.draw(st.sampled_from(kinds), label="kind")
    args[param], expected = _corrupt(args[param], kind, data.draw)
    with pytest.raises((TypeError, ValueError)) as err:
        _ATTENTION_FUNCTIONS[fname](**args)
    assert isinstance(err.value, expected), f"{kind}: {type(err.value).__name__}: {err.value}"
    assert str(err.value).split(":")[0].split(", ")[0] == param, str(err.value)


@given(attention_points(max_d=4, max_score=3.0), st.sampled_from(["softmax_attention", "linear_attention"]),
       st.sampled_from(["tokens", "z", "K", "Q", "V"]), st.sampled_from(_TYPE_BAD + ("nan", "inf")), st.data())
def test_token_attention_bad_input_names_the_parameter(p, fname, param, kind, data):
    d = len(p["m"])
    tokens = p["m"] + np.arange(3.0)[:, None] * np.ones(d)
    args = {"tokens": tokens, "z": p["z"], "K": p["K"], "Q": p["Q"], "V": p["V"]}
    args[param], expected = _corrupt(args[param], kind, data.draw)
    with pytest.raises(expected) as err:
        getattr(verify, fname)(**args)
    assert str(err.value).startswith(f"{param}:"), str(err.value)


_ICL_PARAMS = ("U", "V", "Sigma")


@given(icl_points(max_d=3), st.sampled_from(["icl_risk_infinite", "icl_risk_mc", "icl_risk_gap_mc",
                                               "icl_risk_infinite_mc"]),
       st.sampled_from(_ICL_PARAMS + ("noise",)), st.data())
def test_icl_bad_input_names_the_parameter(p, fname, param, data):
    args = {"U": p["U"], "V": p["V"], "Sigma": p["Sigma"], "noise": p["s"]}
    if param == "noise":
        kind = data.draw(st.sampled_from(["none", "str", "bool", "complex", "nan", "inf", "negative"]), label="kind")
        bad = {"none": (None, TypeError), "str": ("0.1", TypeError), "bool": (True, TypeError),
               "complex": (0.1 + 1j, TypeError), "nan": (float("nan"), ValueError),
               "inf": (float("inf"), ValueError), "negative": (-0.1, ValueError)}
        args["noise"], expected = bad[kind]
    else:
        kind = data.draw(st.sampled_from(_TYPE_BAD + _VALUE_BAD + (_COV_BAD if param == "Sigma" else ())), label="kind")
        args[param], expected = _corrupt(args[param], kind, data.draw)
    extra = {} if fname == "icl_risk_infinite" else {"n_prompts": 4, "seed": 0}
    if fname in ("icl_risk_mc", "icl_risk_gap_mc"):
        extra["L"] = 3
    with pytest.raises(expected) as err:
        getattr(verify, fname)(**args, **extra)
    assert str(err.value).startswith(f"{param}:"), str(err.value)
