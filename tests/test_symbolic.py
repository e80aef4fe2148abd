"""verify.symbolic: explicit symbolic matrices, Isserlis/Wick moments, matrix identities, general-d checks.

Every matrix identity is checked against :func:`wick_expectation` with explicit entries at d = 1, 2, 3, and
watched failing on a deliberately wrong variant; the general-d (matrix-level) Wick engine is checked against
the same identities and against the entry-wise engine.
"""

from __future__ import annotations

import pytest
import sympy as sp
from sympy import Identity, MatrixSymbol

import verify.symbolic
from verify.symbolic import entries, matexpr, wick
from verify.symbolic.entries import (
    explicit_at,
    explicit_equal,
    explicit_expectation_equal,
    lower_triangular,
    symbolic_matrix,
    symbolic_vector,
)
from verify.symbolic.matexpr import (
    canonical_form,
    matexpr_equal,
    matrix_expectation_equal,
    matrix_wick_expectation,
)
from verify.symbolic.wick import (
    gaussian_mean,
    gaussian_second_moment,
    isserlis_moment,
    quadratic_form_mean,
    quadratic_form_product_mean,
    quadratic_times_linear_mean,
    trace,
    wick_expectation,
)

DIMS = (1, 2, 3)
n = sp.Symbol("d", integer=True, positive=True)
W = MatrixSymbol("w", n, 1)
AS, BS, SS = MatrixSymbol("A", n, n), MatrixSymbol("B", n, n), MatrixSymbol("S", n, n)
CS = MatrixSymbol("c", n, 1)


def scalar(e):
    return sp.expand(e[0, 0] if isinstance(e, sp.MatrixBase) else e)


# ------------------------------------------------------------------------------- package layout


def test_package_reexports_every_layer_and_imports_run_one_way():
    """``from verify.symbolic import X`` works for every public name of the three layers, with no circles."""
    for layer in (wick, matexpr, entries):
        for name in layer.__all__:
            assert getattr(verify.symbolic, name) is getattr(layer, name)
    assert sorted(verify.symbolic.__all__) == sorted(wick.__all__ + matexpr.__all__ + entries.__all__)
    assert not any(hasattr(wick, m) for m in ("matexpr", "entries", "_collapse", "symbolic_matrix"))
    assert not hasattr(matexpr, "symbolic_matrix") and not hasattr(matexpr, "explicit_at")


# ------------------------------------------------------------------------------- symbolic matrices


def test_symbolic_matrix_names_and_symmetry():
    G = symbolic_matrix("Gamma", 3, 3, symmetric=True)
    assert G[0, 1] == G[1, 0] == sp.Symbol("Gamma_0_1", real=True)
    assert G == G.T and len(G.free_symbols) == 6
    A = symbolic_matrix("A", 2, 3)
    assert A.shape == (2, 3) and len(A.free_symbols) == 6 and A[1, 0] != A[0, 1]
    assert symbolic_vector("w", 2)[1] == sp.Symbol("w_1", real=True)
    C = lower_triangular("C", 3)
    assert C[0, 2] == 0 and C[2, 0] == sp.Symbol("C_2_0", real=True)


@pytest.mark.parametrize("args, exc", [(("A", 2, 3, True), ValueError), (("A", 0, 2), ValueError),
                                       (("", 2, 2), TypeError), (("A", 2.0, 2), ValueError)])
def test_symbolic_matrix_bad_input(args, exc):
    with pytest.raises(exc):
        symbolic_matrix(*args)


# ------------------------------------------------------------------------------------- Isserlis


def test_scalar_moments():
    g = sp.Symbol("g")
    assert [wick_expectation(g**k, [g]) for k in range(7)] == [1, 0, 1, 0, 3, 0, 15]
    sig = sp.Symbol("sigma", positive=True)
    assert wick_expectation(g**4, [g], [[sig**2]]) == 3 * sig**4
    assert isserlis_moment([0, 0, 1, 1, 1, 1]) == 3


def test_general_covariance_matches_cholesky_representation():
    """E over x ~ N(0, C C^T) directly (Isserlis with the covariance) = E over g ~ N(0, I) of p(C g)."""
    C = lower_triangular("C", 2)
    x, g = symbolic_vector("x", 2), symbolic_vector("g", 2)
    a = sp.Symbol("a")
    poly = x[0] ** 3 * x[1] + a * x[0] ** 2 * x[1] ** 2 + x[1] ** 2 - 3 * x[0]
    direct = wick_expectation(poly, list(x), C * C.T)
    via_g = wick_expectation(poly.xreplace(dict(zip(x, C * g))), list(g))
    assert sp.expand(direct - via_g) == 0


