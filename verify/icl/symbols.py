r"""The symbolic objects of in-context linear regression (Sec. 5), shared by every ICL statement.

General d (SymPy ``MatrixSymbol`` of symbolic size ``d``): \Gamma_w, the blocks of U and V, the prediction
p_\infty = e_{d+1}^T V \Gamma_w U (x_q, 0), the definition's integrand 1/2 (p_\infty - y_q)^2, and the closed
form of R_\infty with its building blocks

    c_0 = U_{11}^T \Sigma a + b s^2 u,      M = b U_{11}^T \Sigma + u a^T \Sigma - I_d.

Explicit entries (``sympy.Matrix``) at a given d: :func:`icl_symbols`, :func:`icl_blocks_explicit`,
:func:`c0_and_M`, :func:`risk_infinite_from_blocks` (the general-d closed form at d = k), :func:`residual`,
:func:`prediction_coefficient`.  One copy of each: the proofs import them from here.

At a point: :func:`closed_form_value` evaluates a general-d expression (the closed form, or a planted wrong form
of it) exactly at a point with rational entries -- the one adapter from a SymPy form to a numeric subject.
Claim catalogues (``verify claim``): :func:`swap`, :func:`swap_symbols` build wrong formulas from true ones (terms that
vanish only for small d: :mod:`verify.kernel.catalogue`).

>>> S = icl_symbols(1)
>>> [str(x) for x in icl_blocks_explicit(S["U"], S["V"], 1)[1:]]
['Matrix([[U_1_0]])', 'Matrix([[V_1_0]])', 'V_1_1']
"""

from __future__ import annotations

import sympy as sp
from sympy import BlockMatrix, Identity, MatrixSymbol, ZeroMatrix

from verify.symbolic import explicit_at, symbolic_matrix, symbolic_vector, trace, wick_expectation

# ------------------------------------------------------------------------------ general d

d = sp.Symbol("d", integer=True, positive=True)
Sigma = MatrixSymbol("Sigma", d, d)
w, x = MatrixSymbol("w", d, 1), MatrixSymbol("x_q", d, 1)
U11, U12, U22 = MatrixSymbol("U_11", d, d), MatrixSymbol("U_12", d, 1), MatrixSymbol("U_22", 1, 1)
u = MatrixSymbol("u", d, 1)  # U[d, :d]^T
V11, V12 = MatrixSymbol("V_11", d, d), MatrixSymbol("V_12", d, 1)
a = MatrixSymbol("a", d, 1)  # V[d, :d]^T
A = MatrixSymbol("A", d, d)
b, s, eps = sp.symbols("b s epsilon_q", real=True)
I1, Id = Identity(1), Identity(d)
HALF = sp.Rational(1, 2)
SYM = (Sigma,)

GAMMA_W = BlockMatrix([[Sigma, Sigma * w], [w.T * Sigma, w.T * Sigma * w + s**2 * I1]])
U_BLOCKS = BlockMatrix([[U11, U12], [u.T, U22]])
V_BLOCKS = BlockMatrix([[V11, V12], [a.T, b * I1]])
E_LAST = BlockMatrix([[ZeroMatrix(1, d), I1]])
QUERY = BlockMatrix([[x], [ZeroMatrix(1, 1)]])

PREDICTION = E_LAST * V_BLOCKS * GAMMA_W * U_BLOCKS * QUERY
"""p_\\infty = e_{d+1}^T V \\Gamma_w U (x_q, 0)  (Lemma 2.1 for the centred Gaussian N(0, \\Gamma_w))."""

DEFINITION_INTEGRAND = HALF * (PREDICTION - w.T * x - eps * I1) ** 2
"""1/2 (p_\\infty - y_q)^2 with y_q = w^T x_q + \\epsilon_q."""


def c0_of(U11_, u_, a_):
    return U11_.T * Sigma * a_ + b * s**2 * u_


def M_of(U11_, u_, a_):
    return b * U11_.T * Sigma + u_ * a_.T * Sigma - Id


def closed_form_of(U11_, u_, a_):
    """The statement's closed form (a 1 x 1 matrix expression), in the order of the statement."""
    c0, M = c0_of(U11_, u_, a_), M_of(U11_, u_, a_)
    return HALF * (c0.T * Sigma * c0 + 2 * b * trace(Sigma) * (c0.T * Sigma * u_)
                   + b**2 * (u_.T * Sigma * u_) * (trace(Sigma) ** 2 + 2 * trace(Sigma * Sigma))
                   + trace(M.T * Sigma * M) * I1 + s**2 * I1)


