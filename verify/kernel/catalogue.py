r"""Writing a claim's catalogue (:class:`verify.kernel.claim.ClaimSpec`): the help of its symbols, a SymPy closed
form written in the claim grammar, and wrong terms that only points at larger d can see.

* :func:`symbols_help` -- the ``symbols_help`` text of a claim, from its symbol table (SymPy symbols named as the
  claim grammar names them);
* :func:`claim_formula` -- a SymPy expression as a formula of the claim grammar (:mod:`verify.kernel.formula`), so
  a wrong form written once in SymPy is both a check's mutant and an entry of the claim's ``wrong_examples``;
* :func:`identity_trace`, :func:`vanishing_up_to`, :func:`cayley_hamilton_3` -- terms that vanish for d up to some
  size and not beyond: added to a true form, they give wrong forms that only points at larger d reject.

>>> import sympy as sp
>>> d = sp.Symbol("d", integer=True, positive=True)
>>> K, Gamma, m = sp.MatrixSymbol("K", d, d), sp.MatrixSymbol("Gamma", d, d), sp.MatrixSymbol("m", d, 1)
>>> print(symbols_help([K, Gamma, m], (1, 2, 3), example="K*m"))
symbols: K, Gamma (d x d), m (d x 1 columns); d = 1, 2, 3 are tried.
syntax: SymPy's: * is the matrix product, .T the transpose, **-1 the inverse,
e.g. 'K*m'.
>>> claim_formula(K * Gamma.I * m + m)
'K*Gamma**(-1)*m + m'
"""

from __future__ import annotations

from typing import Iterable, Sequence

from verify._validation import positive_int

__all__ = ["symbols_help", "claim_formula", "identity_trace", "vanishing_up_to", "cayley_hamilton_3"]


def _kind(symbol) -> str:
    if not getattr(symbol, "is_Matrix", False):
        return "scalars"
    rows, cols = symbol.shape
    if cols == 1:
        return "d x 1 columns"
    return "d x d" if rows == cols else f"{rows} x {cols}"


def symbols_help(symbols: Iterable, dims: Sequence[int], example: str = "", notes: Sequence[str] = ()) -> str:
    """The help text of a claim's symbols: the symbols grouped by shape (d x d matrices, d x 1 columns, scalars, in
    the order given), the dimensions its points try, the ``notes`` (one line each), the syntax, the ``example``."""
    groups: dict[str, list[str]] = {}
    for s in symbols:
        groups.setdefault(_kind(s), []).append(str(s))
    listed = ", ".join(f"{', '.join(names)} ({kind})" for kind, names in groups.items())
    lines = [f"symbols: {listed}; d = {', '.join(map(str, dims))} are tried."]
    lines += list(notes)
    lines.append("syntax: SymPy's: * is the matrix product, .T the transpose, **-1 the inverse"
                 + (",\n" + f"e.g. '{example}'." if example else "."))
    return "\n".join(lines)


def claim_formula(expr, names: dict | None = None) -> str:
    """``expr`` (SymPy) as a formula of the claim grammar: its printed form, after renaming symbols by ``names``
    ({SymPy symbol: claim symbol}, e.g. m_1 -> m1).  Traces of 1 x 1 products print as ``Trace(...)`` and inverses as
    ``**(-1)``, both in the grammar."""
    return str(expr.xreplace(names) if names else expr)


def identity_trace(matrix: str = "Gamma") -> str:
    """A formula for d = tr(I) in the claim grammar (there is no symbol d): ``trace(M*M**-1)``."""
    return f"trace({matrix}*{matrix}**-1)"


def vanishing_up_to(dim: int, matrix: str = "Gamma") -> str:
    """The scalar (d - 1)(d - 2)...(d - dim), d = tr(M M^{-1}): zero at d = 1..``dim``, non-zero beyond.

    Added (times any column) to a true form, it gives a wrong form that only points with d > ``dim`` reject.

    >>> vanishing_up_to(2)
    '(trace(Gamma*Gamma**-1) - 1)*(trace(Gamma*Gamma**-1) - 2)'
    """
    dim = positive_int(dim, "dim")
    t = identity_trace(matrix)
    return "*".join(f"({t} - {k})" for k in range(1, dim + 1))


def cayley_hamilton_3(matrix: str = "Gamma") -> str:
    r"""p_3(M) = M^3 - e_1 M^2 + e_2 M - e_3 I, the characteristic polynomial of a 3 x 3 matrix applied to M, with
    e_1 = tr M, e_2 = (tr(M)^2 - tr(M^2))/2, e_3 = (tr(M)^3 - 3 tr(M) tr(M^2) + 2 tr(M^3))/6 (Newton's identities)
    and I = M M^{-1}.  For d <= 3 the e_k are M's elementary symmetric functions and p_3(x) is a multiple of its
    characteristic polynomial, so p_3(M) = 0 (Cayley-Hamilton); for d >= 4 it is not (its eigenvalues are
    e_4 / lambda for the eigenvalues lambda of M at d = 4).

    >>> import mpmath
    >>> from mpmath import mp
    >>> from verify.kernel.formula import Value, evaluate
    >>> with mp.workdps(30):
    ...     M = lambda d: Value(mpmath.diag(list(range(1, d + 1))))
    ...     [mp.nstr(mpmath.mnorm(evaluate(cayley_hamilton_3("M"), {"M": M(d)}).v, 1), 5) for d in (2, 3, 4)]
    ['0.0', '0.0', '24.0']
    """
    t1, t2, t3 = (f"trace({matrix}**{k})" if k > 1 else f"trace({matrix})" for k in (1, 2, 3))
    return (f"({matrix}**3 - {t1}*{matrix}**2 + ({t1}**2 - {t2})/2*{matrix}"
            f" - ({t1}**3 - 3*{t1}*{t2} + 2*{t3})/6*{matrix}*{matrix}**-1)")
