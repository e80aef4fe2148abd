r"""The symbolic objects of in-context linear regression (Sec. 5), shared by every ICL statement.

General d (SymPy ``MatrixSymbol`` of symbolic size ``d``): \Gamma_w, the blocks of U and V, the prediction
p_\infty = e_{d+1}^T V \Gamma_w U (x_q, 0), the definition's integrand 1/2 (p_\infty - y_q)^2, and the closed
form of R_\infty with its building blocks

    c_0 = U_{11}^T \Sigma a + b s^2 u,      M = b U_{11}^T \Sigma + u a^T \Sigma - I_d.

Explicit entries (``sympy.Matrix``) at a given d: :func:`icl_symbols`, :func:`icl_blocks_explicit`,
:func:`c0_and_M`, :func:`risk_infinite_from_blocks` (the general-d closed form at d = k), :func:`residual`,
:func:`prediction_coefficient`.  One copy of each: the proofs import them from here.

>>> S = icl_symbols(1)
>>> [str(x) for x in icl_blocks_explicit(S["U"], S["V"], 1)[1:]]
['Matrix([[U_1_0]])', 'Matrix([[V_1_0]])', 'V_1_1']
"""

from __future__ import annotations

import sympy as sp
from sympy import BlockMatrix, Identity, MatrixSymbol, ZeroMatrix

from .symbolic import explicit_at, symbolic_matrix, symbolic_vector, trace

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

E_VEC = C0 + b * trace(Sigma) * u
SOS_FORM = HALF * (E_VEC.T * Sigma * E_VEC + 2 * trace(Sigma * Sigma) * b**2 * (u.T * Sigma * u)
                   + trace(M_.T * Sigma * M_) * I1)
"""R_\\infty - s^2/2 as a sum of three squares (statement icl-minimizers), e = c_0 + b tr(\\Sigma) u."""

TRUNCATED_EXCESS = HALF * (C0.T * Sigma * C0 + trace(M_.T * Sigma * M_) * I1)
"""A planted slip: R_\\infty - s^2/2 without the cross and quartic terms (what a mutant predicts)."""

INVARIANT_FORM = HALF * trace((b * Sigma * A - Id) * Sigma * (b * Sigma * A - Id).T) * I1 + HALF * s**2 * I1

# explicit-entry helpers below take their own d, Sigma, ... as arguments; keep the general-d ones reachable.
Sigma_, U11_, u_, a_, b_ = Sigma, U11, u, a, b

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