C0, M_ = c0_of(U11, u, a), M_of(U11, u, a)
Q_W = w.T * Sigma * w
G_W = C0 + (M_ + Id) * w + b * u * Q_W
CLOSED_FORM = closed_form_of(U11, u, a)
"""R_inf(U, V) in closed form (a 1 x 1 matrix expression in U11, u, a, b, Sigma, s): see :func:`closed_form_of`."""

E_VEC = C0 + b * trace(Sigma) * u
SOS_FORM = HALF * (E_VEC.T * Sigma * E_VEC + 2 * trace(Sigma * Sigma) * b**2 * (u.T * Sigma * u)
                   + trace(M_.T * Sigma * M_) * I1)
"""R_\\infty - s^2/2 as a sum of three squares (statement icl-minimizers), e = c_0 + b tr(\\Sigma) u."""

TRUNCATED_EXCESS = HALF * (C0.T * Sigma * C0 + trace(M_.T * Sigma * M_) * I1)
"""A planted slip: R_\\infty - s^2/2 without the cross and quartic terms (what a mutant predicts)."""

INVARIANT_FORM = HALF * trace((b * Sigma * A - Id) * Sigma * (b * Sigma * A - Id).T) * I1 + HALF * s**2 * I1

# the gradient of R_\infty (statement icl-gradient), general d: T = tr \Sigma, \kappa = 2 tr(\Sigma^2), e = c_0 + b T u
_T, _KAPPA = trace(Sigma), 2 * trace(Sigma * Sigma)
GRAD_U11 = Sigma * a * E_VEC.T * Sigma + b * Sigma * M_.T * Sigma
GRAD_U = b * (s**2 + _T) * Sigma * E_VEC + _KAPPA * b**2 * Sigma * u + Sigma * M_ * Sigma * a
GRAD_A = Sigma * U11 * Sigma * E_VEC + Sigma * M_.T * Sigma * u
GRAD_B = (s**2 + _T) * (u.T * Sigma * E_VEC) + _KAPPA * b * (u.T * Sigma * u) + trace(M_.T * Sigma * U11.T * Sigma) * I1
r"""\nabla_{U_{11}}, \nabla_u, \nabla_a R_\infty (matrix expressions) and \partial_b R_\infty (1 x 1)."""
DIR_U11, DIR_U, DIR_A = MatrixSymbol("H", d, d), MatrixSymbol("h", d, 1), MatrixSymbol("k", d, 1)
DIR_B = sp.Symbol("beta", real=True)
GRADIENT_FORM = trace(GRAD_U11.T * DIR_U11) * I1 + DIR_U.T * GRAD_U + DIR_A.T * GRAD_A + DIR_B * GRAD_B
r"""The gradient as one scalar form, the directional derivative
<\nabla R_\infty, (H, h, k, \beta)> = tr(\nabla_{U_{11}}^T H) + h^T\nabla_u + k^T\nabla_a + \beta\,\partial_b R_\infty:
linear in the direction (H, h, k, \beta) of (U_{11}, u, a, b); its coefficients are the four blocks."""

# explicit-entry helpers below take their own d, Sigma, ... as arguments; keep the general-d ones reachable.
Sigma_, U11_, u_, a_, b_ = Sigma, U11, u, a, b



def closed_form_value(point: dict, expr=None) -> sp.Rational:
    """A general-d SymPy scalar expression of this module (default :data:`CLOSED_FORM`) at an exact point
    {U, V, Sigma, s} (SymPy rationals), as an exact rational; ``A`` stands for U11 (the invariant-subspace form).

    >>> pt = {"U": sp.Matrix([[1, 0], [0, 0]]), "V": sp.Matrix([[0, 0], [0, 1]]), "Sigma": sp.Matrix([[2]]),
    ...       "s": sp.Rational(1, 2)}
    >>> closed_form_value(pt), closed_form_value(pt, INVARIANT_FORM)    # 1/2 (2 - 1)^2 2 + 1/8
    (9/8, 9/8)
    """
    expr = CLOSED_FORM if expr is None else expr
    Um, Vm = point["U"], point["V"]
    k = Um.shape[0] - 1
    values = {U11: Um[:k, :k], u: Um[k, :k].T, a: Vm[k, :k].T, Sigma: point["Sigma"], b: Vm[k, k], s: point["s"],
              A: Um[:k, :k]}
    return sp.Rational(explicit_at(expr, d, k, SYM, values))


