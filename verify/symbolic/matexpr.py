"""SymPy helpers: explicit symbolic matrices, Gaussian moments by Isserlis/Wick, and matrix identities.

Three layers, each checkable against the one below it:

* **explicit entries** -- :func:`symbolic_matrix` / :func:`symbolic_vector` build matrices whose entries are
  symbols (``Gamma_0_1``; a symmetric matrix shares ``Gamma_0_1`` between (0, 1) and (1, 0)), and
  :func:`wick_expectation` computes E[p(w)] for a polynomial p and w ~ N(0, C) *exactly*, by Isserlis'
  theorem (sum over pairings; odd moments vanish) -- no integration;
* **matrix identities** (:func:`gaussian_mean`, :func:`gaussian_second_moment`, :func:`quadratic_form_mean`,
  :func:`quadratic_form_product_mean`, :func:`quadratic_times_linear_mean`) return the SymPy expression of a
  Gaussian moment for explicit matrices *or* for symbolic-size ``MatrixSymbol``\\ s (traces);
* **general dimension** -- :func:`canonical_scalar` puts a 1 x 1 matrix expression of symbolic size into a
  canonical commutative form (a 1 x 1 factor commutes with everything and equals its transpose; a trace is
  invariant under cyclic shifts and transposition; declared-symmetric matrices satisfy X^T = X), and
  :func:`matrix_wick_expectation` applies Isserlis' theorem at the level of matrix chains (each pairing of
  the occurrences of x contracts them through the covariance, closing loops into traces), so that an
  expectation step can be checked for *every* d at once.  :func:`explicit_at` substitutes d = k and
  explicit entries, to cross-check the general-d layer against the entry-wise one.

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

import functools
import itertools
from typing import Iterable, Sequence

import sympy as sp
from sympy import Identity, MatrixSymbol, ZeroMatrix
from sympy.matrices.expressions.matexpr import MatrixExpr

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


# ------------------------------------------------------------------------------- explicit matrices


def _check_name(name) -> str:
    if not isinstance(name, str) or not name:
        raise TypeError(f"name: expected a non-empty string, got {name!r}")
    return name


def _check_size(n, what: str) -> int:
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ValueError(f"{what}: expected a positive int, got {n!r}")
    return n


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


# ------------------------------------------------------------------------------ Isserlis / Wick


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


# ------------------------------------------------------------------------------ matrix identities


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

    >>> S = symbolic_matrix("S", 1, 1); quadratic_form_product_mean(S, S)
    3*S_0_0**2
    """
    A, B = _square(A, "A"), _square(B, "B")
    if A.shape != B.shape:
        raise ValueError(f"B: expected shape {A.shape}, got {B.shape}")
    return trace(A) * trace(B) + trace(A * B) + trace(A * B.T)


# --------------------------------------------------------------- general-d canonical forms


def _is_one(n) -> bool:
    return bool(sp.sympify(n) == 1)


def _transpose_factor(f, symmetric: frozenset):
    if isinstance(f, sp.Transpose):
        return f.arg
    if f in symmetric:
        return f
    return f.T


def _plain_transpose(f):
    return f.arg if isinstance(f, sp.Transpose) else f.T