def test_ring_and_poly_paths_agree():
    """Rational coefficients take the sparse-ring path; an irrational coefficient forces sympy.Poly."""
    w = symbolic_vector("w", 2)
    A = symbolic_matrix("A", 2, 2)
    poly = scalar(w.T * A * w) ** 2 + w[0] * w[1]
    fast = wick_expectation(poly, list(w))
    slow = wick_expectation(sp.sqrt(2) * poly, list(w)) / sp.sqrt(2)
    assert sp.expand(fast - slow) == 0


@pytest.mark.parametrize("call, exc", [
    (lambda x: wick_expectation(x**2, [x**2]), TypeError),
    (lambda x: wick_expectation(x**2, []), ValueError),
    (lambda x: wick_expectation(x**2, [x, x]), ValueError),
    (lambda x: wick_expectation(x**2, [x], [[1, 0], [0, 1]]), ValueError),
    (lambda x: wick_expectation(sp.exp(x), [x]), ValueError),
    (lambda x: wick_expectation(1 / x, [x]), ValueError),
])
def test_wick_bad_input(call, exc):
    with pytest.raises(exc):
        call(sp.Symbol("x"))


def test_asymmetric_covariance_refused():
    x, y = sp.symbols("x y")
    with pytest.raises(ValueError, match="symmetric"):
        wick_expectation(x * y, [x, y], [[1, 2], [0, 1]])


# ------------------------------------------------------------------- identities vs explicit Isserlis


@pytest.mark.parametrize("k", DIMS)
def test_first_and_second_moments(k):
    w = symbolic_vector("w", k)
    assert wick_expectation(w, list(w)) == gaussian_mean(k)
    assert wick_expectation(w * w.T, list(w)) == gaussian_second_moment(sp.eye(k))
    C = symbolic_matrix("C", k, k, symmetric=True)
    assert (wick_expectation(w * w.T, list(w), C) - gaussian_second_moment(C)).applyfunc(sp.expand) == sp.zeros(k, k)


@pytest.mark.parametrize("k", DIMS)
def test_quadratic_form_mean(k):
    w = symbolic_vector("w", k)
    A = symbolic_matrix("A", k, k)
    C = symbolic_matrix("C", k, k, symmetric=True)
    assert sp.expand(wick_expectation(scalar(w.T * A * w), list(w)) - quadratic_form_mean(A)) == 0
    assert sp.expand(wick_expectation(scalar(w.T * A * w), list(w), C) - quadratic_form_mean(A, C)) == 0


@pytest.mark.parametrize("k", DIMS)
def test_quadratic_times_linear_mean(k):
    w, c = symbolic_vector("w", k), symbolic_vector("c", k)
    A = symbolic_matrix("A", k, k)
    assert wick_expectation(scalar(w.T * A * w) * scalar(c.T * w), list(w)) == quadratic_times_linear_mean(A, c) == 0


@pytest.mark.parametrize("k", DIMS)
def test_quadratic_form_product_mean(k):
    w = symbolic_vector("w", k)
    A, B = symbolic_matrix("A", k, k), symbolic_matrix("B", k, k)
    lhs = wick_expectation(scalar(w.T * A * w) * scalar(w.T * B * w), list(w))
    assert sp.expand(lhs - quadratic_form_product_mean(A, B)) == 0
    S = symbolic_matrix("S", k, k, symmetric=True)
    lhs_s = wick_expectation(scalar(w.T * S * w) ** 2, list(w))
    assert sp.expand(lhs_s - (trace(S) ** 2 + 2 * trace(S * S))) == 0


@pytest.mark.parametrize("k", DIMS)
def test_wrong_quartic_identity_is_rejected(k):
    """Negative control: dropping tr(AB^T) (or tr(AB)) must be caught at every d, including d = 1."""
    w = symbolic_vector("w", k)
    A, B = symbolic_matrix("A", k, k), symbolic_matrix("B", k, k)
    lhs = wick_expectation(scalar(w.T * A * w) * scalar(w.T * B * w), list(w))
    assert sp.expand(lhs - (trace(A) * trace(B) + trace(A * B))) != 0
    assert sp.expand(lhs - (trace(A) * trace(B) + trace(A * B.T))) != 0
    assert sp.expand(lhs - trace(A) * trace(B)) != 0


def test_identities_accept_symbolic_size():
    assert quadratic_form_product_mean(AS, BS) == sp.Trace(AS) * sp.Trace(BS) + sp.Trace(AS * BS) + sp.Trace(AS * BS.T)
    assert quadratic_form_mean(AS, SS) == sp.Trace(AS * SS)
    with pytest.raises(ValueError):
        quadratic_form_mean(CS)
    with pytest.raises(TypeError):
        trace(3)


# --------------------------------------------------------------------------- general d (matrix level)


