r"""Attention dynamics on a measure (Castin, Ablin, Carrillo & Peyre 2025): the numerics.

Tokens are a probability measure \mu_t moved by the attention velocity field (the "Transformer PDE")

    \partial_t \mu_t + \mathrm{div}(\mu_t\, T[\mu_t]) = 0,     T[\mu](x) = V \int e^{<Ky, Qx>} y\, d\mu(y) / \int e^{<Ky, Qx>} d\mu(y).

For \mu_t = N(m, \Gamma) the field is affine (Lemma 2.1):  T[\mu](x) = V m + V\Gamma A x,  A = K^T Q,  so \mu_t stays
Gaussian with (statement ``attention-dynamics``, derived there in SymPy)

    \dot m = V(m + \Gamma A m),      \dot\Gamma = V\Gamma A\Gamma + \Gamma A^T\Gamma V^T.

* :func:`mean_rhs`, :func:`cov_rhs`: float64 kernels of those right-hand sides (the statement checks them against its
  SymPy ODEs, ``numpy-kernel``);
* :func:`moment_flow`: the moment ODEs by DOP853 (:func:`verify.numerics.ode.integrate`, rtol/atol stated), stopped
  by an event when tr \Gamma reaches :data:`BLOWUP_TRACE`; a :class:`verify.numerics.ode.Trajectory` whose state is
  (m, vec \Gamma) (:func:`moments` reads them out), whose ``event_time`` is the blow-up time; the right-hand sides
  are arguments, so a planted wrong ODE is integrated too;
* :func:`attention_field`: softmax attention of every particle on the empirical measure of the particles, chunked
  over queries (memory ``chunk`` x N floats per replica, never N x N), log-sum-exp per query;
* :func:`particle_flow`: N particles (R independent replicas at once) moved by that field, classical RK4 with a
  fixed step; :func:`particle_moments` the replica estimates of mean and covariance;
* :func:`riccati_isotropic`: the exact solution \Gamma(t) = \Gamma_0 (I - 2 s t \Gamma_0)^{-1} when V = vI, A = aI
  (s = va): blow-up at :func:`blowup_time` t_* = 1/(2 s \lambda_{max}(\Gamma_0)) for s > 0, collapse
  \Gamma ~ I/(2|s|t) for s < 0; :func:`riccati_error` measures a moment flow against it.

Finite-N particles never blow up: each velocity is a convex combination of the V x_j, so
|\dot x_i| <= ||V|| max_j |x_j| and max_i |x_i| grows at most like e^{||V|| t}; the finite-time blow-up of the
Gaussian ODE is a property of the mean-field limit alone (``verify dynamics`` measures where they part).

>>> K = Q = V = np.eye(2)
>>> p = moment_flow(K, Q, V, [0.0, 0.0], np.eye(2) * 0.5, [0.5, 1.1])
>>> mean, cov = moments(p)
>>> bool(np.allclose(cov[0], riccati_isotropic(np.eye(2) * 0.5, 1.0, 0.5), rtol=1e-8)), bool(np.isnan(cov[1]).all())
(True, True)
>>> abs(p.event_time - blowup_time(np.eye(2) * 0.5, 1.0)) < 1e-3   # t_* = 1
True
>>> X = np.random.default_rng(0).standard_normal((3, 50, 2))
>>> bool(np.allclose(attention_field(X, K, Q, V, chunk=7), attention_field(X, K, Q, V, chunk=50)))
True
"""

from __future__ import annotations

from typing import Callable, Sequence

import numpy as np

from verify._validation import as_array, as_matrix, as_vector, covariance, positive_float, positive_int, real
from verify.numerics.measures import covariance_root
from verify.numerics.montecarlo import mean_estimate
from verify.numerics.ode import Trajectory, integrate

__all__ = [
    "mean_rhs", "cov_rhs", "moment_flow", "moments", "moment_values", "attention_field", "particle_flow",
    "particle_moments", "riccati_isotropic", "blowup_time", "riccati_error", "sample_replicas",
    "replica_moment_estimates", "replica_covariances", "BLOWUP_TRACE", "DEFAULT_RTOL", "DEFAULT_ATOL",
    "DEFAULT_CHUNK_FLOATS",
]