def _expand(M) -> list:
    """``M`` as a list of (scalar coefficient, [matrix factors]) -- distributing products over sums.

    Our own expansion (SymPy's ``expand`` leaves powers of sums alone): sums are concatenated, products
    and positive integer powers distributed, transposes pushed onto the symbols, identities dropped.
    """
    if isinstance(M, ZeroMatrix):
        return []
    if isinstance(M, Identity):
        return [(sp.Integer(1), [])]
    if isinstance(M, MatrixSymbol):
        return [(sp.Integer(1), [M])]
    if isinstance(M, sp.MatAdd):
        return [t for a in M.args for t in _expand(a)]
    if isinstance(M, sp.MatMul):
        coeff = sp.Mul(*[a for a in M.args if not getattr(a, "is_Matrix", False)])
        out = [(coeff, [])]
        for a in M.args:
            if getattr(a, "is_Matrix", False):
                out = [(c1 * c2, f1 + f2) for c1, f1 in out for c2, f2 in _expand(a)]
        return out
    if isinstance(M, sp.MatPow):
        base, k = M.args
        if not (k.is_Integer and k > 0):
            raise ValueError(f"expr: cannot expand the power {M}")
        terms = _expand(base)
        out = [(sp.Integer(1), [])]
        for _ in range(int(k)):
            out = [(c1 * c2, f1 + f2) for c1, f1 in out for c2, f2 in terms]
        return out
    if isinstance(M, sp.Transpose):
        if isinstance(M.arg, MatrixSymbol):
            return [(sp.Integer(1), [M])]
        return [(c, [_plain_transpose(f) for f in reversed(fs)]) for c, fs in _expand(M.arg)]
    if isinstance(M, sp.BlockMatrix):
        C = _collapse(M)
        if C is M or isinstance(C, sp.BlockMatrix):
            raise ValueError(f"expr: cannot collapse the block matrix {M}")
        return _expand(C)
    raise ValueError(f"expr: cannot expand the matrix expression {M} ({type(M).__name__})")


def _terms(M) -> list:
    """``M`` (a matrix expression) as a list of (scalar coefficient, [matrix factors]), zero terms dropped."""
    if isinstance(M, sp.MatrixBase):
        raise TypeError("expr: expected a symbolic-size matrix expression, got an explicit matrix")
    return [(c, f) for c, f in _expand(_collapse(M)) if c != 0]


def _key(factors: Sequence) -> str:
    return " ".join(str(f) for f in factors) if factors else "1"


def _segment_symbol(seg: Sequence, symmetric: frozenset) -> sp.Symbol:
    """A 1 x 1 chain r^T ... c as a commutative symbol, invariant under transposition."""
    tr = [_transpose_factor(f, symmetric) for f in reversed(seg)]
    return sp.Symbol("<" + min(_key(seg), _key(tr)) + ">")


def _trace_symbol(chain: Sequence, symmetric: frozenset):
    """tr(chain) as a commutative symbol, invariant under cyclic shifts and transposition."""
    if not chain:
        raise ValueError("expr: trace of an empty chain (tr I_d) is not supported; write the dimension explicitly")
    tr = [_transpose_factor(f, symmetric) for f in reversed(chain)]
    n = len(chain)
    cands = [_key(c[k:] + c[:k]) for c in (list(chain), tr) for k in range(n)]
    return sp.Symbol("tr(" + min(cands) + ")")


def _split(factors: Sequence, symmetric: frozenset):
    """Leftmost-shortest 1 x 1 blocks (each a commuting scalar) and the remaining chain."""
    factors = [f.arg if isinstance(f, sp.Transpose) and f.arg in symmetric else f for f in factors]
    segs, rest = [], []
    i, n = 0, len(factors)
    while i < n:
        if _is_one(factors[i].shape[0]):
            j = i
            while not _is_one(factors[j].shape[1]):
                j += 1
                if j == n:
                    raise ValueError(f"expr: malformed product {_key(factors)}")
            segs.append(factors[i:j + 1])
            i = j + 1
        else:
            rest.append(factors[i])
            i += 1
    return segs, rest


def _canon_coeff(c, symmetric: frozenset):
    """Canonicalise the traces inside a scalar coefficient."""
    c = sp.sympify(c)
    if not c.has(sp.Trace):
        return c

    def repl(t):
        inner = t.arg
        total = sp.Integer(0)
        for coeff, factors in _terms(inner):
            rows = [k for k, f in enumerate(factors) if _is_one(f.shape[0])]
            if rows:  # cyclicity: start the chain at a row vector, so that it splits into 1 x 1 blocks
                factors = factors[rows[0]:] + factors[:rows[0]]
            segs, rest = _split(factors, symmetric)
            val = _canon_coeff(coeff, symmetric)
            for s in segs:
                val *= _segment_symbol(s, symmetric)
            if rest:
                val *= _trace_symbol(rest, symmetric)
            total += val
        return total

    return c.replace(lambda e: isinstance(e, sp.Trace), repl)