def directional_blocks(U, V, Sigma_, noise, expr=None) -> tuple:
    """A general-d form linear in the direction (H, h, k, beta) (default :data:`GRADIENT_FORM`, or a planted slip of
    it) at (U, V, Sigma, s), exactly (floats taken at their exact dyadic values): its coefficients read as the gradient
    (gU, gV), two (d+1) x (d+1) float arrays zero on the free entries.  A form that is not linear in the direction
    (a constant term, a square or an inverse of a direction) is no directional derivative: NaN arrays, which never
    agree with anything."""
    import numpy as np

    expr = GRADIENT_FORM if expr is None else expr
    ex = lambda X: sp.ImmutableMatrix([[sp.Rational(float(v)) for v in row] for row in np.asarray(X, dtype=float)])  # noqa: E731
    Um, Vm, Sm = ex(U), ex(V), ex(Sigma_)
    k = Sm.shape[0]
    H_, h_, k_ = sp.Matrix(k, k, lambda i, j: sp.Symbol(f"H_{i}_{j}")), sp.Matrix(k, 1, lambda i, _: sp.Symbol(f"h_{i}")), \
        sp.Matrix(k, 1, lambda i, _: sp.Symbol(f"k_{i}"))
    values = {U11: Um[:k, :k], u: Um[k, :k].T, a: Vm[k, :k].T, b: Vm[k, k], Sigma: Sm, s: sp.Rational(float(noise)),
              DIR_U11: H_, DIR_U: h_, DIR_A: k_}
    gens = list(H_) + list(h_) + list(k_) + [DIR_B]
    form = explicit_at(expr, d, k, SYM, values, expand=False)
    try:
        terms = sp.Poly(form, *gens).terms()
    except sp.PolynomialError:  # not polynomial in the direction (e.g. H^-1)
        terms = None
    if terms is None or any(sum(m) != 1 and c != 0 for m, c in terms):
        # not a linear form in the direction (a constant, a square, an inverse of it): no gradient reads off it
        nan = np.full((k + 1, k + 1), np.nan)
        return nan, nan.copy()
    linear = {m.index(1): c for m, c in terms}

    def coefficient(x):
        return float(linear.get(gens.index(x), 0))

    gU, gV = np.zeros((k + 1, k + 1)), np.zeros((k + 1, k + 1))
    gU[:k, :k] = [[coefficient(H_[i, j]) for j in range(k)] for i in range(k)]
    gU[k, :k] = [coefficient(x) for x in h_]
    gV[k, :k] = [coefficient(x) for x in k_]
    gV[k, k] = coefficient(DIR_B)
    return gU, gV


# ------------------------------------------------------------------------------ explicit entries

b_sym = sp.Symbol("b", real=True, nonzero=True)
"""b when a statement needs it nonzero (family F1)."""


def icl_symbols(d: int) -> dict:
    """Explicit-entry U, V ((d+1)x(d+1), every entry a symbol), symmetric \\Sigma, w and the blocks."""
    U = symbolic_matrix("U", d + 1, d + 1)
    V = symbolic_matrix("V", d + 1, d + 1)
    return {
        "d": d, "U": U, "V": V,
        "Sigma": symbolic_matrix("Sigma", d, d, symmetric=True),
        "w": symbolic_vector("w", d),
        "blocks": icl_blocks_explicit(U, V, d),
    }


def icl_blocks_explicit(U, V, d: int):
    """(U11, u, a, b) = (U[:d,:d], U[d,:d]^T, V[d,:d]^T, V[d,d]) of explicit matrices."""
    U, V = sp.Matrix(U), sp.Matrix(V)
    return U[:d, :d], U[d, :d].T, V[d, :d].T, V[d, d]


def c0_and_M(U11, u, a, b, Sigma):
    d = Sigma.shape[0]
    c0 = U11.T * Sigma * a + b * s**2 * u
    M = b * U11.T * Sigma + u * a.T * Sigma - sp.eye(d)
    return c0, M