DEFAULT_RTOL, DEFAULT_ATOL = 1e-10, 1e-12
BLOWUP_TRACE = 1e8
"""The moment flow stops (event) when tr \\Gamma exceeds this: numerically, the covariance has blown up."""
DEFAULT_CHUNK_FLOATS = 1 << 22
"""Score floats held at once by :func:`attention_field` (32 MB): the query chunk is this / (replicas * N)."""


def _kqv(K, Q, V):
    K = as_matrix(K, "K")
    d = K.shape[0]
    return as_matrix(K, "K", (d, d)), as_matrix(Q, "Q", (d, d)), as_matrix(V, "V", (d, d))


def mean_rhs(K, Q, V, m, G):
    r"""\dot m = V(m + \Gamma K^T Q m)  (numpy)."""
    return V @ (m + G @ (K.T @ (Q @ m)))


def cov_rhs(K, Q, V, m, G):
    r"""\dot\Gamma = V\Gamma A\Gamma + \Gamma A^T\Gamma V^T,  A = K^T Q  (numpy)."""
    M = V @ G @ K.T @ Q
    return M @ G + G @ M.T


def moment_flow(K, Q, V, m0, G0, times: Sequence[float], *, mean_field: Callable = mean_rhs, cov_field: Callable = cov_rhs,
                rtol: float = DEFAULT_RTOL, atol: float = DEFAULT_ATOL) -> Trajectory:
    r"""Integrate the moment ODEs from (m_0, \Gamma_0) and report them at ``times`` (increasing, >= 0).

    DOP853 (:func:`verify.numerics.ode.integrate`) with ``rtol``/``atol``; the state is (m, vec \Gamma); a terminal
    event stops at tr \Gamma = :data:`BLOWUP_TRACE` (``event_time``), and the requested times after it are NaN rows.
    An integrator that fails (steps below the spacing of floats) gives a ``diverged`` trajectory of NaN."""
    K, Q, V = _kqv(K, Q, V)
    d = K.shape[0]
    m0 = as_vector(m0, "m0", d)
    G0 = covariance(G0, "G0", d, allow_singular=True)
    ts = as_array(times, "times", ndim=1)
    if ts.size == 0 or np.any(ts < 0) or np.any(np.diff(ts) <= 0):
        raise ValueError(f"times: expected increasing non-negative times, got {ts.tolist()}")

    def rhs(t, y):
        m, G = y[:d], y[d:].reshape(d, d)
        return np.concatenate([mean_field(K, Q, V, m, G), np.asarray(cov_field(K, Q, V, m, G)).ravel()])

    out = np.full((ts.size, d + d * d), np.nan)
    method = f"DOP853 rtol={rtol:g} atol={atol:g}"
    try:
        path = integrate(rhs, np.concatenate([m0, G0.ravel()]), float(ts[-1]), rtol=rtol, atol=atol, t_eval=ts,
                         stop=lambda t, y: BLOWUP_TRACE - float(np.trace(y[d:].reshape(d, d))))
    except ValueError:
        return Trajectory(ts, out, method, diverged=True)
    out[:len(path.t)] = path.y
    return Trajectory(ts, out, path.method, nfev=path.nfev, event_time=path.event_time)


def moments(path: Trajectory) -> tuple[np.ndarray, np.ndarray]:
    """The means (n, d) and covariances (n, d, d) of a :func:`moment_flow` trajectory (state (m, vec Gamma))."""
    k = path.y.shape[1]
    d = int(round((-1 + (1 + 4 * k) ** 0.5) / 2))
    return path.y[:, :d], path.y[:, d:].reshape(-1, d, d)