def test_matrix_wick_matches_identities_every_d():
    e = canonical_form
    assert matrix_wick_expectation(W.T * AS * W, W) == e(quadratic_form_mean(AS))
    assert matrix_wick_expectation(W.T * AS * W, W, SS, [SS]) == e(quadratic_form_mean(AS, SS), [SS])
    assert matrix_wick_expectation((W.T * AS * W) * (W.T * BS * W), W) == e(quadratic_form_product_mean(AS, BS))
    assert matrix_wick_expectation((W.T * AS * W) * (CS.T * W), W) == 0
    assert matrix_wick_expectation(W.T * W, W) == n  # tr I_d
    # wrong identity rejected at general d
    assert matrix_wick_expectation((W.T * AS * W) * (W.T * BS * W), W) != e(
        sp.Trace(AS) * sp.Trace(BS) + sp.Trace(AS * BS))


def test_matrix_wick_sixth_moment_against_explicit_entries():
    """E (w^T A w)^3 at general d vs Isserlis with explicit entries at d = 1, 2, 3 (15 pairings)."""
    A = AS
    t = sp.Trace
    rhs = (t(A) ** 3 + 3 * t(A) * (t(A * A) + t(A * A.T)) + 2 * t(A * A * A) + 6 * t(A * A * A.T)) * Identity(1)
    lhs = (W.T * A * W) * (W.T * A * W) * (W.T * A * W)
    ok, detail = matrix_expectation_equal(lhs, rhs, [(W, None)])
    assert ok, detail
    ok, detail = explicit_expectation_equal(n, [(W, None)], DIMS)(lhs, rhs)
    assert ok, detail
    wrong = rhs - 2 * t(A * A * A) * Identity(1)
    assert not matrix_expectation_equal(lhs, wrong, [(W, None)])[0]
    assert not explicit_expectation_equal(n, [(W, None)], DIMS)(lhs, wrong)[0]


def test_matrix_expectation_with_covariance_and_scalar_noise():
    x = MatrixSymbol("x", n, 1)
    h = MatrixSymbol("h", n, 1)
    e, s = sp.symbols("e s", real=True)
    lhs = (x.T * h - e * Identity(1)) ** 2
    rhs = h.T * SS * h + s**2 * Identity(1)
    assert matrix_expectation_equal(lhs, rhs, [(x, SS)], [SS], {e: s**2})[0]
    assert explicit_expectation_equal(n, [(x, SS)], DIMS, [SS], {e: s**2})(lhs, rhs)[0]
    assert not matrix_expectation_equal(lhs, h.T * SS * h, [(x, SS)], [SS], {e: s**2})[0]
    assert not explicit_expectation_equal(n, [(x, SS)], DIMS, [SS], {e: s**2})(lhs, h.T * SS * h)[0]
    with pytest.raises(ValueError, match="symmetric"):
        matrix_wick_expectation(x.T * h, x, SS)


def test_matexpr_equal_rules():
    a, x = MatrixSymbol("a", n, 1), MatrixSymbol("x", n, 1)
    # a 1x1 factor equals its transpose and commutes
    assert matexpr_equal((a.T * SS * x) * (x.T * a), (a.T * x) * (a.T * SS * x))[0]
    # needs S symmetric
    assert not matexpr_equal(a.T * SS * x, x.T * SS * a)[0]
    assert matexpr_equal(a.T * SS * x, x.T * SS * a, [SS])[0]
    # traces: cyclic and transpose invariant
    assert matexpr_equal(sp.Trace(AS * BS * SS) * Identity(1), sp.Trace(SS * AS * BS) * Identity(1))[0]
    assert matexpr_equal(sp.Trace(AS * BS) * Identity(1), sp.Trace(BS.T * AS.T) * Identity(1))[0]
    assert not matexpr_equal(sp.Trace(AS * BS * SS) * Identity(1), sp.Trace(BS * AS * SS) * Identity(1))[0]
    # a genuine non-identity is refused
    assert not matexpr_equal((AS + BS) ** 2, AS**2 + 2 * AS * BS + BS**2)[0]
    assert matexpr_equal((AS + BS) ** 2, AS**2 + AS * BS + BS * AS + BS**2)[0]


def test_explicit_at_and_explicit_equal():
    x = MatrixSymbol("x", n, 1)
    assert explicit_at(x.T * SS * x, n, 2, [SS]) == sp.expand(scalar(symbolic_vector("x", 2).T
                                                                      * symbolic_matrix("S", 2, 2, True)
                                                                      * symbolic_vector("x", 2)))
    assert explicit_equal(n, DIMS, [SS])(x.T * SS * CS, CS.T * SS * x)[0]
    assert not explicit_equal(n, DIMS)(x.T * SS * CS, CS.T * SS * x)[0]
    # values substitute matrices and scalars
    b = sp.Symbol("b")
    val = explicit_at(b * (x.T * x), n, 1, values={x: sp.Matrix([[3]]), b: 2})
    assert val == 18
