"""The float kernels of ``verify.concentration.exponent`` against the statement ``sharp-exponent`` evaluated exactly.

The references are the statement's SymPy pieces (e(c) in the CLT and one-big-token regimes, the closed form \\alpha(s)),
evaluated at exact rational points by SymPy, with \\|U\\|_op taken from exact singular values, never from the float
kernel under test; the points sit on both sides of every boundary (c = 2/3, c = 2, s^2 = 1/2, c = 0, s = 0).
"""

import math

import numpy as np
import pytest
import sympy as sp

from proofs.sharp_exponent import ALPHA_PIECEWISE, E_CLT, E_MID, c, s
from verify.concentration.exponent import alpha_of_s, alpha_variational, regime_exponent, sharp_exponent

EPS = sp.Rational(1, 64)
C_POINTS = [sp.S(0), sp.Rational(1, 4), sp.Rational(2, 3) - EPS, sp.Rational(2, 3) + EPS, sp.S(1), sp.Rational(3, 2),
            2 - EPS, 2 + EPS, sp.S(5)]


def _e_exact(cv):
    """e(c) from the statement's pieces: c - 1 up to c = 2/3, the one-big-token form up to c = 2, then 0."""
    if cv <= sp.Rational(2, 3):
        return E_CLT.subs(c, cv)
    if cv <= 2:
        return E_MID.subs(c, cv)
    return sp.S(0)


@pytest.mark.parametrize("cv", C_POINTS, ids=str)
def test_regime_exponent_matches_the_statement_on_both_sides_of_each_boundary(cv):
    assert regime_exponent(float(cv)) == pytest.approx(float(_e_exact(cv).evalf(30)), rel=1e-14, abs=1e-15)


def test_regime_exponent_is_exact_on_the_clt_piece_up_to_the_float_nearest_two_thirds():
    # fl(2/3) < 2/3, so e(fl(2/3)) = fl(2/3) - 1 exactly, and that difference is a double (Sterbenz)
    cv = 2.0 / 3.0
    assert sp.Rational(cv) < sp.Rational(2, 3)
    assert regime_exponent(cv) == float(sp.Rational(cv) - 1)


@pytest.mark.parametrize("bad", [-1e-12, -0.5, -2.0, math.inf, math.nan])
def test_regime_exponent_refuses_negative_or_non_finite_c(bad):
    with pytest.raises(ValueError, match="c: expected a finite number >= 0"):
        regime_exponent(bad)


def _dyadic(x: float, bits: int = 20) -> sp.Rational:
    return sp.Rational(round(x * 2**bits), 2**bits)


# non-symmetric U with dyadic entries, d = 1..5, \|U\|_op != \|U\|_F and != 1
U_MATRICES = [
    [[-1.25]],
    [[1.5, 0.0], [0.5, 1.25]],
    [[0.5, 0.25, 0.0], [0.0, 0.75, 0.5], [0.25, 0.0, -1.25]],
    [[1.0, -0.5, 0.0, 0.25], [0.0, 0.5, 0.75, 0.0], [0.125, 0.0, -0.25, 1.0], [0.5, 0.0, 0.0, 0.375]],
    [[0.75, 0.0, 0.25, 0.0, -0.5], [0.0, 1.25, 0.0, 0.5, 0.0], [0.25, 0.0, -0.5, 0.0, 0.125],
     [0.0, -0.25, 0.0, 0.875, 0.0], [0.5, 0.0, 0.375, 0.0, 1.0]],
]


def _top_squared_singular_value(U) -> sp.Expr:
    """The largest eigenvalue of U^T U, exactly (the largest real root of its characteristic polynomial)."""
    A = sp.Matrix([[sp.Rational(v) for v in row] for row in U])
    return max(sp.Poly((A.T * A).charpoly().as_expr()).real_roots())


def _points():
    # s^2 = sigma^2 \|U\|_op^2 at 1/4, just below 1/2, just above 1/2, 3/4 (the middle branch) and 9
    for U in U_MATRICES:
        top = _top_squared_singular_value(U)
        for target in (0.25, 0.5 * (1 - 2e-3), 0.5 * (1 + 2e-3), 0.75, 9.0):
            yield pytest.param(U, _dyadic(math.sqrt(target / float(top))), top, id=f"d={len(U)}-s^2~{target:g}")


@pytest.mark.parametrize("U, sigma, top", list(_points()))
def test_sharp_exponent_matches_the_exact_closed_form_at_non_isotropic_U(U, sigma, top):
    A = np.array(U)
    if len(U) > 1:  # the operator norm, not the Frobenius norm, sets s
        assert not math.isclose(np.linalg.norm(A, 2), np.linalg.norm(A))
    expected = ALPHA_PIECEWISE.subs(s, sigma * sp.sqrt(top)).evalf(30)
    assert sharp_exponent(float(sigma), A) == pytest.approx(float(expected), rel=1e-13)


def test_alpha_is_one_at_s_zero_and_for_a_zero_U():
    assert alpha_of_s(0.0) == 1.0
    assert sharp_exponent(0.7, np.zeros((3, 3))) == 1.0


@pytest.mark.parametrize("bad", [-1e-300, -0.5, math.inf, math.nan])
def test_alpha_of_s_refuses_negative_or_non_finite_s(bad):
    with pytest.raises(ValueError, match="s: expected a finite number >= 0"):
        alpha_of_s(bad)


@pytest.mark.parametrize("bad", [0.0, -0.0, -1.0, math.inf, -math.inf, math.nan])
def test_sharp_exponent_refuses_sigma_not_finite_and_positive(bad):
    with pytest.raises(ValueError, match="sigma: expected a finite number > 0"):
        sharp_exponent(bad, [[1.0]])


@pytest.mark.parametrize("bad", [True, False, "1.0", b"1.0", 1 + 0j, None, [1.0], object()])
def test_sharp_exponent_refuses_sigma_that_is_not_a_real_number(bad):
    with pytest.raises(TypeError, match="sigma: expected a real number"):
        sharp_exponent(bad, [[1.0]])


@pytest.mark.parametrize("sigma", [1, np.float32(1.0), np.int64(1), np.float64(1.0)])
def test_sharp_exponent_accepts_any_real_sigma_type(sigma):
    assert sharp_exponent(sigma, [[1.0]]) == pytest.approx((math.sqrt(5) - 1) / 2, rel=1e-15)


def test_sharp_exponent_accepts_a_square_U_in_dimension_above_256():
    # d = 300: the two sides of U are compared by value, not by identity
    assert sharp_exponent(1.0, np.eye(300)) == pytest.approx((math.sqrt(5) - 1) / 2, rel=1e-15)


@pytest.mark.parametrize("U", [[1.0, 2.0], [[1.0, 2.0]], [[1.0], [2.0]], np.zeros((0, 0)), np.ones((2, 2, 2))],
                         ids=["vector", "wide", "tall", "empty", "rank-3"])
def test_sharp_exponent_refuses_a_U_that_is_not_square(U):
    with pytest.raises(ValueError, match="U: expected a square d x d matrix"):
        sharp_exponent(1.0, U)


@pytest.mark.parametrize("bad", [0.0, -0.5, math.inf, math.nan])
def test_alpha_variational_refuses_s_not_finite_and_positive(bad):
    with pytest.raises(ValueError, match="s: expected a finite number > 0"):
        alpha_variational(bad)