def riccati_isotropic(G0, s: float, t: float) -> np.ndarray:
    r"""Exact \Gamma(t) = \Gamma_0 (I - 2 s t \Gamma_0)^{-1} for V = vI, A = K^T Q = aI, s = va (then
    \dot\Gamma = 2s\Gamma^2, whose solution this is: d/dt (\Gamma^{-1}) = -2sI).  ``ValueError`` past the blow-up."""
    G0 = covariance(G0, "G0")
    Minv = np.eye(G0.shape[0]) - 2.0 * float(s) * float(t) * G0
    if np.linalg.eigvalsh(Minv).min() <= 0:
        raise ValueError(f"t: {t} is at or past the blow-up time 1/(2 s lambda_max) = "
                         f"{1 / (2 * s * np.linalg.eigvalsh(G0).max()):.6g}")
    return G0 @ np.linalg.inv(Minv)


def blowup_time(G0, s: float) -> float | None:
    r"""t_* = 1/(2 s \lambda_{max}(\Gamma_0)), when the covariance of the isotropic case (V = vI, A = aI, s = va) blows
    up; ``None`` for s <= 0 (it collapses instead).

    >>> blowup_time([[0.5, 0.0], [0.0, 0.25]], 1.0), blowup_time([[1.0]], -1.0)
    (1.0, None)
    """
    G0, s = covariance(G0, "G0"), real(s, "s")
    return float(1.0 / (2 * s * np.linalg.eigvalsh(G0).max())) if s > 0 else None


def riccati_error(path: Trajectory, G0, s: float) -> float:
    r"""How far a :func:`moment_flow` of the isotropic case is from :func:`riccati_isotropic`: the worst relative
    error max|\Gamma - \Gamma_{exact}| / max|\Gamma_{exact}| over the recorded times before the blow-up (infinite
    where the flow is not finite), and for s > 0 the relative error |t_event - t_*| / t_* of the blow-up time
    (infinite when the flow never blew up)."""
    t_star = blowup_time(G0, s)
    _, covs = moments(path)
    errs = []
    for t, G in zip(path.t, covs):
        if t_star is None or t < t_star:
            E = riccati_isotropic(G0, s, t)
            errs.append(float(np.abs(G - E).max() / np.abs(E).max()) if np.all(np.isfinite(G)) else np.inf)
    if t_star is not None:
        errs.append(np.inf if path.event_time is None else abs(path.event_time - t_star) / t_star)
    return max(errs)


# ------------------------------------------------------------------------------------------ particles


