r"""Gradient of the infinite-prompt ICL risk R_\infty, its Hessian, and the gradient flow on the invariant subspace.

Setting of Sec. 5 of the paper (Theorem 5.1 v1 / 5.2 v2), with optional label noise ``noise`` = s >= 0 (same
convention as :mod:`verify.icl.risk`).  Blocks of U, V in R^{(d+1)x(d+1)}:

    U11 = U[:d,:d],  u = U[d,:d]^T,  a = V[d,:d]^T,  b = V[d,d];   the last column of U and the first d rows
    of V do not enter R_\infty (their gradient is 0).

With T = tr \Sigma, \kappa = 2 tr(\Sigma^2),

    c0 = U11^T \Sigma a + b s^2 u,   M = b U11^T \Sigma + u a^T \Sigma - I,   e = c0 + b T u,
    R_\infty = 1/2 [ e^T \Sigma e + \kappa b^2 u^T \Sigma u + tr(M^T \Sigma M) + s^2 ]

(the closed form of the statement icl-risk-infinite, regrouped).  Matrix calculus gives (:func:`icl_risk_gradient`)

    \nabla_{U11} R = \Sigma a e^T \Sigma + b \Sigma M^T \Sigma,
    \nabla_u R     = b (s^2 + T) \Sigma e + \kappa b^2 \Sigma u + \Sigma M \Sigma a,
    \nabla_a R     = \Sigma U11 \Sigma e + \Sigma M^T \Sigma u,
    \nabla_b R     = (s^2 + T) u^T \Sigma e + \kappa b u^T \Sigma u + tr(M^T \Sigma U11^T \Sigma).

These blocks are a fast numpy kernel: the statement icl-gradient checks them against its SymPy gradient (itself
derived from the SymPy closed form) and against differences of R_\infty and of its definition.

On the invariant subspace U = diag(A, 0), V = b e_{d+1} e_{d+1}^T (u = a = 0, e = 0, M = b A^T \Sigma - I) the
gradient flow is (:func:`invariant_flow_rhs`, :func:`paper_flow`)

    \dot A = -\nabla_A R = b \Sigma^2 - b^2 \Sigma^2 A \Sigma,    \dot b = -\nabla_b R = tr(A^T \Sigma^2) - b tr(A^T \Sigma^2 A \Sigma),

and it conserves ||A||_F^2 - b^2 (:func:`balance`).  :func:`invariant_flow` integrates it with the fixed-step RK4
of :mod:`verify.numerics.ode`, :func:`flow_trajectory` any field (A, b) -> (\dot A, \dot b) by error-controlled
DOP853; both return a :class:`verify.numerics.ode.Trajectory` whose rows are y = (vec A, b)
(:func:`invariant_state` reads A and b back).

>>> from verify.icl.risk import bayes_point, toeplitz_sigma
>>> S = toeplitz_sigma(3, 0.5)
>>> U, V = bayes_point(S)
>>> gU, gV = icl_risk_gradient(U, V, S)
>>> float(np.abs(gU).max() + np.abs(gV).max()) < 1e-12          # the limit point is stationary
True
>>> rng = np.random.default_rng(0)
>>> U, V = rng.standard_normal((2, 4, 4))
>>> gU, gV = icl_risk_gradient(U, V, S, noise=0.3)
>>> fU, fV = icl_risk_gradient_fd(U, V, S, noise=0.3)
>>> float(max(np.abs(gU - fU).max(), np.abs(gV - fV).max()) / np.abs(gU).max()) < 1e-8
True
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from verify.icl.risk import _c0_and_M, _sigma, _uv, icl_risk_infinite
from verify.numerics.differences import central_difference, hessian_fd
from verify.numerics.ode import Trajectory, integrate, rk4
from verify._validation import as_array, as_matrix, nonnegative_float, positive_int, real

__all__ = [
    "icl_blocks",
    "icl_risk_gradient",
    "icl_risk_gradient_fd",
    "icl_active_vector",
    "icl_from_active_vector",
    "icl_risk_hessian_fd",
    "invariant_flow_rhs",
    "paper_flow",
    "invariant_flow",
    "invariant_state",
    "invariant_flow_endpoints",
    "invariant_field",
    "flow_trajectory",
    "balance",
    "sum_of_squares",
]


# ------------------------------------------------------------------------------ the gradient


def icl_blocks(U, V, d) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
    r"""The blocks that enter R_\infty: (U11, u, a, b) = (U[:d,:d], U[d,:d], V[d,:d], V[d,d]).

    >>> U11, u, a, b = icl_blocks(np.arange(9.0).reshape(3, 3), np.arange(9.0).reshape(3, 3) + 10, 2)
    >>> U11.tolist(), u.tolist(), a.tolist(), b
    ([[0.0, 1.0], [3.0, 4.0]], [6.0, 7.0], [16.0, 17.0], 18.0)
    """
    d = positive_int(d, "d")
    U, V = _uv(U, V, d)
    return U[:d, :d].copy(), U[d, :d].copy(), V[d, :d].copy(), float(V[d, d])


def icl_risk_gradient(U, V, Sigma, noise=0.0) -> tuple[np.ndarray, np.ndarray]:
    r"""Closed-form gradient (\nabla_U R_\infty, \nabla_V R_\infty), both (d+1)x(d+1).

    Blocks (see the module docstring): \nabla_{U11} = \Sigma a e^T\Sigma + b\Sigma M^T\Sigma,
    \nabla_u = b(s^2+T)\Sigma e + \kappa b^2\Sigma u + \Sigma M\Sigma a, \nabla_a = \Sigma U11\Sigma e + \Sigma M^T\Sigma u,
    \nabla_b = (s^2+T) u^T\Sigma e + \kappa b u^T\Sigma u + tr(M^T\Sigma U11^T\Sigma); all other entries 0.

    >>> gU, gV = icl_risk_gradient(np.zeros((2, 2)), np.zeros((2, 2)), [[2.0]])
    >>> gU.tolist(), gV.tolist()        # at 0: M = -I, e = 0, every block vanishes
    ([[0.0, 0.0], [0.0, 0.0]], [[0.0, 0.0], [0.0, 0.0]])
    >>> icl_risk_gradient(np.zeros((2, 2)), np.zeros((3, 3)), [[2.0]])
    Traceback (most recent call last):
    ...
    ValueError: V: expected shape (2, 2), got (3, 3)
    """
    S = _sigma(Sigma)
    d = S.shape[0]
    U, V = _uv(U, V, d)
    s2 = nonnegative_float(noise, "noise") ** 2
    gU11, gu, ga, gb = _gradient_blocks(U[:d, :d], U[d, :d], V[d, :d], V[d, d], S, s2)
    gU = np.zeros((d + 1, d + 1))
    gV = np.zeros((d + 1, d + 1))
    gU[:d, :d], gU[d, :d], gV[d, :d], gV[d, d] = gU11, gu, ga, gb
    return gU, gV


def _gradient_blocks(U11, u, a, b, S, s2):
    """The four gradient blocks, unchecked (callers validate); the one place the numpy formulas live."""
    T = np.trace(S)
    kappa = 2.0 * np.einsum("ij,ji->", S, S)
    c0, M = _c0_and_M(U11, u, a, b, S, s2)
    e = c0 + b * T * u
    Se, Su, Sa = S @ e, S @ u, S @ a
    SMt = S @ M.T
    gU11 = np.outer(Sa, Se) + b * SMt @ S
    gu = b * (s2 + T) * Se + kappa * b * b * Su + S @ M @ Sa
    ga = S @ U11 @ Se + SMt @ Su
    gb = (s2 + T) * (u @ Se) + kappa * b * (u @ Su) + np.einsum("ij,ji->", SMt, S @ U11.T)
    return gU11, gu, ga, float(gb)


def icl_risk_gradient_fd(U, V, Sigma, noise=0.0, h=1e-5, richardson: bool = False) -> tuple[np.ndarray, np.ndarray]:
    r"""Reference gradient: central differences (:func:`verify.numerics.differences.central_difference`) of the
    *risk* :func:`verify.icl.risk.icl_risk_infinite` (never of :func:`icl_risk_gradient`), over all 2 (d+1)^2
    entries of U and V.  With ``richardson`` each entry is (4 D_{h/2} - D_h)/3: exact up to rounding, R_\infty
    being a polynomial of degree <= 4 in each entry.

    >>> gU, gV = icl_risk_gradient_fd(np.zeros((2, 2)), np.eye(2), [[1.0]])
    >>> gU.round(6).tolist(), gV.round(6).tolist()
    ([[-1.0, 0.0], [0.0, 0.0]], [[0.0, 0.0], [0.0, 0.0]])
    """
    S = _sigma(Sigma)
    d = S.shape[0]
    U, V = _uv(U, V, d)
    gU = central_difference(lambda X: icl_risk_infinite(X, V, S, noise), U, h, "U", richardson)
    gV = central_difference(lambda X: icl_risk_infinite(U, X, S, noise), V, h, "V", richardson)
    return gU, gV


def icl_active_vector(U, V, d) -> np.ndarray:
    r"""The (d+1)^2 entries that enter R_\infty, flattened as (vec_row(U11), u, a, b).

    >>> icl_active_vector(np.eye(2), 2 * np.eye(2), 1).tolist()
    [1.0, 0.0, 0.0, 2.0]
    """
    U11, u, a, b = icl_blocks(U, V, d)
    return np.concatenate([U11.reshape(-1), u, a, [b]])


def icl_from_active_vector(theta, d, U=None, V=None) -> tuple[np.ndarray, np.ndarray]:
    r"""Inverse of :func:`icl_active_vector`; the free entries are copied from (U, V) (zero when omitted).

    >>> U, V = icl_from_active_vector([1.0, 0.0, 0.0, 2.0], 1)
    >>> U.tolist(), V.tolist()
    ([[1.0, 0.0], [0.0, 0.0]], [[0.0, 0.0], [0.0, 2.0]])
    """
    d = positive_int(d, "d")
    theta = as_array(theta, "theta", ndim=1)
    if theta.size != (d + 1) ** 2:
        raise ValueError(f"theta: expected length {(d + 1) ** 2}, got {theta.size}")
    U = np.zeros((d + 1, d + 1)) if U is None else as_matrix(U, "U", (d + 1, d + 1)).copy()
    V = np.zeros((d + 1, d + 1)) if V is None else as_matrix(V, "V", (d + 1, d + 1)).copy()
    U[:d, :d] = theta[: d * d].reshape(d, d)
    U[d, :d] = theta[d * d : d * d + d]
    V[d, :d] = theta[d * d + d : d * d + 2 * d]
    V[d, d] = theta[-1]
    return U, V


def icl_risk_hessian_fd(U, V, Sigma, noise=0.0, h=1e-3) -> np.ndarray:
    r"""Hessian of R_\infty in the active coordinates (:func:`icl_active_vector`), by Richardson central
    differences (:func:`verify.numerics.differences.hessian_fd`) of the closed-form gradient
    :func:`icl_risk_gradient` (exact for its cubic).

    >>> from verify.icl.risk import bayes_point
    >>> H = icl_risk_hessian_fd(*bayes_point([[4.0]]), [[4.0]])
    >>> H.round(8).tolist()          # theta = (A, u, a, b) at A = b = 1/2, Sigma = 4
    [[16.0, 0.0, 0.0, 16.0], [0.0, 48.0, 16.0, 0.0], [0.0, 16.0, 16.0, 0.0], [16.0, 0.0, 0.0, 16.0]]
    """
    S = _sigma(Sigma)
    d = S.shape[0]
    U, V = _uv(U, V, d)

    def grad(theta):
        Ut, Vt = icl_from_active_vector(theta, d, U, V)
        gU, gV = icl_risk_gradient(Ut, Vt, S, noise)
        return icl_active_vector(gU, gV, d)

    return hessian_fd(grad, icl_active_vector(U, V, d), h)


# ------------------------------------------------------------------------------ the invariant flow


def invariant_flow_rhs(A, b, Sigma, noise=0.0) -> tuple[np.ndarray, float]:
    r"""(\dot A, \dot b) = (-\nabla_{U11} R_\infty, -\nabla_b R_\infty) at U = diag(A, 0), V = b e_{d+1}e_{d+1}^T,
    computed by the same gradient blocks as :func:`icl_risk_gradient` with u = a = 0 (there they equal
    b\Sigma^2 - b^2\Sigma^2 A\Sigma and tr(A^T\Sigma^2) - b tr(A^T\Sigma^2 A\Sigma); the u- and a-blocks vanish).

    >>> Adot, bdot = invariant_flow_rhs([[1.0]], 1.0, [[0.25]])
    >>> Adot.tolist(), bdot                 # d = 1: x' = s^2 x (1 - s x^2) with s = 1/4, x = 1
    ([[0.046875]], 0.046875)
    """
    S = _sigma(Sigma)
    d = S.shape[0]
    A = as_matrix(A, "A", shape=(d, d))
    b = real(b, "b")
    gA, _, _, gb = _gradient_blocks(A, np.zeros(d), np.zeros(d), float(b), S, nonnegative_float(noise, "noise") ** 2)
    return -gA, -gb


def paper_flow(A, b, Sigma) -> tuple[np.ndarray, float]:
    r"""The paper's printed flow (Sec. 5):  \dot A = b\Sigma^2 - b^2\Sigma^2 A\Sigma,
    \dot b = tr(A^T\Sigma^2) - b tr(A^T\Sigma^2 A\Sigma)  (unchecked float arrays: the fast right-hand side of
    :func:`invariant_flow`; the label noise does not enter it).

    >>> Adot, bdot = paper_flow(np.array([[1.0]]), 1.0, np.array([[0.25]]))
    >>> Adot.tolist(), bdot
    ([[0.046875]], 0.046875)
    """
    S2 = Sigma @ Sigma
    S2AS = S2 @ A @ Sigma
    return b * S2 - b * b * S2AS, float(np.einsum("ij,ij->", A, S2) - b * np.einsum("ij,ij->", A, S2AS))


def _state(A, b) -> np.ndarray:
    """The flat state y = (vec_row A, b)."""
    return np.concatenate([np.asarray(A).reshape(-1), [b]])


def invariant_state(trajectory: Trajectory, d) -> tuple[np.ndarray, np.ndarray]:
    """(A (n, d, d), b (n,)) along a trajectory whose rows are y = (vec A, b).

    >>> A, b = invariant_state(invariant_flow([[1.0]], 1.0, [[0.25]], 1.0, 4), 1)
    >>> A.shape, b.shape
    ((5, 1, 1), (5,))
    """
    d = positive_int(d, "d")
    Y = trajectory.y
    return Y[:, :-1].reshape(-1, d, d), Y[:, -1]


def invariant_flow(A0, b0, Sigma, t_end, n_steps, noise=0.0, record_every: int = 1, grading=1.0) -> Trajectory:
    r"""Integrate \dot A = b\Sigma^2 - b^2\Sigma^2 A\Sigma, \dot b = tr(A^T\Sigma^2) - b tr(A^T\Sigma^2 A\Sigma)
    (:func:`paper_flow`) by :func:`verify.numerics.ode.rk4`; rows y = (vec A, b) (:func:`invariant_state`).

    This right-hand side is -\nabla R_\infty on the invariant subspace (the identity is machine-checked by the
    statement icl-gradient and by tests against :func:`invariant_flow_rhs`); the label noise does not enter it.

    >>> A, b = invariant_state(invariant_flow([[4.0]], 4.0, [[0.25]], t_end=200.0, n_steps=4000, record_every=4000), 1)
    >>> round(float(A[-1, 0, 0]), 8), round(float(b[-1]), 8)   # -> Sigma^{-1/2} = 2 (d = 1, balanced)
    (2.0, 2.0)
    """
    S = _sigma(Sigma)
    d = S.shape[0]
    A0 = as_matrix(A0, "A0", shape=(d, d))
    b0 = real(b0, "b0")
    nonnegative_float(noise, "noise")

    def rhs(t, y):
        Adot, bdot = paper_flow(y[:-1].reshape(d, d), y[-1], S)
        return _state(Adot, bdot)

    return rk4(rhs, _state(A0, b0), t_end, n_steps, record_every, grading)


def invariant_flow_endpoints(A0s, b0s, Sigma, t_end, n_steps, grading=1.0) -> tuple[np.ndarray, np.ndarray]:
    r"""End points (A(t_end), b(t_end)) of :func:`invariant_flow` from several initial points at once.

    The same RK4 on the same mesh, the n flows stacked in one state (a (n, d, d) batch of matrix products per
    stage), so n flows cost about one: the right-hand side is a few d x d products and the step loop's
    Python overhead dominates.  Returns (A (n, d, d), b (n,)).

    >>> A, b = invariant_flow_endpoints([[[4.0]], [[0.1]]], [4.0, 0.1], [[0.25]], t_end=400.0, n_steps=8000)
    >>> np.round(A[:, 0, 0], 8).tolist(), np.round(b, 8).tolist()
    ([2.0, 2.0], [2.0, 2.0])
    """
    S = _sigma(Sigma)
    d = S.shape[0]
    A0s = as_array(A0s, "A0s", ndim=3)
    if A0s.shape[1:] != (d, d):
        raise ValueError(f"A0s: expected shape (n, {d}, {d}), got {A0s.shape}")
    n = A0s.shape[0]
    b0s = as_array(b0s, "b0s", ndim=1)
    if b0s.shape != (n,):
        raise ValueError(f"b0s: expected shape ({n},), got {b0s.shape}")
    rhs = invariant_field(S, n)

    y0 = np.concatenate([A0s.reshape(n, -1), b0s[:, None]], axis=1).reshape(-1)
    Y = rk4(rhs, y0, t_end, n_steps, record_every=n_steps, grading=grading).final.reshape(n, d * d + 1)
    return Y[:, :-1].reshape(n, d, d), Y[:, -1]


def invariant_field(Sigma, m: int = 1) -> Callable[[float, np.ndarray], np.ndarray]:
    r"""The invariant-subspace field for m cells at once, y = (vec A_1, b_1, ..., vec A_m, b_m):
    \dot A = b\Sigma^2 - b^2\Sigma^2A\Sigma, \dot b = <A, \Sigma^2> - b <A, \Sigma^2A\Sigma>  (= -\nabla R_\infty there,
    statement icl-gradient).  The one hand-written batched field of the package (the \alpha sweep, the balanced flows
    of :func:`invariant_flow_endpoints`): the statement train-infinite checks it against :func:`icl_risk_gradient` at
    states that do not commute with \Sigma."""
    S = _sigma(Sigma)
    m = positive_int(m, "m")
    d = S.shape[0]
    S2 = S @ S
    k = d * d + 1

    def rhs(t, y):
        Y = y.reshape(m, k)
        A, b = Y[:, :-1].reshape(m, d, d), Y[:, -1]
        X = S2 @ A @ S
        out = np.empty_like(Y)
        out[:, :-1] = (b[:, None, None] * S2 - (b * b)[:, None, None] * X).reshape(m, d * d)
        out[:, -1] = np.einsum("mij,ij->m", A, S2) - b * np.einsum("mij,mij->m", A, X)
        return out.ravel()

    return rhs


def flow_trajectory(flow: Callable, A0, b0, Sigma, t_end: float, rtol: float = 1e-13, atol: float = 1e-15) -> Trajectory:
    r"""Integrate (\dot A, \dot b) = flow(A, b, \Sigma) on [0, t_end] by DOP853 (:func:`verify.numerics.ode.integrate`,
    error controlled: every accepted step's error estimate e satisfies RMS(e_i / (atol + rtol |y_i|)) <= 1), every
    accepted step recorded, rows y = (vec A, b).  A field that escapes to infinity stops (``diverged``) at
    max|y| = 10^6 instead of crawling.

    >>> path = flow_trajectory(paper_flow, [[1.0]], 1.0, [[0.25]], 1.0)
    >>> path.method, bool(path.y.shape[1] == 2)
    ('DOP853 rtol=1e-13 atol=1e-15', True)
    """
    S = _sigma(Sigma)
    d = S.shape[0]
    A0 = as_matrix(A0, "A0", shape=(d, d))
    b0 = real(b0, "b0")

    def rhs(t, y):
        Adot, bdot = flow(y[:-1].reshape(d, d), y[-1], S)
        return np.concatenate([np.asarray(Adot).ravel(), [bdot]])

    return integrate(rhs, np.concatenate([A0.ravel(), [b0]]), t_end, method="DOP853", rtol=rtol, atol=atol,
                     blow_up=1e6)


def balance(Y) -> np.ndarray:
    """||A||_F^2 - b^2 for rows y = (vec A, b): conserved by the flow.

    >>> balance(np.array([[3.0, 4.0, 5.0]])).tolist()
    [0.0]
    """
    return (Y[:, :-1] ** 2).sum(1) - Y[:, -1] ** 2


def sum_of_squares(Y) -> np.ndarray:
    """||A||_F^2 + b^2 for rows y = (vec A, b) (not conserved)."""
    return (Y[:, :-1] ** 2).sum(1) + Y[:, -1] ** 2
