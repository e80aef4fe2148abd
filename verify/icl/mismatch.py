r"""In-context linear regression with a prompt covariance that differs from the query covariance (Sec. 7).

The authors' data code draws prompt covariates x_i ~ N(0, \Sigma_p), \Sigma_p = C C C^T C^T (C = \Sigma^{1/2}), and
the query x_q ~ N(0, \Sigma_q), \Sigma_q = I.  The infinite-prompt risk is then

    R_\infty(U, V) = 1/2 E_w E_{x_q ~ N(0, \Sigma_q), \varepsilon_q} (p_\infty - y_q)^2,
    p_\infty = e_{d+1}^T V \Gamma_w U (x_q, 0),   \Gamma_w = [[\Sigma_p, \Sigma_p w], [w^T\Sigma_p, w^T\Sigma_p w + s^2]].

Symbolic objects (general d, ``MatrixSymbol``): :data:`SIGMA_P`, :data:`SIGMA_Q`, :data:`DEFINITION`, the closed form
:func:`mismatch_closed_form_of` and the invariant-subspace form :data:`INVARIANT_MISMATCH`.
Reference (never the closed form): :func:`mismatch_quadrature` -- Gauss-Hermite (3 nodes per coordinate of
w ~ N(0, I_d), exact on the degree-4 integrand) with \Gamma_w built from \Sigma_p at every node; the query enters by
its second moments, E_{x_q, \varepsilon_q}(r^T x_q - \varepsilon_q)^2 = r^T \Sigma_q r + s^2 (r = p-coefficient - w).

>>> import sympy as sp
>>> U = sp.Matrix([[1, 0], [0, 0]]); V = sp.Matrix([[0, 0], [0, 1]])
>>> pt = {"U": U, "V": V, "Sigma_p": sp.Matrix([[2]]), "Sigma_q": sp.Matrix([[3]]), "s": sp.Rational(1, 2)}
>>> float(mismatch_quadrature(pt))   # 1/2 (b A Sigma_p - 1)^2 Sigma_q + s^2/2 = 3/2 + 1/8
1.625
"""

from __future__ import annotations

import itertools

import mpmath
import numpy as np
import sympy as sp
from mpmath import mp
from sympy import BlockMatrix, MatrixSymbol, ZeroMatrix

from verify.icl.references import dyadic
from verify.icl.symbols import E_LAST, HALF, QUERY, I1, Id, U_BLOCKS, V_BLOCKS, U11, a, b, d, eps, s, u, w, x
from verify.numerics.strategies import random_covariance
from verify.symbolic import explicit_at, trace

__all__ = ["SIGMA_P", "SIGMA_Q", "SYM2", "GAMMA_P", "DEFINITION", "mismatch_closed_form_of", "CLOSED_MISMATCH",
           "INVARIANT_MISMATCH", "TAU2", "TAU", "mismatch_point", "invariant_mismatch_point", "mismatch_value", "mismatch_quadrature",
           "mismatch_gradient_differences",
           "DPS"]

DPS = 40
SIGMA_P = MatrixSymbol("Sigma_p", d, d)
"""The covariance Sigma_p of the prompt covariates x_i (a d x d matrix symbol)."""
SIGMA_Q = MatrixSymbol("Sigma_q", d, d)
"""The covariance Sigma_q of the query x_q (a d x d matrix symbol)."""
SYM2 = (SIGMA_P, SIGMA_Q)
A = MatrixSymbol("A", d, d)

GAMMA_P = BlockMatrix([[SIGMA_P, SIGMA_P * w], [w.T * SIGMA_P, w.T * SIGMA_P * w + s**2 * I1]])
DEFINITION = HALF * (E_LAST * V_BLOCKS * GAMMA_P * U_BLOCKS * QUERY - w.T * x - eps * I1) ** 2
"""1/2 (p_\\infty - y_q)^2 with \\Gamma_w from the prompt law N(0, \\Sigma_p)."""


TAU2 = sp.Symbol("tau2", positive=True)
"""The task variance: w ~ N(0, tau2 I_d) (the statement has tau2 = 1; the authors' code tau2 = 1/d)."""
TAU = sp.Symbol("tau", positive=True)
"""The task standard deviation: w ~ N(0, tau^2 I_d) (a point's ``tau2`` is tau^2)."""


