"""Gaussian moments by Isserlis/Wick, exactly: E[p(w)] for a polynomial p and w ~ N(0, C), no integration.

:func:`wick_expectation` expands p into monomials and sums, for each, over the pairings of its factors
(:func:`isserlis_moment`; odd moments vanish).  The moment identities (:func:`gaussian_mean`,
:func:`gaussian_second_moment`, :func:`quadratic_form_mean`, :func:`quadratic_times_linear_mean`,
:func:`quadratic_form_product_mean`) return the SymPy expression of a Gaussian moment for explicit matrices
*or* for symbolic-size ``MatrixSymbol``\\ s (traces, :func:`trace`).  This is the bottom layer of
:mod:`verify.symbolic`: it imports neither :mod:`~verify.symbolic.matexpr` nor :mod:`~verify.symbolic.entries`.

>>> w0, w1, c = sp.symbols("w0 w1 c")
>>> wick_expectation(w0**2 * w1**2, [w0, w1], [[1, c], [c, 1]])   # 1*1 + 2 c^2
2*c**2 + 1
>>> A = sp.Matrix([[1, 2], [3, 4]]); quadratic_form_mean(A)   # E[w^T A w] = tr A
5
"""

from __future__ import annotations

import functools
import itertools
from typing import Sequence

import sympy as sp
from sympy import ZeroMatrix
from sympy.matrices.expressions.matexpr import MatrixExpr

__all__ = [
    "wick_expectation",
    "isserlis_moment",
    "trace",
    "gaussian_mean",
    "gaussian_second_moment",
    "quadratic_form_mean",
    "quadratic_times_linear_mean",
    "quadratic_form_product_mean",
]


# ------------------------------------------------------------------------------ Isserlis / Wick


def _check_size(n, what: str) -> int:
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ValueError(f"{what}: expected a positive int, got {n!r}")
    return n


def _variables(variables) -> list:
    if isinstance(variables, sp.MatrixBase):
        variables = list(variables)
    try:
        variables = list(variables)
    except TypeError:
        raise TypeError(f"variables: expected a sequence of symbols, got {type(variables).__name__}") from None
    if not variables:
        raise ValueError("variables: need at least one variable")
    for v in variables:
        if not isinstance(v, sp.Symbol):
            raise TypeError(f"variables: expected SymPy symbols, got {v!r} ({type(v).__name__})")
    if len(set(variables)) != len(variables):
        raise ValueError("variables: contains a repeated symbol")
    return variables


def _covariance(cov, n: int):
    if cov is None:
        return None
    if not isinstance(cov, sp.MatrixBase):
        try:
            cov = sp.Matrix(cov)
        except (TypeError, ValueError) as exc:
            raise TypeError(f"cov: expected a square matrix ({exc})") from None
    if cov.shape != (n, n):
        raise ValueError(f"cov: expected shape ({n}, {n}) for {n} variables, got {cov.shape}")
    for i in range(n):
        for j in range(i + 1, n):
            if sp.expand(cov[i, j] - cov[j, i]) != 0:
                raise ValueError(f"cov: covariance must be symmetric (entry ({i}, {j}) != entry ({j}, {i}))")
    return sp.ImmutableMatrix(cov)


def _double_factorial_odd(k: int) -> int:
    """(k - 1)!! for even k: E[g^k], g ~ N(0, 1)."""
    out = 1
    for m in range(k - 1, 0, -2):
        out *= m
    return out


