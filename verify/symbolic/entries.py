"""Explicit symbolic matrices, and the cross-check of the general-d layer against explicit entries.

:func:`symbolic_matrix` / :func:`symbolic_vector` / :func:`lower_triangular` build matrices whose entries are
real symbols (``Gamma_0_1``; a symmetric matrix shares ``Gamma_0_1`` between (0, 1) and (1, 0)).
:func:`explicit_at` substitutes d = k and such entries into a symbolic-size expression of
:mod:`~verify.symbolic.matexpr`; :func:`explicit_equal` and :func:`explicit_expectation_equal` (Isserlis by
:mod:`~verify.symbolic.wick` on every monomial) are relation tests at d = 1, 2, 3 -- evidence, not a proof for
general d.  The top layer: imports :mod:`~verify.symbolic.wick` and :mod:`~verify.symbolic.matexpr`.

>>> G = symbolic_matrix("Gamma", 2, 2, symmetric=True)
>>> G[1, 0] == G[0, 1] == sp.Symbol("Gamma_0_1", real=True)
True
>>> d = sp.Symbol("d", integer=True, positive=True); x = MatrixSymbol("x", d, 1)
>>> explicit_at(x.T * x, d, 2)
x_0**2 + x_1**2
"""

from __future__ import annotations

from typing import Iterable, Sequence

import sympy as sp
from sympy import Identity, MatrixSymbol, ZeroMatrix
from sympy.matrices.expressions.matexpr import MatrixExpr

from verify.symbolic.matexpr import _collapse, _is_one
from verify.symbolic.wick import _check_size, _ring_expectation, _ring_for

__all__ = [
    "symbolic_matrix",
    "symbolic_vector",
    "lower_triangular",
    "explicit_at",
    "explicit_equal",
    "explicit_expectation_equal",
]


# ------------------------------------------------------------------------------- explicit matrices


def _check_name(name) -> str:
    if not isinstance(name, str) or not name:
        raise TypeError(f"name: expected a non-empty string, got {name!r}")
    return name


def symbolic_matrix(name: str, rows: int, cols: int, symmetric: bool = False) -> sp.ImmutableMatrix:
    """The ``rows x cols`` matrix of real symbols ``name_i_j``; symmetric: entry (j, i) reuses ``name_i_j``, i <= j.

    >>> symbolic_matrix("A", 2, 2)
    Matrix([
    [A_0_0, A_0_1],
    [A_1_0, A_1_1]])
    >>> S = symbolic_matrix("S", 3, 3, symmetric=True); S == S.T, len(S.free_symbols)
    (True, 6)
    >>> symbolic_matrix("A", 2, 3, symmetric=True)
    Traceback (most recent call last):
    ...
    ValueError: symmetric: a symmetric matrix must be square, got 2 x 3
    """
    name = _check_name(name)
    rows, cols = _check_size(rows, "rows"), _check_size(cols, "cols")
    if symmetric and rows != cols:
        raise ValueError(f"symmetric: a symmetric matrix must be square, got {rows} x {cols}")

    def entry(i, j):
        if symmetric and i > j:
            i, j = j, i
        return sp.Symbol(f"{name}_{i}_{j}", real=True)

    return sp.ImmutableMatrix(rows, cols, lambda i, j: entry(i, j))


def symbolic_vector(name: str, n: int) -> sp.ImmutableMatrix:
    """The column vector (``name_0``, ..., ``name_{n-1}``)^T of real symbols.

    >>> symbolic_vector("w", 3).T
    Matrix([[w_0, w_1, w_2]])
    """
    name = _check_name(name)
    n = _check_size(n, "n")
    return sp.ImmutableMatrix(n, 1, lambda i, j: sp.Symbol(f"{name}_{i}", real=True))


def lower_triangular(name: str, n: int) -> sp.ImmutableMatrix:
    """A lower-triangular matrix of real symbols ``name_i_j`` (i >= j): a symbolic Cholesky factor C, Sigma = C C^T.

    >>> lower_triangular("C", 2)
    Matrix([
    [C_0_0,     0],
    [C_1_0, C_1_1]])
    """
    name = _check_name(name)
    n = _check_size(n, "n")
    return sp.ImmutableMatrix(n, n, lambda i, j: sp.Symbol(f"{name}_{i}_{j}", real=True) if i >= j else 0)


# --------------------------------------------------------------- explicit cross-check (d = k)