def risk_infinite_local(U11, u, a, b, Sigma):
    r"""The closed form of R_\infty written out from the blocks (the formula this module was handed):

    2 R_\infty = c0^T\Sigma c0 + 2 b tr(\Sigma) c0^T\Sigma u + b^2 (u^T\Sigma u)((tr\Sigma)^2 + 2 tr\Sigma^2) + tr(M^T\Sigma M) + s^2.
    """
    c0, M = c0_and_M(U11, u, a, b, Sigma)
    T = Sigma.trace()
    return sp.Rational(1, 2) * ((c0.T * Sigma * c0)[0] + 2 * b * T * (c0.T * Sigma * u)[0]
                                + b**2 * (u.T * Sigma * u)[0] * (T**2 + 2 * (Sigma * Sigma).trace())
                                + (M.T * Sigma * M).trace() + s**2)


def risk_infinite_from_blocks(U11, u, a, b, Sigma):
    r"""R_\infty's general-d closed form :data:`CLOSED_FORM` (statement icl-risk-infinite) evaluated at
    d = Sigma.shape[0] with the given explicit blocks (:func:`verify.symbolic.explicit_at`)."""
    k = Sigma.shape[0]
    return explicit_at(CLOSED_FORM, d, k, [Sigma_], expand=False,
                       values={U11_: U11, u_: u, a_: a, Sigma_: Sigma, b_: b, s: s})


def residual(U11, u, a, b, Sigma, w):
    """g(w) - w = c0 + M w + b u (w^T \\Sigma w): the error of the prediction coefficient."""
    c0, M = c0_and_M(U11, u, a, b, Sigma)
    return c0 + M * w + b * u * (w.T * Sigma * w)[0]


def sum_of_squares_form(U11, u, a, b, Sigma):
    """1/2 [e^T\\Sigma e + 2 tr(\\Sigma^2) b^2 u^T\\Sigma u + tr(M^T\\Sigma M)] + s^2/2,  e = c0 + b tr(\\Sigma) u."""
    c0, M = c0_and_M(U11, u, a, b, Sigma)
    e = c0 + b * Sigma.trace() * u
    return sp.Rational(1, 2) * ((e.T * Sigma * e)[0] + 2 * (Sigma * Sigma).trace() * b**2 * (u.T * Sigma * u)[0]
                                + (M.T * Sigma * M).trace()) + s**2 / 2


def prediction_coefficient(U, V, Sigma, w):
    r"""From the definition: p_\infty = e_{d+1}^T V \Gamma_w U (x_q, 0) = h^T x_q with h = (e_{d+1}^T V \Gamma_w U[:, :d])^T,
    \Gamma_w = [[\Sigma, \Sigma w], [w^T\Sigma, w^T\Sigma w + s^2]] (full explicit U, V: free entries included)."""
    d = Sigma.shape[0]
    Sw = Sigma * w
    Gamma = sp.Matrix(sp.BlockMatrix([[Sigma, Sw], [Sw.T, sp.Matrix([[(w.T * Sw)[0] + s**2]])]]))
    return (sp.Matrix(V)[d, :] * Gamma * sp.Matrix(U)[:, :d]).T


# ------------------------------------------------------------------------------ minimizers (explicit entries)


def quadratic_mean(r, Sigma, w):
    """E_w[r^T\\Sigma r] for a residual r polynomial in w (Isserlis, exact)."""
    gens = list(w) + sorted((set().union(*(ri.free_symbols for ri in r)) | Sigma.free_symbols) - set(w), key=str)
    rp = [sp.Poly(ri, *gens) for ri in r]
    q = sp.Poly(0, *gens)
    for i in range(len(rp)):
        for j in range(len(rp)):
            q += rp[i] * sp.Poly(Sigma[i, j], *gens) * rp[j]
    return wick_expectation(q.as_expr(), w)


def active_entries(U, V, d: int) -> list:
    """The entries that enter R_\\infty, as a flat list: vec_row(U11), u, a, b."""
    U11, u, a, b = icl_blocks_explicit(U, V, d)
    return list(U11) + list(u) + list(a) + [b]


def family_F1(S: dict, b=b_sym) -> dict:
    """Substitution of (F1): U11 = \\Sigma^{-1}/b, u = 0, a = 0, V[d,d] = b (free entries untouched)."""
    d, U, V = S["d"], S["U"], S["V"]
    Si = S["Sigma"].inv()
    sub = {U[i, j]: Si[j, i] / b for i in range(d) for j in range(d)}
    sub.update({U[d, j]: 0 for j in range(d)})
    sub.update({V[d, j]: 0 for j in range(d)})
    sub[V[d, d]] = b
    return sub


