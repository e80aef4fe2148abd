r"""Gradient of the infinite-prompt ICL risk R_\infty, its gradient flow, and finite-difference helpers.

Setting of Sec. 5 of the paper (Theorem 5.1 v1 / 5.2 v2), with optional label noise ``noise`` = s >= 0 (same
convention as :mod:`verify.icl`).  Blocks of U, V in R^{(d+1)x(d+1)}:

    U11 = U[:d,:d],  u = U[d,:d]^T,  a = V[d,:d]^T,  b = V[d,d];   the last column of U and the first d rows
    of V do not enter R_\infty (their gradient is 0).

With T = tr \Sigma, \kappa = 2 tr(\Sigma^2),

    c0 = U11^T \Sigma a + b s^2 u,   M = b U11^T \Sigma + u a^T \Sigma - I,   e = c0 + b T u,
    R_\infty = 1/2 [ e^T \Sigma e + \kappa b^2 u^T \Sigma u + tr(M^T \Sigma M) + s^2 ]

(the same polynomial as the closed form of :func:`verify.icl.icl_risk_infinite`, regrouped: a sum of three
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
>>> from verify.icl import bayes_point, toeplitz_sigma
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

from .icl import _c0_and_M, _sigma, _uv, icl_risk_infinite
from .validation import as_array, as_matrix, nonnegative_float, positive_float, positive_int, real

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
    "invariant_flow",
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


def central_difference(f: Callable[[np.ndarray], float], X, h=1e-5, name: str = "X") -> np.ndarray:
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
    for k in range(X.size):
        Xp = X.copy().reshape(-1)
        Xm = X.copy().reshape(-1)
        Xp[k] += h
        Xm[k] -= h
        flat[k] = (float(f(Xp.reshape(X.shape))) - float(f(Xm.reshape(X.shape)))) / (2.0 * h)
    return G


def icl_risk_gradient_fd(U, V, Sigma, noise=0.0, h=1e-5) -> tuple[np.ndarray, np.ndarray]:
    r"""Reference gradient: central differences of the *risk* :func:`verify.icl.icl_risk_infinite`
    (never of :func:`icl_risk_gradient`), over all 2 (d+1)^2 entries of U and V.

    >>> gU, gV = icl_risk_gradient_fd(np.zeros((2, 2)), np.eye(2), [[1.0]])
    >>> gU.round(6).tolist(), gV.round(6).tolist()
    ([[-1.0, 0.0], [0.0, 0.0]], [[0.0, 0.0], [0.0, 0.0]])
    """
    S = _sigma(Sigma)
    d = S.shape[0]
    U, V = _uv(U, V, d)
    gU = central_difference(lambda X: icl_risk_infinite(X, V, S, noise), U, h, "U")
    gV = central_difference(lambda X: icl_risk_infinite(U, X, S, noise), V, h, "V")
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

    >>> from verify.icl import bayes_point
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