def mismatch_closed_form_of(Sp, Sq, U11_=U11, u_=u, a_=a, tau2=1):
    r"""1/2 [c_0^T\Sigma_q c_0 + 2b t tr(\Sigma_p) c_0^T\Sigma_q u + b^2 t^2 (u^T\Sigma_q u)((tr\Sigma_p)^2 + 2tr\Sigma_p^2)
    + t tr(M^T\Sigma_q M) + s^2],  c_0 = U_{11}^T\Sigma_p a + b s^2 u,  M = bU_{11}^T\Sigma_p + u a^T\Sigma_p - I,
    t = ``tau2`` (w ~ N(0, t I): substitute w = sqrt(t) z in g(w) - w = c_0 + Mw + b u w^T\Sigma_p w)."""
    c0 = U11_.T * Sp * a_ + b * s**2 * u_
    M = b * U11_.T * Sp + u_ * a_.T * Sp - Id
    return HALF * (c0.T * Sq * c0 + 2 * b * tau2 * trace(Sp) * (c0.T * Sq * u_)
                   + b**2 * tau2**2 * (u_.T * Sq * u_) * (trace(Sp) ** 2 + 2 * trace(Sp * Sp))
                   + tau2 * trace(M.T * Sq * M) * I1 + s**2 * I1)


CLOSED_MISMATCH = mismatch_closed_form_of(SIGMA_P, SIGMA_Q)
N_INV = b * A.T * SIGMA_P - Id
INVARIANT_MISMATCH = HALF * trace(N_INV.T * SIGMA_Q * N_INV) * I1 + HALF * s**2 * I1
"""1/2 tr((bA^T\\Sigma_p - I)^T \\Sigma_q (bA^T\\Sigma_p - I)) + s^2/2 (U = diag(A, 0), V = b e e^T)."""

U_INV = BlockMatrix([[A, ZeroMatrix(d, 1)], [ZeroMatrix(1, d), ZeroMatrix(1, 1)]])
V_INV = BlockMatrix([[ZeroMatrix(d, d), ZeroMatrix(d, 1)], [ZeroMatrix(1, d), b * I1]])
INVARIANT_DEFINITION = HALF * (E_LAST * V_INV * GAMMA_P * U_INV * QUERY - w.T * x - eps * I1) ** 2


# ------------------------------------------------------------------------------------------- exact points


def _cov(dim: int, rng) -> sp.ImmutableMatrix:
    S = random_covariance(dim, rng, floor=0.4)
    return sp.ImmutableMatrix(dim, dim, lambda i, j: dyadic(S[min(i, j), max(i, j)]))


def mismatch_point(dim: int, rng, noise: bool = True) -> dict:
    """Random (U, V, Sigma_p, Sigma_q, s) with dyadic-rational entries; Sigma_p and Sigma_q drawn independently."""
    Um = sp.ImmutableMatrix(dim + 1, dim + 1, lambda i, j: dyadic(0.6 * rng.standard_normal()))
    Vm = sp.ImmutableMatrix(dim + 1, dim + 1, lambda i, j: dyadic(0.6 * rng.standard_normal()))
    sv = dyadic(0.2 + 0.6 * rng.random()) if noise else sp.Integer(0)
    return {"U": Um, "V": Vm, "Sigma_p": _cov(dim, rng), "Sigma_q": _cov(dim, rng), "s": sv}


def invariant_mismatch_point(A_, b_, Sigma_p, Sigma_q, s_) -> dict:
    """The point U = diag(A, 0), V = b e_{d+1} e_{d+1}^T (exact entries)."""
    A_ = sp.ImmutableMatrix(A_)
    k = A_.shape[0]
    Um = sp.zeros(k + 1, k + 1)
    Um[:k, :k] = A_
    Vm = sp.zeros(k + 1, k + 1)
    Vm[k, k] = sp.sympify(b_)
    return {"U": sp.ImmutableMatrix(Um), "V": sp.ImmutableMatrix(Vm), "Sigma_p": sp.ImmutableMatrix(Sigma_p),
            "Sigma_q": sp.ImmutableMatrix(Sigma_q), "s": sp.sympify(s_)}


def mismatch_value(point: dict, expr=CLOSED_MISMATCH):
    """A general-d scalar expression in U11, u, a, b, A (= U11), Sigma_p, Sigma_q, s, tau2 (or tau = sqrt(tau2)) at an
    exact point (rational; ``point["tau2"]`` defaults to 1)."""
    Um, Vm = point["U"], point["V"]
    k = Um.shape[0] - 1
    values = {U11: Um[:k, :k], A: Um[:k, :k], u: Um[k, :k].T, a: Vm[k, :k].T, b: Vm[k, k],
              SIGMA_P: point["Sigma_p"], SIGMA_Q: point["Sigma_q"], s: point["s"], TAU2: point.get("tau2", 1),
              TAU: sp.sqrt(sp.Rational(point.get("tau2", 1)))}
    return sp.Rational(explicit_at(expr, d, k, SYM2, values))


# ------------------------------------------------------------------------------------------- reference