def family_F2(S: dict) -> dict:
    """Substitution of (F2), d = 1: U11 = 0, b = 0, u = 1/(a \\Sigma) (a \\neq 0 free)."""
    U, V, Sig = S["U"], S["V"], S["Sigma"]
    return {U[0, 0]: 0, V[1, 1]: 0, U[1, 0]: 1 / (V[1, 0] * Sig[0, 0])}


def minimizer_families(d: int, S: dict) -> list:
    """The claimed zero set at d, as substitutions of the active entries: (F1), and (F2) if d = 1."""
    U11, u, a, b = S["blocks"]
    Si = S["Sigma"].inv()
    f1 = {U11[i, j]: Si[j, i] / b for i in range(d) for j in range(d)}
    f1.update({x: 0 for x in list(u) + list(a)})
    out = [f1]
    if d == 1:
        out.append({b: 0, U11[0, 0]: 0, u[0]: 1 / (a[0] * S["Sigma"][0, 0])})
    return out


def same_families(found, expected) -> tuple[bool, str]:
    def same(f, e):
        return set(f) == set(e) and all(sp.simplify(f[k] - e[k]) == 0 for k in f)
    extra = [f for f in found if not any(same(f, e) for e in expected)]
    missing = [e for e in expected if not any(same(f, e) for f in found)]
    ok = not extra and not missing
    return ok, ("the same families" if ok else f"unexpected {extra}; missing {missing}")


def zero_set_test(S: dict):
    """Relation test: lhs is 1/2[e^T Sigma e + 2 tr(Sigma^2) (bu)^T Sigma (bu) + tr(M^T Sigma M)] (Sigma > 0: zero iff
    e = bu = M = 0); rhs is the solution set of {e = 0, bu = 0, M = 0}, solved by the case split u = 0 or b = 0."""
    Sig = S["Sigma"]
    U11, u, a, b = S["blocks"]
    c0, M = c0_and_M(U11, u, a, b, Sig)
    e = c0 + b * Sig.trace() * u
    squares = sp.Rational(1, 2) * ((e.T * Sig * e)[0] + 2 * (Sig * Sig).trace() * ((b * u).T * Sig * (b * u))[0]
                                   + (M.T * Sig * M).trace())
    eqs = list(e) + list(M) + list(b * u)
    unknowns = list(U11) + list(u) + list(a) + [b]

    def test(lhs, rhs):
        if sp.expand(lhs - squares) != 0:
            return False, "lhs is not the sum of the three Sigma-weighted squares of e, b u, M"
        found = []
        for case in ({x: 0 for x in u}, {b: 0}):
            rest = [t for t in (sp.expand(q.xreplace(case)) for q in eqs) if t != 0]
            for sol in sp.solve(rest, [x for x in unknowns if x not in case], dict=True):
                found.append({**case, **sol})
        ok, detail = same_families(found, rhs)
        return ok, f"case split b u = 0 solved: {detail}"

    return test


# ------------------------------------------------------------------------------ claim catalogues


def swap(formula: str, old: str, new: str) -> str:
    """``formula`` with every ``old`` replaced by ``new``; ``ValueError`` if ``old`` does not occur (so a planted
    wrong form can never silently equal the true form).

    >>> swap("a*b + a", "a", "c")
    'c*b + c'
    >>> swap("a + b", "c", "d")
    Traceback (most recent call last):
    ...
    ValueError: old: 'c' does not occur in the formula
    """
    if old not in formula:
        raise ValueError(f"old: {old!r} does not occur in the formula")
    return formula.replace(old, new)


def swap_symbols(formula: str, x: str, y: str) -> str:
    """Exchange the whole-word symbols ``x`` and ``y`` (e.g. the blocks a <-> u); ``ValueError`` if either is absent.

    >>> swap_symbols("a.T*Sigma*u + trace(a*u.T)", "a", "u")
    'u.T*Sigma*a + trace(u*a.T)'
    """
    import re

    pats = {x: re.compile(rf"\b{re.escape(x)}\b"), y: re.compile(rf"\b{re.escape(y)}\b")}
    for name, pat in pats.items():
        if not pat.search(formula):
            raise ValueError(f"formula: symbol {name!r} does not occur")
    return re.sub(rf"\b(?:{re.escape(x)}|{re.escape(y)})\b", lambda m: y if m.group(0) == x else x, formula)