def explicit_at(expr, dim: sp.Symbol, k: int, symmetric: Iterable = (), values: dict | None = None,
                expand: bool = True):
    """``expr`` at d = k with explicit entries: each ``MatrixSymbol`` X becomes ``symbolic_matrix(X.name, ...)``
    (``symbolic_vector`` for columns; symmetric for X in ``symmetric``) unless ``values`` gives it.

    ``values`` maps a ``MatrixSymbol`` (or its name) to an explicit matrix and a scalar ``Symbol`` to a number.
    Returns a SymPy scalar for 1 x 1 results, else an explicit matrix.

    >>> d = sp.Symbol("d", integer=True, positive=True)
    >>> x, S = MatrixSymbol("x", d, 1), MatrixSymbol("S", d, d)
    >>> explicit_at(x.T * S * x, d, 1, [S])
    S_0_0*x_0**2
    """
    sym_names = {s.name for s in symmetric}
    scalars = {s: sp.sympify(v) for s, v in (values or {}).items() if isinstance(s, sp.Symbol)}
    values = {(s.name if isinstance(s, MatrixSymbol) else s): v for s, v in (values or {}).items()
              if not isinstance(s, sp.Symbol)}
    e = _collapse(expr)
    rep = {}
    for m in (e.atoms(MatrixSymbol) if isinstance(e, sp.Basic) else ()):
        r, c = (sp.sympify(n).subs(dim, k) for n in m.shape)
        if not (r.is_Integer and c.is_Integer):
            raise ValueError(f"dim: {m} still has symbolic shape {m.shape} after d = {k}")
        column = _is_one(m.shape[1])  # a column for every d, not only at d = 1
        if m.name in values:
            val = sp.ImmutableMatrix(values[m.name])
        elif column:
            val = symbolic_vector(m.name, int(r))
        else:
            val = symbolic_matrix(m.name, int(r), int(c), symmetric=m.name in sym_names)
        rep[MatrixSymbol(m.name, r, c)] = val
    e = e.subs(dim, k) if isinstance(e, sp.Basic) else e
    if isinstance(e, sp.Basic):
        for m in e.atoms(Identity):
            rep[m] = sp.ImmutableMatrix(sp.eye(int(m.rows)))
        for m in e.atoms(ZeroMatrix):
            rep[m] = sp.ImmutableMatrix(sp.zeros(int(m.rows), int(m.cols)))
    e = e.xreplace(rep)
    if scalars:
        e = e.xreplace(scalars)
    if isinstance(e, MatrixExpr):
        e = e.doit()
        e = e.as_explicit() if not isinstance(e, sp.MatrixBase) else e
        e = e.applyfunc(lambda t: t.doit())
    elif isinstance(e, sp.Basic):
        e = e.doit()
    ex = sp.expand if expand else (lambda t: t)
    if isinstance(e, sp.MatrixBase) and e.shape == (1, 1):
        return ex(e[0, 0])
    if isinstance(e, sp.MatrixBase):
        return e.applyfunc(ex)
    return ex(e)


def explicit_equal(dim: sp.Symbol, dims: Sequence[int] = (1, 2, 3), symmetric: Iterable = (),
                   values=None):
    """A relation test: lhs = rhs with explicit symbolic entries at d = k for each k in ``dims``.

    ``values`` (optional) maps k to a dict {MatrixSymbol: explicit matrix} (e.g. random rational entries).
    """
    symmetric = tuple(symmetric)

    def test(lhs, rhs):
        for k in dims:
            vals = values(k) if callable(values) else (values or {}).get(k)
            left, right = explicit_at(lhs, dim, k, symmetric, vals), explicit_at(rhs, dim, k, symmetric, vals)
            diff = sp.expand(left - right)
            zero = diff.is_zero_matrix if isinstance(diff, sp.MatrixBase) else diff == 0
            if not zero:
                return False, f"d = {k}: lhs - rhs = {str(diff)[:200]}"
        return True, f"explicit entries agree at d = {', '.join(map(str, dims))} (not a proof for general d)"

    return test


def explicit_expectation_equal(dim: sp.Symbol, randoms: Sequence, dims: Sequence[int] = (1, 2, 3),
                               symmetric: Iterable = (), scalar_randoms: dict | None = None, values=None):
    """A relation test: E[lhs] = rhs at d = k (k in ``dims``) with explicit entries, E by :func:`wick_expectation`.

    ``randoms``: sequence of ``(x, cov)`` with x a column ``MatrixSymbol`` of size d and cov a ``MatrixSymbol``
    (or None for I); independent, jointly Gaussian with block-diagonal covariance.  ``scalar_randoms``:
    {symbol: variance}.
    """
    symmetric = tuple(symmetric)

    def test(lhs, rhs):
        for k in dims:
            vals = values(k) if callable(values) else (values or {}).get(k)
            left = explicit_at(lhs, dim, k, symmetric, vals, expand=False)
            right = explicit_at(rhs, dim, k, symmetric, vals, expand=False)
            variables, blocks = [], []
            for x, cov in randoms:
                variables += list(symbolic_vector(x.name, k))
                if cov is None:
                    blocks.append(sp.eye(k))
                else:
                    c = explicit_at(cov, dim, k, symmetric, vals)
                    blocks.append(c if isinstance(c, sp.MatrixBase) else sp.Matrix([[c]]))
            for sym_, var in (scalar_randoms or {}).items():
                variables.append(sym_)
                blocks.append(sp.Matrix([[var]]))
            C = sp.ImmutableMatrix(sp.diag(*blocks))
            ring = _ring_for([left, right] + list(C), variables)
            if ring is None:
                raise ValueError("lhs: explicit entries are not polynomials with rational coefficients")
            E = _ring_expectation(ring, ring.from_expr(left), len(variables), C)
            diff = E - ring.from_expr(right)
            if diff != 0:
                return False, f"d = {k}: E[lhs] - rhs = {str(diff.as_expr())[:200]}"
        return True, (f"Isserlis expectation with explicit entries agrees at d = {', '.join(map(str, dims))} "
                      f"(not a proof for general d)")

    return test