def _mpm(X) -> mpmath.matrix:
    X = sp.Matrix(X)
    return mp.matrix([[mp.mpf(sp.Rational(X[i, j]).p) / sp.Rational(X[i, j]).q for j in range(X.shape[1])]
                      for i in range(X.shape[0])])


def mismatch_quadrature(point: dict, dps: int = DPS) -> mpmath.mpf:
    r"""R_\infty from its DEFINITION at an exact point: 3-node Gauss-Hermite per coordinate of w ~ N(0, I_d) (exact:
    the integrand has degree <= 4 in each coordinate), \Gamma_w built from \Sigma_p at each node, p_\infty = r(w)^T x_q
    with r(w) = (e_{d+1}^T V \Gamma_w U_{:, 1:d})^T, and the query mean 1/2[(r - w)^T\Sigma_q(r - w) + s^2].
    ``point["tau2"]`` (default 1): w ~ N(0, tau2 I_d), nodes scaled by sqrt(tau2)."""
    missing = {"U", "V", "Sigma_p", "Sigma_q", "s"} - set(point)
    if missing:
        raise ValueError(f"point: missing {sorted(missing)}")
    with mp.workdps(int(dps) + 10):
        U, V, Sp, Sq = (_mpm(point[k]) for k in ("U", "V", "Sigma_p", "Sigma_q"))
        k = Sp.rows
        for name, X, n in (("Sigma_p", Sp, k), ("Sigma_q", Sq, k), ("U", U, k + 1), ("V", V, k + 1)):
            if X.rows != n or X.cols != n:
                raise ValueError(f"{name}: expected shape ({n}, {n}) for d = {k}, got ({X.rows}, {X.cols})")
        # s may be irrational (sqrt of a rational), s^2 is rational; never nsimplify (it can turn a dyadic into a
        # product of fractional powers)
        s2 = _mpm(sp.Matrix([[sp.Rational(sp.expand(sp.sympify(point["s"]) ** 2))]]))[0, 0]
        tau2 = sp.Rational(point.get("tau2", 1))
        if tau2 <= 0:
            raise ValueError(f"point: tau2 must be positive, got {tau2}")
        t = mp.sqrt(mp.mpf(tau2.p) / tau2.q)
        nodes = (-mp.sqrt(3) * t, mp.mpf(0), mp.sqrt(3) * t)
        weights = (mp.mpf(1) / 6, mp.mpf(2) / 3, mp.mpf(1) / 6)
        total = mp.mpf(0)
        for idx in itertools.product(range(3), repeat=k):
            wv = mp.matrix([nodes[i] for i in idx])
            wt = mp.fprod(weights[i] for i in idx)
            Sw = Sp * wv
            G = mp.matrix(k + 1, k + 1)
            for i in range(k):
                for j in range(k):
                    G[i, j] = Sp[i, j]
                G[i, k] = G[k, i] = Sw[i]
            G[k, k] = (wv.T * Sw)[0] + s2
            row = V[k, :] * G * U  # e_{d+1}^T V Gamma_w U, a 1 x (d+1) row
            r = mp.matrix([row[0, j] - wv[j] for j in range(k)])
            total += wt * ((r.T * Sq * r)[0] + s2) / 2
        return +total


def mismatch_gradient_differences(point: dict, dps: int = DPS) -> tuple[np.ndarray, np.ndarray]:
    r"""(\partial R/\partial U, \partial R/\partial V) of the DEFINITION at an exact point: central differences with step
    1 of :func:`mismatch_quadrature` in every entry of U and V.  p_\infty is linear in each entry, so R_\infty is a
    quadratic in each single entry and the central difference is exact (to the working precision): neither a closed
    form nor a derivative formula is used.  Float64 arrays ((d+1) x (d+1) each)."""
    out = []
    for key in ("U", "V"):
        X = sp.Matrix(point[key])
        G = np.zeros(X.shape)
        for i in range(X.shape[0]):
            for j in range(X.shape[1]):
                E = sp.zeros(*X.shape)
                E[i, j] = 1
                up = mismatch_quadrature({**point, key: sp.ImmutableMatrix(X + E)}, dps)
                down = mismatch_quadrature({**point, key: sp.ImmutableMatrix(X - E)}, dps)
                G[i, j] = float((up - down) / 2)
        out.append(G)
    return out[0], out[1]


def toeplitz(dim: int, rho) -> sp.ImmutableMatrix:
    """\\Sigma_{ij} = rho^{|i-j|} (exact for rational rho)."""
    rho = sp.nsimplify(rho)
    return sp.ImmutableMatrix(dim, dim, lambda i, j: rho ** abs(int(i) - int(j)))


def float_matrix(X) -> np.ndarray:
    return np.array(sp.Matrix(X).tolist(), dtype=float)