def canonical_form(expr, symmetric: Iterable = ()):
    """A commutative SymPy expression equal to ``expr`` up to the rules of matrix algebra.

    Rules used: linearity; a 1 x 1 factor commutes with everything and equals its transpose; traces are
    cyclic and transpose-invariant; X^T = X for X in ``symmetric``.  Two matrix expressions whose canonical
    forms agree are equal for every size.  For a non-scalar expression the residual (non-1x1) chain of
    each term is kept in order.

    >>> d = sp.Symbol("d", integer=True, positive=True)
    >>> x, y = MatrixSymbol("x", d, 1), MatrixSymbol("y", d, 1); S = MatrixSymbol("S", d, d)
    >>> canonical_form(x.T * S * y, [S]) == canonical_form(y.T * S * x, [S])
    True
    >>> canonical_form(x.T * S * y) == canonical_form(y.T * S * x)
    False
    """
    sym = frozenset(symmetric)
    if not isinstance(expr, MatrixExpr):
        return sp.expand(_canon_coeff(expr, sym))
    total = sp.Integer(0)
    for coeff, factors in _terms(expr):
        segs, rest = _split(factors, sym)
        val = _canon_coeff(coeff, sym)
        for s in segs:
            val *= _segment_symbol(s, sym)
        if rest:
            val *= sp.Symbol("[" + _key(rest) + "]")
        total += val
    return sp.expand(total)


def canonical_scalar(expr, symmetric: Iterable = ()):
    """:func:`canonical_form` of a scalar or 1 x 1 matrix expression (``ValueError`` for other shapes)."""
    if isinstance(expr, MatrixExpr) and not (_is_one(expr.shape[0]) and _is_one(expr.shape[1])):
        raise ValueError(f"expr: expected a scalar or 1 x 1 expression, got shape {expr.shape}")
    return canonical_form(expr, symmetric)


def matexpr_equal(lhs, rhs, symmetric: Iterable = ()) -> tuple[bool, str]:
    """Check lhs = rhs for symbolic-size matrix expressions (every d): block products collapsed, then canonical forms.

    Returns ``(ok, detail)`` -- the signature of a derivation relation's test.

    >>> d = sp.Symbol("d", integer=True, positive=True)
    >>> a, x = MatrixSymbol("a", d, 1), MatrixSymbol("x", d, 1); S = MatrixSymbol("S", d, d)
    >>> matexpr_equal((a.T * S * x) * (x.T * a), (a.T * x) * (x.T * S * a))[0]
    False
    >>> matexpr_equal((a.T * S * x) * (x.T * a), (a.T * x) * (x.T * S * a), [S])[0]
    True
    """
    sym = frozenset(symmetric)
    lhs, rhs = _collapse(lhs), _collapse(rhs)
    ls, rs = getattr(lhs, "shape", ()), getattr(rhs, "shape", ())
    if ls and rs and ls != rs:
        return False, f"shapes differ: {ls} vs {rs}"
    if isinstance(lhs, MatrixExpr) and isinstance(rhs, MatrixExpr):
        native = sp.expand((lhs - rhs).doit()).doit()
        if isinstance(native, ZeroMatrix) or native == 0:
            return True, "SymPy's matrix algebra reduces lhs - rhs to 0 (every d)"
    diff = sp.expand(canonical_form(lhs, sym) - canonical_form(rhs, sym))
    if diff == 0:
        n = len(sp.Add.make_args(canonical_form(lhs, sym)))
        return True, (f"canonical forms agree for every d ({n} terms; 1x1 factors commute and equal their "
                      f"transposes{', ' + ', '.join(map(str, sorted(sym, key=str))) + ' symmetric' if sym else ''})")
    shown = str(diff)
    return False, f"canonical forms differ by {shown[:300]}{'...' if len(shown) > 300 else ''}"


