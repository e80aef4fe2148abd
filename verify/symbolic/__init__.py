"""SymPy helpers: explicit symbolic matrices, Gaussian moments by Isserlis/Wick, and matrix identities.

Three layers, each checkable against the one below it (imports run wick <- matexpr <- entries):

* :mod:`~verify.symbolic.wick` -- :func:`wick_expectation` computes E[p(w)] for a polynomial p and
  w ~ N(0, C) *exactly*, by Isserlis' theorem (sum over pairings; odd moments vanish) -- no integration;
  the moment identities (:func:`quadratic_form_mean`, :func:`quadratic_form_product_mean`, ...) give the
  SymPy expression of a Gaussian moment for explicit matrices *or* symbolic-size ``MatrixSymbol``\\ s (traces);
* :mod:`~verify.symbolic.matexpr` -- general dimension: :func:`canonical_scalar` puts a 1 x 1 matrix
  expression of symbolic size into a canonical commutative form, and :func:`matrix_wick_expectation` applies
  Isserlis' theorem at the level of matrix chains, so an expectation step is checked for *every* d at once;
* :mod:`~verify.symbolic.entries` -- :func:`symbolic_matrix` / :func:`symbolic_vector` build matrices whose
  entries are symbols (``Gamma_0_1``; a symmetric matrix shares it between (0, 1) and (1, 0)), and
  :func:`explicit_at` substitutes d = k and explicit entries, to cross-check the general-d layer against the
  entry-wise one.

>>> import sympy as sp
>>> w0, w1 = sp.symbols("w0 w1")
>>> wick_expectation(w0**4 + w0**2 * w1**2 + w0 * w1, [w0, w1])
4
>>> G = symbolic_matrix("Gamma", 2, 2, symmetric=True)
>>> G[1, 0] == G[0, 1] == sp.Symbol("Gamma_0_1", real=True)
True
>>> wick_expectation(w0**2 * w1**2, [w0, w1], G) == G[0, 0] * G[1, 1] + 2 * G[0, 1]**2   # Isserlis
True
"""

from __future__ import annotations

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
    canonical_scalar,
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

__all__ = [
    "symbolic_matrix",
    "symbolic_vector",
    "lower_triangular",
    "wick_expectation",
    "isserlis_moment",
    "trace",
    "gaussian_mean",
    "gaussian_second_moment",
    "quadratic_form_mean",
    "quadratic_times_linear_mean",
    "quadratic_form_product_mean",
    "canonical_scalar",
    "canonical_form",
    "matexpr_equal",
    "matrix_wick_expectation",
    "explicit_at",
    "explicit_equal",
    "explicit_expectation_equal",
    "matrix_expectation_equal",
]
