"""Matrix-expression algebra of symbolic size: identities and Gaussian expectations checked for *every* d.

:func:`canonical_form` / :func:`canonical_scalar` put a matrix expression built from ``MatrixSymbol``\\ s of
size d into a canonical commutative form (a 1 x 1 factor commutes with everything and equals its transpose; a
trace is invariant under cyclic shifts and transposition; declared-symmetric matrices satisfy X^T = X), so
:func:`matexpr_equal` decides an identity at once for every size.  :func:`matrix_wick_expectation` applies
Isserlis' theorem at the level of matrix chains (each pairing of the occurrences of x contracts them through the
covariance, closing loops into traces).  Imports :mod:`~verify.symbolic.wick` (scalar Gaussians), never
:mod:`~verify.symbolic.entries`.

>>> d = sp.Symbol("d", integer=True, positive=True)
>>> x, A = MatrixSymbol("x", d, 1), MatrixSymbol("A", d, d)
>>> matrix_wick_expectation(x.T * A * x, x)   # E[x^T A x] = tr A, x ~ N(0, I_d)
tr(A)
>>> matexpr_equal((x.T * A * x).T, x.T * A.T * x)[0]
True
"""

from __future__ import annotations

from typing import Iterable, Sequence

import sympy as sp
from sympy import Identity, MatrixSymbol, ZeroMatrix
from sympy.matrices.expressions.matexpr import MatrixExpr

from verify.symbolic.wick import wick_expectation

__all__ = [
    "canonical_scalar",
    "canonical_form",
    "matexpr_equal",
    "matrix_wick_expectation",
    "matrix_expectation_equal",
]


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
    >>> from verify.symbolic.wick import quadratic_form_product_mean
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