def isserlis_moment(indices: Sequence[int], cov=None):
    """E[w_{i_1} ... w_{i_n}] for w ~ N(0, C): the sum over pairings of the product of C_{ab} (Isserlis).

    Computed by the recursion E[w_i w_R] = sum_{j in R} C_{ij} E[w_{R minus j}] (equal indices grouped,
    memoised on the sorted multiset); 0 for odd n; ``cov=None`` means C = I, where the moment is
    prod_i (k_i - 1)!! for even multiplicities k_i.

    >>> isserlis_moment([0, 0, 0, 0]), isserlis_moment([0, 1]), isserlis_moment([0, 0, 1, 1])
    (3, 0, 1)
    >>> from verify.symbolic import symbolic_matrix
    >>> C = symbolic_matrix("C", 2, 2, symmetric=True)
    >>> isserlis_moment([0, 0, 0, 1], C)
    3*C_0_0*C_0_1
    """
    idx = tuple(sorted(int(i) for i in indices))
    if len(idx) % 2:
        return sp.Integer(0)
    if cov is None:
        out = 1
        for _, grp in itertools.groupby(idx):
            k = len(list(grp))
            if k % 2:
                return sp.Integer(0)
            out *= _double_factorial_odd(k)
        return sp.Integer(out)
    cov = sp.ImmutableMatrix(cov)
    return _isserlis(idx, cov)


@functools.lru_cache(maxsize=4096)
def _isserlis(idx: tuple, cov: sp.ImmutableMatrix):
    if not idx:
        return sp.Integer(1)
    if len(idx) % 2:
        return sp.Integer(0)
    i, rest = idx[0], list(idx[1:])
    total = sp.Integer(0)
    for j in sorted(set(rest)):
        c = cov[i, j]
        if c == 0:
            continue
        mult = rest.count(j)
        remaining = list(rest)
        remaining.remove(j)
        total += mult * c * _isserlis(tuple(remaining), cov)
    return total


def wick_expectation(poly, variables, cov=None):
    """E[poly(w)] for w ~ N(0, cov) (``cov=None``: identity), exactly, by Isserlis' theorem.

    ``poly`` is a SymPy expression polynomial in ``variables`` (other symbols are constants), or a matrix of
    them (entry-wise).  It is expanded into monomials c_k w^k and each moment E[w^k] is the sum over the
    pairings of the factors (:func:`isserlis_moment`); odd moments vanish.  No integration is involved.
    With rational coefficients the expansion runs in a sparse polynomial ring (fast); otherwise through
    ``sympy.Poly``.

    >>> x, y, a = sp.symbols("x y a")
    >>> wick_expectation((a * x + y) ** 2, [x, y])
    a**2 + 1
    >>> wick_expectation(x**2 * y**2, [x, y], [[2, 1], [1, 3]])   # 2*3 + 2*1^2
    8
    >>> wick_expectation(sp.sin(x), [x])
    Traceback (most recent call last):
    ...
    ValueError: poly: not a polynomial in the variables [x]: sin(x)
    """
    variables = _variables(variables)
    cov = _covariance(cov, len(variables))
    if isinstance(poly, sp.MatrixBase):
        return poly.applyfunc(lambda e: wick_expectation(e, variables, cov))
    expr = sp.sympify(poly)
    ring = _ring_for([expr] + ([] if cov is None else list(cov)), variables)
    if ring is not None:
        try:
            P = ring.from_expr(expr)
        except (ValueError, TypeError):
            P = None
        if P is not None:
            return sp.expand(_ring_expectation(ring, P, len(variables), cov).as_expr())
    try:
        P = sp.Poly(expr, *variables)
    except sp.PolynomialError:
        raise ValueError(f"poly: not a polynomial in the variables {variables}: {expr}") from None
    if any(v in c.free_symbols for c in P.coeffs() for v in variables):
        raise ValueError(f"poly: not a polynomial in the variables {variables}: {expr}")
    total = sp.Integer(0)
    for monom, coeff in P.terms():
        indices = [k for k, e in enumerate(monom) for _ in range(e)]
        m = isserlis_moment(indices, cov)
        if m != 0:
            total += coeff * m
    return sp.expand(total)


def _ring_for(exprs: Sequence, variables: Sequence):
    """The sparse polynomial ring over QQ in ``variables`` then every other free symbol (None if not applicable)."""
    others = set()
    for e in exprs:
        others |= sp.sympify(e).free_symbols
    others -= set(variables)
    if any(not isinstance(o, sp.Symbol) for o in others):
        return None
    gens = list(variables) + sorted(others, key=str)
    return sp.ring(gens, sp.QQ)[0]