def attention_field(X, K, Q, V, *, chunk: int | None = None) -> np.ndarray:
    r"""Softmax attention of every particle on the empirical measure of its replica:

        \dot x_i = \sum_j softmax_j(<K x_j, Q x_i>) V x_j,

    ``X`` of shape (N, d) or (R, N, d) (R independent replicas).  Queries are processed ``chunk`` at a time
    (default: :data:`DEFAULT_CHUNK_FLOATS` / (R N)), so memory is R x chunk x N floats, never N^2; each query's
    scores are shifted by their maximum (log-sum-exp), so large scores never overflow."""
    X = as_array(X, "X")
    single = X.ndim == 2
    if single:
        X = X[None]
    if X.ndim != 3 or X.shape[1] < 1:
        raise ValueError(f"X: expected shape (N, d) or (R, N, d) with N >= 1, got {X.shape}")
    R, N, d = X.shape
    K, Q, V = _kqv(K, Q, V)
    if K.shape[0] != d:
        raise ValueError(f"K: expected {d} x {d} matrices for d = {d} particles, got {K.shape}")
    if chunk is None:
        chunk = max(1, DEFAULT_CHUNK_FLOATS // (R * N))
    chunk = positive_int(chunk, "chunk")
    A = K.T @ Q
    keys = X                               # scores s_ij = x_j^T A x_i = x_j . (A x_i)
    VX = X @ V.T
    out = np.empty_like(X)
    for lo in range(0, N, chunk):
        u = X[:, lo:lo + chunk] @ A.T      # (R, b, d): A x_i
        s = u @ keys.transpose(0, 2, 1)    # (R, b, N)
        s -= s.max(axis=2, keepdims=True)
        np.exp(s, out=s)
        out[:, lo:lo + chunk] = (s @ VX) / s.sum(axis=2, keepdims=True)
    return out[0] if single else out


def particle_flow(X0, K, Q, V, times: Sequence[float], *, dt: float, chunk: int | None = None,
                  field: Callable = attention_field) -> list[np.ndarray]:
    """Particles moved by their own attention field, classical RK4 with the fixed step ``dt``; returns the
    configurations at ``times`` (each a multiple of ``dt``, increasing)."""
    X = as_array(X0, "X0").copy()
    dt = positive_float(dt, "dt")
    ts = as_array(times, "times", ndim=1)
    steps = np.rint(ts / dt)
    if np.any(np.abs(steps * dt - ts) > 1e-9 * max(1.0, float(ts.max()))) or np.any(np.diff(steps) < 0) or np.any(steps < 0):
        raise ValueError(f"times: expected increasing multiples of dt = {dt:g}, got {ts.tolist()}")
    f = lambda Y: field(Y, K, Q, V, chunk=chunk)  # noqa: E731
    out, k = [], 0
    for target in steps.astype(int):
        while k < target:
            k1 = f(X)
            k2 = f(X + dt / 2 * k1)
            k3 = f(X + dt / 2 * k2)
            k4 = f(X + dt * k3)
            X = X + dt / 6 * (k1 + 2 * k2 + 2 * k3 + k4)
            k += 1
        out.append(X.copy())
    return out


def particle_moments(X) -> tuple[np.ndarray, np.ndarray]:
    """Empirical mean (R, d) and covariance (R, d, d) (ddof = 1) of each replica of ``X`` (R, N, d)."""
    X = as_array(X, "X", ndim=3)
    m = X.mean(axis=1)
    C = X - m[:, None]
    return m, np.einsum("rni,rnj->rij", C, C) / (X.shape[1] - 1)


def sample_replicas(m0, G0, R: int, N: int, rng) -> np.ndarray:
    """R independent replicas of N i.i.d. N(m_0, \\Gamma_0) particles, shape (R, N, d)."""
    m0 = as_vector(m0, "m0")
    G0 = covariance(G0, "G0", m0.size, allow_singular=True)
    return m0 + rng.standard_normal((positive_int(R, "R"), positive_int(N, "N"), m0.size)) @ covariance_root(G0).T


def replica_moment_estimates(p: dict, rng, *, R: int, N: int, times: Sequence[float], dt: float) -> list:
    r"""Estimates (over R replicas of N particles from N(p["m"], p["Gamma"]), moved by :func:`particle_flow`) of
    m_i(t) and \Gamma_{ij}(t) (i <= j) at each time: for each t, d means then the d(d+1)/2 covariance entries."""
    X0 = sample_replicas(p["m"], p["Gamma"], R, N, rng)
    d = X0.shape[2]
    out = []
    for X in particle_flow(X0, p["K"], p["Q"], p["V"], times, dt=dt):
        m, C = particle_moments(X)
        out += [mean_estimate(m[:, i]) for i in range(d)]
        out += [mean_estimate(C[:, i, j]) for i in range(d) for j in range(i, d)]
    return out


def replica_covariances(p: dict, rng, *, R: int, N: int, t: float, dt: float) -> np.ndarray:
    """The particle covariances (R, d, d) at time ``t`` of R replicas of N particles from N(p["m"], p["Gamma"])
    moved by :func:`particle_flow` (RK4, step ``dt``)."""
    (X,) = particle_flow(sample_replicas(p["m"], p["Gamma"], R, N, rng), p["K"], p["Q"], p["V"], [t], dt=dt)
    return particle_moments(X)[1]


def moment_values(path: Trajectory) -> list:
    r"""The ODE's m_i(t), \Gamma_{ij}(t) (i <= j) at each time of ``path``, in :func:`replica_moment_estimates`' order."""
    means, covs = moments(path)
    d = means.shape[1]
    out = []
    for m, G in zip(means, covs):
        out += list(m) + [G[i, j] for i in range(d) for j in range(i, d)]
    return out