def _collapse(e):
    if isinstance(e, MatrixExpr) and e.has(sp.BlockMatrix):
        e = sp.block_collapse(e)
        if isinstance(e, sp.BlockMatrix) and e.blockshape == (1, 1):
            e = e.blocks[0, 0]
    return e


# --------------------------------------------------------------- matrix-level Wick (every d)


def _is_x(f, x) -> bool:
    return f == x


def _is_xT(f, x) -> bool:
    return isinstance(f, sp.Transpose) and f.arg == x


def matrix_wick_expectation(expr, x: MatrixSymbol, cov=None, symmetric: Iterable = ()):
    """E_x[expr] for x ~ N(0, C) of symbolic size, at the level of matrix chains (every d): canonical form.

    ``expr`` is a scalar / 1 x 1 expression, polynomial in the column ``x`` (``MatrixSymbol(n, 1)``); ``cov`` is a
    symmetric ``MatrixSymbol`` C (declare it in ``symmetric``) or None for C = I.  After expansion each term is
    a product of 1 x 1 chains r^T M ... c in which x can only be an end (x^T ... or ... x).  Isserlis' theorem
    sums over the pairings of these ends; a pair contracts through C, so the chains join into longer chains
    (e.g. (a^T x)(x^T b) -> a^T C b) and closed loops become traces ((x^T A x) -> tr(A C)).  Odd numbers of
    ends give 0.  The result is the canonical form of :func:`canonical_form` (commutative symbols).

    >>> d = sp.Symbol("d", integer=True, positive=True)
    >>> w, A, B = MatrixSymbol("w", d, 1), MatrixSymbol("A", d, d), MatrixSymbol("B", d, d)
    >>> lhs = matrix_wick_expectation((w.T * A * w) * (w.T * B * w), w)
    >>> lhs == canonical_form(quadratic_form_product_mean(A, B))
    True
    """
    sym = frozenset(symmetric)
    if not isinstance(x, MatrixSymbol) or not _is_one(x.shape[1]):
        raise TypeError(f"x: expected a column MatrixSymbol, got {x!r}")
    if cov is not None and cov not in sym:
        raise ValueError("cov: declare the covariance symmetric (pass it in `symmetric`)")
    expr = _collapse(expr)
    if not isinstance(expr, MatrixExpr):
        if expr.has(x):
            raise ValueError("expr: x inside a trace or scalar function is not supported")
        return canonical_form(expr, sym)
    total = sp.Integer(0)
    for coeff, factors in _terms(expr):
        if sp.sympify(coeff).has(x):
            raise ValueError("expr: x inside a trace is not supported")
        segs, rest = _split(factors, sym)
        if rest:
            raise ValueError(f"expr: expected a scalar expression, found the chain {_key(rest)}")
        fixed, chains = [], []
        for s in segs:
            left, right = _is_xT(s[0], x), _is_x(s[-1], x)
            inner = s[1 if left else 0: len(s) - 1 if right else len(s)]
            if any(f == x or _is_xT(f, x) for f in inner):
                raise ValueError(f"expr: x inside the chain {_key(s)}")
            if left or right:
                chains.append((inner, left, right))
            else:
                fixed.append(_segment_symbol(s, sym))
        ends = [(k, side) for k, (_, l, r) in enumerate(chains) for side, has in (("L", l), ("R", r)) if has]
        if len(ends) % 2:
            continue
        base = _canon_coeff(coeff, sym) * sp.Mul(*fixed)
        for pairing in _pairings(ends):
            total += base * _contract(chains, pairing, cov, sym, x.shape[0])
    return sp.expand(total)


def _pairings(items: list):
    if not items:
        yield []
        return
    first, rest = items[0], items[1:]
    for k in range(len(rest)):
        for tail in _pairings(rest[:k] + rest[k + 1:]):
            yield [(first, rest[k])] + tail


