r"""Gradient of the infinite-prompt ICL risk R_\infty, its gradient flow, and finite-difference helpers.

Setting of Sec. 5 of the paper (Theorem 5.1 v1 / 5.2 v2), with optional label noise ``noise`` = s >= 0 (same
convention as :mod:`verify.icl.risk`).  Blocks of U, V in R^{(d+1)x(d+1)}:

    U11 = U[:d,:d],  u = U[d,:d]^T,  a = V[d,:d]^T,  b = V[d,d];   the last column of U and the first d rows
    of V do not enter R_\infty (their gradient is 0).

With T = tr \Sigma, \kappa = 2 tr(\Sigma^2),

    c0 = U11^T \Sigma a + b s^2 u,   M = b U11^T \Sigma + u a^T \Sigma - I,   e = c0 + b T u,
    R_\infty = 1/2 [ e^T \Sigma e + \kappa b^2 u^T \Sigma u + tr(M^T \Sigma M) + s^2 ]

(the same polynomial as the closed form of :func:`verify.icl.risk.icl_risk_infinite`, regrouped: a sum of three
non-negative terms plus s^2/2).  Matrix calculus gives (:func:`icl_risk_gradient`)

    \nabla_{U11} R = \Sigma a e^T \Sigma + b \Sigma M^T \Sigma,
    \nabla_u R     = b (s^2 + T) \Sigma e + \kappa b^2 \Sigma u + \Sigma M \Sigma a,
    \nabla_a R     = \Sigma U11 \Sigma e + \Sigma M^T \Sigma u,
    \nabla_b R     = (s^2 + T) u^T \Sigma e + \kappa b u^T \Sigma u + tr(M^T \Sigma U11^T \Sigma).

On the invariant subspace U = diag(A, 0), V = b e_{d+1} e_{d+1}^T (u = a = 0, e = 0, M = b A^T \Sigma - I) the
gradient flow is (:func:`invariant_flow_rhs`)

    \dot A = -\nabla_A R = b \Sigma^2 - b^2 \Sigma^2 A \Sigma,    \dot b = -\nabla_b R = tr(A^T \Sigma^2) - b tr(A^T \Sigma^2 A \Sigma),

and it conserves ||A||_F^2 - b^2.  :func:`rk4` / :func:`invariant_flow` integrate it with a fixed-step RK4.

>>> import numpy as np
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
>>> max_relative_error((gU, gV), (fU, fV)) < 1e-8
True
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from verify.icl.risk import _c0_and_M, _sigma, _uv, icl_risk_infinite
from verify._validation import as_array, as_matrix, nonnegative_float, positive_float, positive_int, real

__all__ = [
    "icl_blocks",
    "icl_risk_gradient",
    "central_difference",
    "icl_risk_gradient_fd",
    "max_relative_error",
    "hessian_fd",
    "icl_active_vector",
    "icl_from_active_vector",
    "icl_risk_hessian_fd",
    "invariant_flow_rhs",
    "rk4",
    "Trajectory",
    "invariant_flow_endpoints",
    "invariant_flow",
    "paper_flow",
    "GRADIENT_SLIPS",
    "FLOW_SLIPS",
    "flow_trajectory",
    "conservation_drift",
    "balanced_limit_distance",
    "LIMIT_SLIPS",
]

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
    """The four gradient blocks, unchecked (callers validate); the one place the formulas live."""
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


def central_difference(f: Callable[[np.ndarray], float], X, h=1e-5, name: str = "X",
                       richardson: bool = False) -> np.ndarray:
    r"""Gradient of a scalar function by central differences, entry by entry:

        \partial f / \partial X_{ij} \approx (f(X + h E_{ij}) - f(X - h E_{ij})) / (2h)      (error O(h^2 f''')).

    >>> central_difference(lambda X: float((X ** 3).sum()), np.array([1.0, 2.0]), h=1e-4).round(6).tolist()
    [3.0, 12.0]
    >>> central_difference(lambda X: 0.0, np.array([np.nan]))
    Traceback (most recent call last):
    ...
    ValueError: X: contains NaN or infinite entries
    """
    if not callable(f):
        raise TypeError(f"f: expected a callable, got {type(f).__name__}")
    X = as_array(X, name)
    h = positive_float(h, "h")
    G = np.zeros_like(X)
    flat = G.reshape(-1)

    def D(k: int, step: float) -> float:
        Xp = X.copy().reshape(-1)
        Xm = X.copy().reshape(-1)
        Xp[k] += step
        Xm[k] -= step
        return (float(f(Xp.reshape(X.shape))) - float(f(Xm.reshape(X.shape)))) / (2.0 * step)

    for k in range(X.size):  # richardson: (4 D_{h/2} - D_h)/3, error O(h^4 f^(5))
        flat[k] = (4.0 * D(k, h / 2.0) - D(k, h)) / 3.0 if richardson else D(k, h)
    return G


def icl_risk_gradient_fd(U, V, Sigma, noise=0.0, h=1e-5, richardson: bool = False) -> tuple[np.ndarray, np.ndarray]:
    r"""Reference gradient: central differences of the *risk* :func:`verify.icl.risk.icl_risk_infinite`
    (never of :func:`icl_risk_gradient`), over all 2 (d+1)^2 entries of U and V.  With ``richardson`` each
    entry is (4 D_{h/2} - D_h)/3 (:func:`central_difference`): exact up to rounding, R_\infty being a
    polynomial of degree <= 4 in each entry.

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


def max_relative_error(got, reference) -> float:
    r"""max_k |got_k - ref_k| / max(max_k |ref_k|, 1e-300), over all arrays of the tuples (one scale for all).

    >>> max_relative_error((np.array([1.0, 2.0]),), (np.array([1.0, 2.2]),))
    0.09090909090909098
    """
    got = [np.asarray(g, dtype=float) for g in (got if isinstance(got, (tuple, list)) else (got,))]
    ref = [np.asarray(r, dtype=float) for r in (reference if isinstance(reference, (tuple, list)) else (reference,))]
    if len(got) != len(ref) or any(g.shape != r.shape for g, r in zip(got, ref)):
        raise ValueError("reference: expected arrays of the same shapes as got")
    scale = max(float(np.abs(r).max()) if r.size else 0.0 for r in ref)
    err = max(float(np.abs(g - r).max()) if r.size else 0.0 for g, r in zip(got, ref))
    return err / max(scale, 1e-300)


def hessian_fd(grad: Callable[[np.ndarray], np.ndarray], x, h=1e-3, richardson: bool = True) -> np.ndarray:
    r"""Hessian of a function from its gradient by central differences, symmetrised (H + H^T)/2.

    Column k is D_h = (g(x + h e_k) - g(x - h e_k)) / (2h); with ``richardson`` it is (4 D_{h/2} - D_h) / 3,
    whose error is O(h^4 g^{(5)}): exact (up to rounding) when g is a polynomial of degree <= 4, as the gradient
    of R_\infty (a cubic) is.

    >>> H = hessian_fd(lambda x: np.array([3 * x[0] ** 2 * x[1], x[0] ** 3]), [1.0, 2.0])
    >>> H.round(10).tolist()
    [[12.0, 3.0], [3.0, 0.0]]
    >>> hessian_fd(lambda x: x, [[1.0]])
    Traceback (most recent call last):
    ...
    ValueError: x: expected a 1-d array, got shape (1, 1)
    """
    if not callable(grad):
        raise TypeError(f"grad: expected a callable, got {type(grad).__name__}")
    x = as_array(x, "x", ndim=1)
    h = positive_float(h, "h")
    n = x.size

    def column(k: int, step: float) -> np.ndarray:
        xp, xm = x.copy(), x.copy()
        xp[k] += step
        xm[k] -= step
        gp = np.asarray(grad(xp), dtype=float)
        gm = np.asarray(grad(xm), dtype=float)
        if gp.shape != (n,):
            raise ValueError(f"grad: expected a gradient of shape ({n},), got {gp.shape}")
        return (gp - gm) / (2.0 * step)

    H = np.empty((n, n))
    for k in range(n):
        Dh = column(k, h)
        H[:, k] = (4.0 * column(k, h / 2.0) - Dh) / 3.0 if richardson else Dh
    return (H + H.T) / 2.0


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
    differences (:func:`hessian_fd`) of the closed-form gradient :func:`icl_risk_gradient` (exact for its cubic).

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


def rk4(rhs: Callable[[float, np.ndarray], np.ndarray], y0, t_end, n_steps, record_every: int = 1,
        grading=1.0):
    r"""Classical Runge-Kutta 4 for y' = rhs(t, y) on [0, t_end] with n_steps steps (local error O(h^5)).

    The mesh is t_k = t_end (k / n_steps)^grading: uniform for ``grading`` = 1, refined near t = 0 (where a
    gradient flow from a large initialisation moves fastest) for ``grading`` > 1.
    Returns (ts, ys): the times and states every ``record_every`` steps (both ends included).

    >>> ts, ys = rk4(lambda t, y: -y, [1.0], 1.0, 100)
    >>> bool(abs(ys[-1, 0] - np.exp(-1.0)) < 1e-9)
    True
    >>> ts, ys = rk4(lambda t, y: -y, [1.0], 1.0, 100, grading=2.0)
    >>> bool(abs(ys[-1, 0] - np.exp(-1.0)) < 1e-8), ts[:3].tolist()
    (True, [0.0, 0.0001, 0.0004])
    >>> rk4(lambda t, y: -y, [1.0], 1.0, 0)
    Traceback (most recent call last):
    ...
    ValueError: n_steps: must be >= 1, got 0
    """
    if not callable(rhs):
        raise TypeError(f"rhs: expected a callable, got {type(rhs).__name__}")
    y = as_array(y0, "y0", ndim=1).copy()
    t_end = positive_float(t_end, "t_end")
    n_steps = positive_int(n_steps, "n_steps")
    record_every = positive_int(record_every, "record_every")
    grading = positive_float(grading, "grading")
    if grading < 1.0:
        raise ValueError(f"grading: must be >= 1, got {grading}")
    mesh = t_end * (np.arange(n_steps + 1) / n_steps) ** grading
    ts, ys = [0.0], [y.copy()]
    for k in range(n_steps):
        t, h = mesh[k], mesh[k + 1] - mesh[k]
        k1 = rhs(t, y)
        k2 = rhs(t + h / 2, y + h / 2 * k1)
        k3 = rhs(t + h / 2, y + h / 2 * k2)
        k4 = rhs(t + h, y + h * k3)
        y = y + h / 6 * (k1 + 2 * k2 + 2 * k3 + k4)
        if not np.all(np.isfinite(y)):
            raise ValueError(f"rhs: the solution left the finite range at t = {mesh[k + 1]:.6g}")
        if (k + 1) % record_every == 0 or k + 1 == n_steps:
            ts.append(float(mesh[k + 1]))
            ys.append(y.copy())
    return np.array(ts), np.array(ys)


@dataclass(frozen=True)
class Trajectory:
    """A recorded flow on the invariant subspace: times t (n,), A (n, d, d), b (n,)."""

    t: np.ndarray
    A: np.ndarray
    b: np.ndarray

    @property
    def balance(self) -> np.ndarray:
        """The conserved quantity ||A||_F^2 - b^2 along the trajectory."""
        return np.einsum("nij,nij->n", self.A, self.A) - self.b**2


def invariant_flow(A0, b0, Sigma, t_end, n_steps, noise=0.0, record_every: int = 1, grading=1.0) -> Trajectory:
    r"""Integrate \dot A = b\Sigma^2 - b^2\Sigma^2 A\Sigma, \dot b = tr(A^T\Sigma^2) - b tr(A^T\Sigma^2 A\Sigma) by :func:`rk4`.

    This right-hand side is -\nabla R_\infty on the invariant subspace (the identity is machine-checked by the
    statement "icl-gradient" and by tests against :func:`invariant_flow_rhs`); it is written out here only
    for speed (a few 3x3 products per stage).  The label noise does not enter it (u = 0).

    >>> tr = invariant_flow([[4.0]], 4.0, [[0.25]], t_end=200.0, n_steps=4000, record_every=4000)
    >>> round(float(tr.A[-1, 0, 0]), 8), round(float(tr.b[-1]), 8)   # -> Sigma^{-1/2} = 2 (d = 1, balanced)
    (2.0, 2.0)
    """
    S = _sigma(Sigma)
    d = S.shape[0]
    A0 = as_matrix(A0, "A0", shape=(d, d))
    b0 = real(b0, "b0")
    nonnegative_float(noise, "noise")
    S2 = S @ S

    def rhs(t, y):
        A, b = y[:-1].reshape(d, d), y[-1]
        S2A = S2 @ A
        Adot = b * S2 - b * b * (S2A @ S)
        bdot = np.einsum("ij,ij->", A, S2) - b * np.einsum("ij,ij->", A, S2A @ S)  # tr(A^T X) = <A, X>
        return np.concatenate([Adot.reshape(-1), [bdot]])

    ts, ys = rk4(rhs, np.concatenate([A0.reshape(-1), [b0]]), t_end, n_steps, record_every, grading)
    return Trajectory(ts, ys[:, :-1].reshape(-1, d, d), ys[:, -1])


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
    S2 = S @ S

    def rhs(t, y):
        Y = y.reshape(n, d * d + 1)
        A, b = Y[:, :-1].reshape(n, d, d), Y[:, -1]
        S2AS = S2 @ A @ S
        Adot = b[:, None, None] * S2 - (b * b)[:, None, None] * S2AS
        bdot = np.einsum("kij,ij->k", A, S2) - b * np.einsum("kij,kij->k", A, S2AS)
        return np.concatenate([Adot.reshape(n, -1), bdot[:, None]], axis=1).reshape(-1)

    y0 = np.concatenate([A0s.reshape(n, -1), b0s[:, None]], axis=1).reshape(-1)
    _, ys = rk4(rhs, y0, t_end, n_steps, record_every=n_steps, grading=grading)
    Y = ys[-1].reshape(n, d * d + 1)
    return Y[:, :-1].reshape(n, d, d), Y[:, -1]


# ------------------------------------------------------------------------------ evidence helpers (statement icl-gradient)
#
# Points, independent references and planted slips for the checks of proofs/icl_gradient_flow.py.  References
# never call the formula under test: the gradient's reference differentiates R_\infty (its established closed
# form, and at d = 1, 2 the quadrature of its definition); the flow's reference differentiates R_\infty at the
# invariant point; trajectories are integrated by an error-controlled method with stated tolerances.

_CACHE: dict = {}


def _memo(key, compute):
    """Deterministic results keyed by their exact inputs (a mutant run sees the same points: reuse them)."""
    if key not in _CACHE:
        if len(_CACHE) > 512:
            _CACHE.clear()
        _CACHE[key] = compute()
    return _CACHE[key]


def _key(*arrays) -> tuple:
    return tuple(np.asarray(x, dtype=float).tobytes() + str(np.shape(x)).encode() for x in arrays)


def gradient_points(rng, dims=range(1, 7), per_dim: int = 2, quadrature_dims=(1,), definition_dims=(2, 3)) -> list[dict]:
    r"""Random (U, V, \Sigma, s) at each d in ``dims`` (``per_dim`` each; reference: Richardson differences of the
    closed form R_\infty), one point per d in ``quadrature_dims`` (reference: 40-digit differences of the
    quadrature of the definition, :func:`icl_risk_gradient_quadrature_fd`; 3^{2d+1} mpmath nodes per evaluation,
    1.3 s at d = 2, so d = 1 by default) and one per d in ``definition_dims`` (reference: the definition
    differentiated under the integral on the exact float64 Gauss-Hermite rule,
    :func:`verify.icl.references.gradient_definition`; milliseconds)."""
    from verify.numerics.strategies import random_covariance, random_matrix

    pts = []
    for d, ref in ([(d, "closed form") for d in dims for _ in range(per_dim)] + [(d, "quadrature") for d in quadrature_dims]
                   + [(d, "definition") for d in definition_dims]):
        S = random_covariance(d, rng)
        U, V = random_matrix(d + 1, rng, 0.7), random_matrix(d + 1, rng, 0.7)
        pts.append({"dim": d, "U": U, "V": V, "Sigma": S, "noise": float(rng.uniform(0.0, 0.5)), "reference": ref,
                    "label": f"d={d} ({ref})"})
    return pts


def gradient_of(formula: Callable) -> Callable[[dict], tuple]:
    """The subject p -> formula(U, V, \\Sigma, s) (a gradient formula, or a slip of it)."""
    return lambda p: formula(p["U"], p["V"], p["Sigma"], p["noise"])


def icl_risk_gradient_quadrature_fd(U, V, Sigma, noise=0.0, dps: int = 40, h: str = "1e-12"):
    r"""Central differences (step ``h``, at ``dps`` digits) of :func:`verify.icl.risk.icl_risk_infinite_quadrature`,
    the Gauss-Hermite quadrature of the *definition* 1/2 E[(p_\infty - y_q)^2]: neither the closed form of
    R_\infty nor its gradient is used.  Error O(h^2) ~ 1e-24 plus rounding 10^{-dps}/h.  3^{2d+1} nodes per
    evaluation, 4 (d+1)^2 evaluations: meant for d <= 2."""
    from mpmath import mp

    from verify.icl.risk import icl_risk_infinite_quadrature

    S = _sigma(Sigma)
    d = S.shape[0]
    U, V = _uv(U, V, d)
    noise = nonnegative_float(noise, "noise")

    def compute():
        out = []
        with mp.workdps(dps):
            step = mp.mpf(h)
            for which in (0, 1):
                M = U if which == 0 else V
                G = np.zeros((d + 1, d + 1))
                for i in range(d + 1):
                    for j in range(d + 1):
                        def f(x):
                            Mx = [[mp.mpf(float(v)) for v in row] for row in M]
                            Mx[i][j] += x
                            args = (Mx, V) if which == 0 else (U, Mx)
                            return icl_risk_infinite_quadrature(*args, S, noise, dps=dps)
                        G[i, j] = float((f(step) - f(-step)) / (2 * step))
                out.append(G)
        return tuple(out)

    return _memo(("quadrature-fd", dps, h, noise) + _key(U, V, S), compute)


def gradient_reference(p: dict) -> tuple:
    """The independent reference of a gradient point (see :func:`gradient_points`)."""
    if p["reference"] == "quadrature":
        return icl_risk_gradient_quadrature_fd(p["U"], p["V"], p["Sigma"], p["noise"])
    if p["reference"] == "definition":
        from verify.icl.references import gradient_definition

        return gradient_definition(p["U"], p["V"], p["Sigma"], p["noise"])
    return _memo(("closed-form-fd", p["noise"]) + _key(p["U"], p["V"], p["Sigma"]),
                 lambda: icl_risk_gradient_fd(p["U"], p["V"], p["Sigma"], p["noise"], h=1e-2, richardson=True))


def _slip(variant: str):
    def grad(U, V, Sigma, noise=0.0):
        S = _sigma(Sigma)
        d = S.shape[0]
        U, V = _uv(U, V, d)
        gU, gV = icl_risk_gradient(U, V, S, noise)
        U11, u, a, b = U[:d, :d], U[d, :d], V[d, :d], V[d, d]
        c0, M = _c0_and_M(U11, u, a, b, S, noise**2)
        e = c0 + b * np.trace(S) * u
        if variant == "transposed":
            gU[:d, :d] = gU[:d, :d].T
        elif variant == "dropped":
            gU[d, :d] -= 2.0 * np.trace(S @ S) * b * b * S @ u
        elif variant == "factor2":
            gV[d, :d] *= 2.0
        elif variant == "M":
            gU[:d, :d] = np.outer(S @ a, S @ e) + b * S @ M @ S
        elif variant == "U11T":
            gV[d, :d] = S @ U11.T @ S @ e + S @ M.T @ S @ u
        return gU, gV

    return grad


GRADIENT_SLIPS = {
    "transposed": _slip("transposed"),   # \nabla_{U11} transposed
    "dropped": _slip("dropped"),         # \kappa b^2 \Sigma u dropped from \nabla_u
    "factor2": _slip("factor2"),         # 2 \nabla_a
    "M": _slip("M"),                     # M for M^T in \nabla_{U11}
    "U11T": _slip("U11T"),               # U11^T for U11 in \nabla_a
}
"""Planted slips of :func:`icl_risk_gradient` (same signature), for mutants and tests."""


def max_relative_error_to_reference(p: dict, subject: Callable) -> float:
    """max |subject - reference| / max |reference| at a gradient point."""
    return max_relative_error(subject(p), gradient_reference(p))


# ------------------------------------------------------------------------------ the invariant flow


def paper_flow(A, b, Sigma) -> tuple[np.ndarray, float]:
    r"""The paper's printed flow (Sec. 5):  \dot A = b\Sigma^2 - b^2\Sigma^2 A\Sigma,
    \dot b = tr(A^T\Sigma^2) - b tr(A^T\Sigma^2 A\Sigma)  (unchecked inputs: a fast right-hand side).

    >>> Adot, bdot = paper_flow(np.array([[1.0]]), 1.0, np.array([[0.25]]))
    >>> Adot.tolist(), bdot
    ([[0.046875]], 0.046875)
    """
    S2 = Sigma @ Sigma
    S2AS = S2 @ A @ Sigma
    return b * S2 - b * b * S2AS, float(np.einsum("ij,ij->", A, S2) - b * np.einsum("ij,ij->", A, S2AS))


def _transposed_flow(A, b, Sigma):
    S2 = Sigma @ Sigma
    return b * S2 - b * b * Sigma @ A.T @ S2, paper_flow(A, b, Sigma)[1]


def _wrong_sign_flow(A, b, Sigma):
    Adot, _ = paper_flow(A, b, Sigma)
    S2 = Sigma @ Sigma
    return Adot, float(-np.einsum("ij,ij->", A, S2) - b * np.einsum("ij,ij->", A, S2 @ A @ Sigma))


def _swapped_flow(A, b, Sigma):
    S2 = Sigma @ Sigma
    return b * S2 - b * b * Sigma @ A @ S2, paper_flow(A, b, Sigma)[1]


FLOW_SLIPS = {
    "transposed": _transposed_flow,   # b\Sigma^2 - b^2 \Sigma A^T \Sigma^2
    "wrong sign": _wrong_sign_flow,   # \dot b = -tr(A^T\Sigma^2) - b tr(A^T\Sigma^2 A\Sigma)
    "swapped": _swapped_flow,         # \Sigma A \Sigma^2 for \Sigma^2 A \Sigma
}
"""Planted slips of :func:`paper_flow` (same signature)."""


def flow_points(rng, dims=(2, 3, 4)) -> list[dict]:
    """Random \\Sigma, non-symmetric A and b in [0.5, 1.5] at each d."""
    from verify.numerics.strategies import random_covariance, random_matrix

    return [{"dim": d, "Sigma": random_covariance(d, rng), "A": random_matrix(d, rng), "b": float(rng.uniform(0.5, 1.5))}
            for d in dims]


def flow_discrepancy(p: dict, flow: Callable) -> float:
    r"""max relative difference between flow(A, b, \Sigma) and -\nabla R_\infty at U = diag(A, 0),
    V = b e e^T, the latter by Richardson differences of the closed form R_\infty (never a flow formula)."""
    from verify.icl.risk import invariant_point

    A, b, S = p["A"], p["b"], p["Sigma"]
    d = S.shape[0]
    Adot, bdot = flow(A, b, S)
    U, V = invariant_point(A, b, d)
    fU, fV = _memo(("inv-fd",) + _key(U, V, S), lambda: icl_risk_gradient_fd(U, V, S, h=1e-2, richardson=True))
    ref = np.concatenate([-fU[:d, :d].ravel(), [-fV[d, d]]])
    return max_relative_error(np.concatenate([np.asarray(Adot).ravel(), [bdot]]), ref)


def flow_trajectory(flow: Callable, A0, b0, Sigma, t_end: float, rtol: float = 1e-13, atol: float = 1e-15):
    r"""Integrate (\dot A, \dot b) = flow(A, b, \Sigma) on [0, t_end] by DOP853 (scipy ``solve_ivp``, error
    controlled: every accepted step's error estimate e satisfies RMS(e_i / (atol + rtol |y_i|)) <= 1).
    Returns (t, Y): every accepted step (rows y = (vec A, b))."""
    from scipy.integrate import solve_ivp

    S = _sigma(Sigma)
    d = S.shape[0]
    A0 = as_matrix(A0, "A0", shape=(d, d))
    b0 = real(b0, "b0")

    def rhs(t, y):
        Adot, bdot = flow(y[:-1].reshape(d, d), y[-1], S)
        return np.concatenate([np.asarray(Adot).ravel(), [bdot]])

    def compute():
        def blow_up(t, y):  # a (wrong) flow that escapes to infinity stops here instead of crawling
            return 1e6 - np.abs(y).max()

        blow_up.terminal = True
        sol = solve_ivp(rhs, (0.0, positive_float(t_end, "t_end")), np.concatenate([A0.ravel(), [b0]]),
                        method="DOP853", rtol=rtol, atol=atol, events=blow_up)
        if not sol.success:
            raise ValueError(f"flow: the integrator failed: {sol.message}")
        return sol.t, sol.y.T

    return _memo(("traj", flow, t_end, rtol, atol) + _key(A0, b0, S), compute)


def balance(Y) -> np.ndarray:
    """||A||_F^2 - b^2 for rows y = (vec A, b)."""
    return (Y[:, :-1] ** 2).sum(1) - Y[:, -1] ** 2


def sum_of_squares(Y) -> np.ndarray:
    """||A||_F^2 + b^2 for rows y = (vec A, b) (not conserved)."""
    return (Y[:, :-1] ** 2).sum(1) + Y[:, -1] ** 2


def trajectory_points(rng, dims=(2, 3, 4), t_end: float = 20.0) -> list[dict]:
    """The generic trajectories of the balance checks: Toeplitz(0.5) \\Sigma, A0 = A/2 with A non-symmetric
    Gaussian, b0 in [0.5, 1]."""
    from verify.icl.risk import toeplitz_sigma
    from verify.numerics.strategies import random_matrix

    return [{"dim": d, "Sigma": toeplitz_sigma(d, 0.5), "A0": 0.5 * random_matrix(d, rng),
             "b0": float(rng.uniform(0.5, 1.0)), "t_end": t_end} for d in dims]


def conservation_drift(p: dict, subject, rtol: float = 1e-13, atol: float = 1e-15) -> tuple[float, float, int]:
    r"""(drift, allowed, steps) of the quantity Q along the flow, subject = (flow, Q), Q one of :func:`balance`,
    :func:`sum_of_squares`.

    drift = max_t |Q(y(t)) - Q(y(0))| from :func:`flow_trajectory`.  Allowed = what the integrator's stated
    tolerance permits for an exactly conserved Q: the exact flow keeps Q, so Q(y_N) - Q(y_0) is the sum over
    steps of Q(y_{k+1}) - Q(\phi_h(y_k)), each at most ||\nabla Q|| ||le_k|| with the local error
    ||le_k||_2 <= \sqrt n max_i (atol + rtol |y_{k+1,i}|) (the RMS error test) and ||\nabla Q|| = 2 ||y|| for
    Q = ||A||^2 -+ b^2; no error amplification enters (Q is conserved from every state)."""
    flow, Q = subject
    t, Y = flow_trajectory(flow, p["A0"], p["b0"], p["Sigma"], p["t_end"], rtol, atol)
    q = Q(Y)
    drift = float(np.abs(q - q[0]).max())
    n = Y.shape[1]
    per_step = 2.0 * np.linalg.norm(Y[1:], axis=1) * np.sqrt(n) * (atol + rtol * np.abs(Y[1:]).max(axis=1))
    return drift, float(per_step.sum()), len(t) - 1


def drift_ratio(p: dict, subject) -> float:
    """Drift of Q in units of the allowed drift (:func:`conservation_drift`): <= 1 for a conserved Q."""
    drift, allowed, _ = conservation_drift(p, subject)
    return drift / allowed


def relative_change(p: dict, subject) -> float:
    """max_t |Q(t) - Q(0)| / |Q(0)| along the trajectory of ``p``, subject = (flow, Q)."""
    flow, Q = subject
    _, Y = flow_trajectory(flow, p["A0"], p["b0"], p["Sigma"], p["t_end"])
    q = Q(Y)
    return float(np.abs(q - q[0]).max() / max(abs(q[0]), 1e-300))


# ------------------------------------------------------------------------------ balanced flow -> (U*, V*)


def balanced_points(rng, Sigmas, alphas, **settings) -> list[dict]:
    r"""The paper's initialisation U(0) = \alpha diag(P, 0), V(0) = \alpha e e^T, P = \Theta\Theta^T / ||\Theta\Theta^T||_F
    (\Theta Gaussian), for each \Sigma (array, or callable rng -> array) and \alpha.  ``settings`` (``t_end``,
    ``n_steps``, ``grading`` of :func:`balanced_endpoint`) are stored in every point."""
    pts = []
    for Sig in Sigmas:
        S = _sigma(Sig(rng) if callable(Sig) else Sig)
        d = S.shape[0]
        batch = []  # the points of one Sigma, integrated together (balanced_endpoint)
        for alpha in alphas:
            Theta = np.ones((1, 1)) if d == 1 else rng.standard_normal((d, d))  # d = 1: P = 1 whatever Theta
            P = Theta @ Theta.T
            batch.append({"dim": d, "Sigma": S, "alpha": float(alpha), "P": P / np.linalg.norm(P),
                          "label": f"d={d}, alpha={alpha}", "batch": batch, **settings})
        pts += batch
    return pts


def balanced_endpoint(p: dict, t_end: float = 300.0, n_steps: int | None = None, grading: float | None = None):
    r"""(U, V) at t_end of the flow from the balanced initialisation (RK4 on a graded mesh, :func:`invariant_flow`)."""
    from verify.icl.risk import invariant_point

    d = p["dim"]
    t_end = p.get("t_end", t_end)
    n_steps = n_steps or p.get("n_steps", 10000)
    grading = grading or p.get("grading", 3.0)

    def key(q):
        return ("balanced", t_end, n_steps, grading, q["alpha"]) + _key(q["P"], q["Sigma"])

    def compute():  # every point of the same batch (same Sigma) in one integration; each is memoised
        batch = [q for q in p.get("batch", [p]) if key(q) not in _CACHE or q is p]
        batch = batch if any(q is p for q in batch) else [p]
        A, b = invariant_flow_endpoints(np.array([q["alpha"] * q["P"] for q in batch]),
                                        np.array([q["alpha"] for q in batch]), p["Sigma"], t_end, n_steps, grading)
        for q, Aq, bq in zip(batch, A, b):
            if q is not p:
                _memo(key(q), lambda Aq=Aq, bq=bq: invariant_point(Aq, bq, d))
        return invariant_point(A[next(k for k, q in enumerate(batch) if q is p)], b[next(k for k, q in enumerate(batch) if q is p)], d)

    return _memo(key(p), compute)


def balanced_limit_distance(p: dict, limit: Callable) -> float:
    r"""Relative distance of the flow's endpoint to limit(\Sigma) = (U_\star, V_\star):
    max(max|U - U_\star| / max|U_\star|, |V_{d+1,d+1} - V_{\star,d+1,d+1}| / |V_{\star,d+1,d+1}|)."""
    d = p["dim"]
    U, V = balanced_endpoint(p)
    Us, Vs = limit(p["Sigma"])
    return float(max(np.abs(U - Us).max() / np.abs(Us).max(), abs(V[d, d] - Vs[d, d]) / abs(Vs[d, d])))


def _limit_slip(power_U: float, power_V: float):
    def limit(Sigma):
        from verify.icl.risk import invariant_point

        S = _sigma(Sigma)
        Si = np.linalg.inv(S)
        Si = (Si + Si.T) / 2
        t = np.trace(Si @ Si)
        return invariant_point(Si * t**power_U, t**power_V, S.shape[0])

    return limit


LIMIT_SLIPS = {
    "U+1/4": _limit_slip(0.25, 0.25),   # U_\star = tr(\Sigma^{-2})^{+1/4} diag(\Sigma^{-1}, 0)
    "swapped": _limit_slip(0.25, -0.25),  # exponents of U_\star and V_\star swapped
    "no trace": _limit_slip(0.0, 0.0),   # U_\star = diag(\Sigma^{-1}, 0), V_\star = e e^T
}
"""Planted slips of :func:`verify.icl.risk.bayes_point` (same signature)."""


# ------------------------------------------------------------------------------ fast exact polynomial algebra (derivations)


def _poly_gens(*exprs) -> list:
    import sympy as sp

    free = set()
    for e in exprs:
        for x in (e if isinstance(e, sp.MatrixBase) else [e]):
            free |= sp.sympify(x).free_symbols
    return sorted(free, key=str)


def _poly_equal_test(lhs, rhs):
    import sympy as sp

    L = lhs if isinstance(lhs, sp.MatrixBase) else sp.Matrix([lhs])
    R = rhs if isinstance(rhs, sp.MatrixBase) else sp.Matrix([rhs])
    if L.shape != R.shape:
        return False, f"shapes differ: {L.shape} vs {R.shape}"
    gens = _poly_gens(L, R)
    for k, (x, y) in enumerate(zip(L, R)):
        diff = sp.sympify(x - y)
        if gens and not sp.Poly(diff, *gens).is_zero or not gens and diff != 0:
            return False, f"entry {k}: the difference is a non-zero polynomial"
    return True, f"{len(L)} entries: lhs - rhs is the zero polynomial in {len(gens)} symbols"


def polynomial_equal():
    """A derivation relation for polynomial identities: lhs - rhs is the zero polynomial (expanded exactly by
    ``sympy.Poly`` in every free symbol; much faster than general simplification on large polynomials)."""
    from verify.kernel.derivation import relation

    return relation("polynomial identity", _poly_equal_test)


def polynomial_gradient(R, *matrices):
    r"""Entry-wise partial derivatives of the polynomial R in every entry of each matrix, side by side
    (``sympy.Poly.diff``: exact, fast on large polynomials).

    >>> import sympy as sp
    >>> x, y = sp.symbols("x y")
    >>> polynomial_gradient(x**2 * y, sp.Matrix([[x, y]]))
    Matrix([[2*x*y, x**2]])
    """
    import sympy as sp

    gens = _poly_gens(R)
    P = sp.Poly(R, *gens) if gens else None
    blocks = [sp.Matrix(M).applyfunc(lambda v: P.diff(v).as_expr() if P is not None and v in gens else sp.Integer(0))
              for M in matrices]
    return sp.Matrix.hstack(*blocks)