def _ring_expectation(ring, P, nv: int, cov):
    """Isserlis on a ring element P whose first ``nv`` generators are the Gaussian variables."""
    groups: dict = {}
    for monom, coeff in P.terms():
        groups.setdefault(monom[:nv], {})[(0,) * nv + monom[nv:]] = coeff
    total = ring.zero
    for rexp, rest in groups.items():
        indices = [k for k, e in enumerate(rexp) for _ in range(e)]
        m = isserlis_moment(indices, cov)
        if m == 0:
            continue
        total += ring.from_dict(rest) * ring.from_expr(m)
    return total


# ------------------------------------------------------------------------------ moment identities


def trace(X):
    """tr X: ``X.trace()`` for an explicit matrix, ``Trace(X)`` for a symbolic-size one."""
    if isinstance(X, sp.MatrixBase):
        return X.trace()
    if isinstance(X, MatrixExpr):
        return sp.Trace(X)
    raise TypeError(f"X: expected a matrix, got {type(X).__name__}")


def _square(X, name: str):
    if not isinstance(X, (sp.MatrixBase, MatrixExpr)):
        raise TypeError(f"{name}: expected a SymPy matrix or matrix expression, got {type(X).__name__}")
    if X.shape[0] != X.shape[1]:
        raise ValueError(f"{name}: expected a square matrix, got shape {X.shape}")
    return X


def gaussian_mean(n):
    """E[w] = 0 for w ~ N(0, C): the zero column of size n (an int, or a SymPy size for ``ZeroMatrix``).

    >>> gaussian_mean(2).T
    Matrix([[0, 0]])
    """
    if isinstance(n, int):
        return sp.zeros(_check_size(n, "n"), 1)
    return ZeroMatrix(n, 1)


def gaussian_second_moment(cov):
    """E[w w^T] = C for w ~ N(0, C) (C = I_d for the standard Gaussian).

    >>> gaussian_second_moment(sp.eye(2))
    Matrix([
    [1, 0],
    [0, 1]])
    """
    return _square(cov, "cov")


def quadratic_form_mean(A, cov=None):
    """E[w^T A w] = tr(A C) for w ~ N(0, C); tr A when ``cov`` is None (C = I).

    >>> from verify.symbolic import symbolic_matrix
    >>> A = symbolic_matrix("A", 2, 2); quadratic_form_mean(A)
    A_0_0 + A_1_1
    """
    A = _square(A, "A")
    return trace(A) if cov is None else trace(A * _square(cov, "cov"))


def quadratic_times_linear_mean(A, c):
    """E[(w^T A w)(c^T w)] = 0 for centred Gaussian w: an odd moment.

    >>> quadratic_times_linear_mean(sp.eye(2), sp.ones(2, 1))
    0
    """
    _square(A, "A")
    if c.shape[1] != 1 or c.shape[0] != A.shape[0]:
        raise ValueError(f"c: expected a column of size {A.shape[0]}, got shape {c.shape}")
    return sp.Integer(0)


def quadratic_form_product_mean(A, B):
    """E[(w^T A w)(w^T B w)] = tr(A) tr(B) + tr(AB) + tr(AB^T) for w ~ N(0, I_d).

    Isserlis on w_i w_j w_k w_l: the pairing (ij)(kl) gives tr A tr B, (ik)(jl) gives tr(A B^T),
    (il)(jk) gives tr(A B).  For symmetric A = B = Sigma: (tr Sigma)^2 + 2 tr(Sigma^2).

    >>> from verify.symbolic import symbolic_matrix
    >>> S = symbolic_matrix("S", 1, 1); quadratic_form_product_mean(S, S)
    3*S_0_0**2
    """
    A, B = _square(A, "A"), _square(B, "B")
    if A.shape != B.shape:
        raise ValueError(f"B: expected shape {A.shape}, got {B.shape}")
    return trace(A) * trace(B) + trace(A * B) + trace(A * B.T)