def _contract(chains, pairing, cov, sym, dim):
    """The product of the open chains and closed loops created by one pairing of the ends of x."""
    partner = {}
    for p, q in pairing:
        partner[p], partner[q] = q, p
    visited = set()
    value = sp.Integer(1)
    cov_f = [] if cov is None else [cov]

    def walk(k, entry):
        """Traverse chain k entering at side ``entry``; return its factors in the walking direction and the exit side."""
        inner = chains[k][0]
        if entry == "L":
            return list(inner), "R"
        return [_transpose_factor(f, sym) for f in reversed(inner)], "L"

    def ports(k):
        _, l, r = chains[k]
        return {"L": l, "R": r}

    # open chains: start at a chain end that is not x
    for k in range(len(chains)):
        for side in ("L", "R"):
            if ports(k)[side] or k in visited:
                continue
            seq, cur, entry = [], k, side
            while True:
                visited.add(cur)
                part, exit_side = walk(cur, entry)
                seq += part
                if not ports(cur)[exit_side]:
                    break
                nxt = partner[(cur, exit_side)]
                seq += cov_f
                cur, entry = nxt
            value *= _segment_symbol(seq, sym)
    # closed loops
    for k in range(len(chains)):
        if k in visited:
            continue
        seq, cur, entry = [], k, "L"
        while True:
            visited.add(cur)
            part, exit_side = walk(cur, entry)
            seq += part
            nxt = partner[(cur, exit_side)]
            seq += cov_f
            cur, entry = nxt
            if cur == k:
                break
        value *= _trace_symbol(seq, sym) if seq else dim  # an empty loop is tr(I_d) = d
    return value


def matrix_expectation_equal(lhs, rhs, randoms: Sequence, symmetric: Iterable = (),
                             scalar_randoms: dict | None = None) -> tuple[bool, str]:
    """Check E[lhs] = rhs at every d: expectations by :func:`matrix_wick_expectation` over each random vector.

    ``randoms`` is a sequence of ``(x, cov)`` (cov None = identity), taken in turn (independent vectors);
    ``scalar_randoms`` maps a scalar symbol to its variance (independent centred Gaussians).  The test
    compares canonical forms, so it holds for every dimension.
    """
    sym = frozenset(symmetric)
    e = _collapse(lhs)
    for var, var_cov in (scalar_randoms or {}).items():
        e = _scalar_wick_matrix(e, var, var_cov)
    # the canonical form is commutative symbols, so a second vector cannot be integrated afterwards:
    # one random vector per step (independent vectors: successive steps).
    if len(randoms) != 1:
        raise ValueError("randoms: give exactly one random vector per step (take expectations one at a time)")
    x, cov = randoms[0]
    left = matrix_wick_expectation(e, x, cov, sym)
    right = canonical_form(_collapse(rhs), sym)
    diff = sp.expand(left - right)
    if diff == 0:
        return True, (f"E over {x} ~ N(0, {cov if cov is not None else 'I'}) by matrix-level Isserlis, every d: "
                      f"{len(sp.Add.make_args(left))} canonical terms agree")
    shown = str(diff)
    return False, f"E[lhs] - rhs = {shown[:300]}{'...' if len(shown) > 300 else ''}"


def _scalar_wick_matrix(e, var: sp.Symbol, variance):
    """Replace the polynomial dependence on the scalar centred Gaussian ``var`` by its moments (term by term)."""
    if not isinstance(e, MatrixExpr):
        return wick_expectation(e, [var], [[variance]])
    out = []
    for coeff, factors in _terms(e):
        c = wick_expectation(coeff, [var], [[variance]])
        if c != 0:
            out.append(c * sp.MatMul(*factors) if factors else c * Identity(1))
    if not out:
        return ZeroMatrix(*e.shape)
    return sp.MatAdd(*out)


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
