r"""Training at L = \infty: gradient flow and gradient descent on R_\infty from the paper's balanced
initialisation, the measurements made along them, and the \alpha sweep of the initialisation interval (Theorem
5.1 v1 / 5.2 v2 of the paper, Sec. 5; ZFB Theorem 4.1 at N = \infty).

**State.**  Only the (d+1)^2 *active* entries of (U, V) enter R_\infty (:func:`verify.icl.gradient.icl_active_vector`:
\theta = (vec U11, u, a, b)); the last column of U and the first d rows of V have zero gradient and never move.
The flow is  \dot\theta = -\nabla R_\infty(\theta)  with the closed-form gradient of :mod:`verify.icl.gradient`
(statement ``icl-gradient``), integrated by DOP853 (:func:`verify.numerics.ode.integrate`; every accepted step
satisfies RMS(err_i / (atol + rtol |y_i|)) <= 1; defaults rtol = 1e-10, atol = 1e-12).  Gradient descent is the
same field with the explicit Euler step  \theta_{k+1} = \theta_k - \eta \nabla R_\infty(\theta_k),  time t = k\eta
(:func:`gradient_descent`): the discretisation a finite-L run uses, so this run is its L = \infty reference.

**Trajectories.**  Every run is a :class:`verify.numerics.ode.Trajectory` whose states ``y`` are the active vectors
\theta; its ``data`` holds the model ({"Sigma", "noise"}, and "rtol"/"atol" of a flow or "eta" of a descent), the
integral \int_0^t ||G||^2 is the series ``"dissipated"`` when asked for.  :func:`point` and :func:`final_point` read
(U, V) out of a record, :func:`balance` and :func:`risk_along` the conserved balance and R_\infty.

**Initialisation** (paper Eq. (9), ZFB Assumption 3.3; :func:`balanced_init`):
U(0) = \alpha diag(P, 0), P = \Theta\Theta^T / ||\Theta\Theta^T||_F,  V(0) = \alpha e_{d+1}e_{d+1}^T.

**What is measured.**  Convergence to (U_\star, V_\star) (:func:`verify.icl.risk.bayes_point`), the risk
R_\infty -> s^2/2 (the Bayes risk with label noise s), the conserved balance ||U||_F^2 - ||V||_F^2 (= ||A||_F^2 - b^2
on the invariant subspace) within the drift DOP853's tolerance allows (:func:`balance_drift`), the energy
identity R(\theta(T)) - R(\theta(0)) = -\int_0^T ||\nabla R||^2 dt (:func:`dissipation_gap`), and the order of
gradient descent in \eta (:func:`gd_order`).

**The interval** (:func:`alpha_sweep`).  On the invariant subspace the flow (\dot A = b\Sigma^2 - b^2\Sigma^2A\Sigma,
\dot b = tr(A^T\Sigma^2) - b tr(A^T\Sigma^2A\Sigma)) is covariant under \Sigma -> c\Sigma:
(A, b)(t; c\Sigma, \alpha) = c^{-1/2} (A, b)(c^2 t; \Sigma, \alpha c^{1/2}),  so whatever condition the initialisation
needs depends on \alpha^2 ||\Sigma||_op (ZFB's form, :func:`zfb_bound`), never on \alpha ||\Sigma||_op (the printed
form, :func:`printed_bound`).  Near 0 the flow is linear with growth rate ||\Sigma^2||_F (:func:`escape_rate`), so
a tiny \alpha escapes in time ~ ln(1/\alpha) / ||\Sigma^2||_F.

>>> S = toeplitz_sigma(3, 0.5)
>>> p = gradient_flow(*balanced_init(S, 0.5), S, t_end=400.0, stop_distance=1e-9)
>>> bool(bayes_distance(*final_point(p), S) <= 1e-9), p.event_time is not None
(True, True)
>>> drift, allowed = balance_drift(p)
>>> bool(drift <= allowed)
True
>>> balanced_init(S, -1.0)
Traceback (most recent call last):
...
ValueError: alpha: must be >= 0, got -1.0
"""

from __future__ import annotations

import math
from typing import Callable, Sequence

import numpy as np

from verify._validation import as_matrix, covariance, nonnegative_float, positive_float, positive_int, real, seed_value
from verify.icl.gradient import _gradient_blocks, icl_active_vector, icl_from_active_vector, icl_risk_gradient, invariant_field
from verify.icl.risk import bayes_point, icl_risk_infinite, invariant_point, toeplitz_sigma
from verify.numerics.ode import DEFAULT_ATOL, DEFAULT_RTOL, Trajectory, descend, integrate

__all__ = [
    "DEFAULT_RTOL",
    "DEFAULT_ATOL",
    "random_direction",
    "balanced_init",
    "gradient_flow",
    "gradient_descent",
    "dimension",
    "point",
    "final_point",
    "balance",
    "risk_along",
    "bayes_distance",
    "family_distance",
    "balance_drift",
    "dissipation_gap",
    "gd_flow_errors",
    "gd_order",
    "scaled_sigma",
    "printed_bound",
    "zfb_bound",
    "escape_rate",
    "invariant_field",
    "balanced_invariant_flow",
    "alpha_sweep",
]


# ------------------------------------------------------------------------------------------ initialisation


def _sigma(Sigma) -> np.ndarray:
    return covariance(Sigma, "Sigma")


def random_direction(d, seed) -> np.ndarray:
    r"""P = \Theta\Theta^T / ||\Theta\Theta^T||_F with \Theta a d x d standard Gaussian matrix drawn from ``seed``
    (int or Generator): positive semi-definite, unit Frobenius norm.

    >>> P = random_direction(3, 0)
    >>> round(float(np.linalg.norm(P)), 12), bool(np.linalg.eigvalsh(P).min() > 0)
    (1.0, True)
    """
    d = positive_int(d, "d")
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed_value(seed))
    Theta = rng.standard_normal((d, d))
    P = Theta @ Theta.T
    return (P + P.T) / (2 * np.linalg.norm(P))


def balanced_init(Sigma, alpha, P=None) -> tuple[np.ndarray, np.ndarray]:
    r"""(U(0), V(0)) = (\alpha diag(P, 0), \alpha e_{d+1}e_{d+1}^T)  (paper Eq. (9)).  ``P`` symmetric positive
    semi-definite with ||P||_F = 1 (default I_d / \sqrt d, i.e. \Theta = d^{-1/4} I).

    >>> U, V = balanced_init([[2.0]], 3.0)
    >>> U.tolist(), V.tolist()
    ([[3.0, 0.0], [0.0, 0.0]], [[0.0, 0.0], [0.0, 3.0]])
    >>> balanced_init(np.eye(2), 1.0, P=np.eye(2))
    Traceback (most recent call last):
    ...
    ValueError: P: expected ||P||_F = 1, got 1.41421
    """
    S = _sigma(Sigma)
    d = S.shape[0]
    alpha = positive_float(alpha, "alpha")
    if P is None:
        P = np.eye(d) / math.sqrt(d)
    P = covariance(P, "P", d, allow_singular=True)
    if abs(np.linalg.norm(P) - 1.0) > 1e-9:
        raise ValueError(f"P: expected ||P||_F = 1, got {np.linalg.norm(P):.6g}")
    return invariant_point(alpha * P, alpha, d)


# ------------------------------------------------------------------------------------------ trajectories


def dimension(traj: Trajectory) -> int:
    """d of a trajectory whose states are active vectors of length (d+1)^2."""
    return math.isqrt(traj.y.shape[1]) - 1


def point(traj: Trajectory, k: int = -1) -> tuple[np.ndarray, np.ndarray]:
    """(U, V) at record ``k`` of a trajectory in the active coordinates."""
    return icl_from_active_vector(traj.y[k], dimension(traj))


def final_point(traj: Trajectory) -> tuple[np.ndarray, np.ndarray]:
    """(U, V) at the last record."""
    return point(traj, -1)


def balance(traj: Trajectory) -> np.ndarray:
    r"""||U||_F^2 - ||V||_F^2 over the active entries at every record (= ||A||_F^2 - b^2 on the invariant subspace)."""
    d = dimension(traj)
    k = d * d + d
    return (traj.y[:, :k] ** 2).sum(1) - (traj.y[:, k:] ** 2).sum(1)


def risk_along(traj: Trajectory) -> np.ndarray:
    r"""R_\infty at every record (the closed form :func:`verify.icl.risk.icl_risk_infinite`, with the trajectory's
    \Sigma and label noise)."""
    S, s = traj.data["Sigma"], traj.data["noise"]
    return np.array([icl_risk_infinite(*point(traj, k), S, s) for k in range(len(traj.t))])


def _field(S: np.ndarray, noise: float, gradient) -> Callable[[np.ndarray], np.ndarray]:
    r"""\theta -> \nabla R_\infty(\theta) in active coordinates.  ``gradient`` None: the closed form of
    :mod:`verify.icl.gradient` (its blocks, without re-validating \Sigma at every call); otherwise a callable
    (U, V, \Sigma, noise) -> (gU, gV) such as :func:`verify.icl.gradient.icl_risk_gradient` or a planted slip."""
    d = S.shape[0]
    s2 = noise * noise
    if gradient is None or gradient is icl_risk_gradient:
        i1, i2, i3 = d * d, d * d + d, d * d + 2 * d

        def g(theta):
            gU11, gu, ga, gb = _gradient_blocks(theta[:i1].reshape(d, d), theta[i1:i2], theta[i2:i3], theta[-1], S, s2)
            return np.concatenate([gU11.ravel(), gu, ga, [gb]])

        return g
    if not callable(gradient):
        raise TypeError(f"gradient: expected a callable (U, V, Sigma, noise) -> (gU, gV), got {type(gradient).__name__}")

    def g(theta):
        U, V = icl_from_active_vector(theta, d)
        gU, gV = gradient(U, V, S, noise)
        return icl_active_vector(gU, gV, d)

    return g


def _start(U0, V0, S) -> np.ndarray:
    d = S.shape[0]
    U0 = as_matrix(U0, "U0", (d + 1, d + 1))
    V0 = as_matrix(V0, "V0", (d + 1, d + 1))
    return icl_active_vector(U0, V0, d)


def _arrival(S: np.ndarray, n: int, stop: float) -> Callable[[float, np.ndarray], float]:
    r"""The stop event of a flow: :func:`bayes_distance` of the first ``n`` state entries to (U_\star, V_\star) minus
    ``stop`` (crossing zero downwards on arrival)."""
    Us, Vs = bayes_point(S)
    target, scale_u, scale_v = icl_active_vector(Us, Vs, S.shape[0]), np.abs(Us).max(), abs(Vs[-1, -1])
    ku = S.shape[0] ** 2 + S.shape[0]

    def arrived(t, y):
        diff = np.abs(y[:n] - target)
        return max(diff[:ku].max() / scale_u, diff[ku:].max() / scale_v) - stop

    return arrived


def _stationary(g: Callable, n: int, tol: float) -> Callable[[float, np.ndarray], float]:
    r"""The stop event of a flow on its own convergence: max|G(\theta)| minus ``tol`` (crossing zero downwards when
    the field has (nearly) vanished).  It reads only the field that drives the flow, never a claimed limit."""
    def stationary(t, y):
        return float(np.abs(g(y[:n])).max()) - tol

    return stationary


def gradient_flow(U0, V0, Sigma, t_end, *, noise=0.0, rtol=DEFAULT_RTOL, atol=DEFAULT_ATOL, gradient=None,
                  stop_distance=None, stop_gradient=None, dissipation: bool = False, blow_up: float = 1e6,
                  method: str = "DOP853") -> Trajectory:
    r"""\dot\theta = -G(\theta), G = \nabla R_\infty (or ``gradient``), on [0, t_end] by ``method`` (a solve_ivp method:
    DOP853 by default, LSODA where the flow turns stiff) with ``rtol``/``atol`` (:func:`verify.numerics.ode.integrate`).

    Every accepted step is recorded.  ``stop_distance``: stop when :func:`bayes_distance` to (U_\star, V_\star)
    falls to it (``event_time``; a stopping rule that reads the claimed limit: for studies, never for a reference).
    ``stop_gradient``: stop when max|G| falls to it (the flow's own convergence; at most one of the two).  ``dissipation``: integrate D(t) = \int_0^t ||G||^2 alongside, under the same
    error control (the series ``"dissipated"``).  The run stops (``diverged``) when max|y| reaches ``blow_up`` (y the
    state and, with ``dissipation``, the integral).

    >>> p = gradient_flow(*balanced_init([[0.25]], 4.0), [[0.25]], t_end=1000.0, stop_distance=1e-10)
    >>> [round(float(x), 8) for x in p.final]        # d = 1: (A, u, a, b) -> (2, 0, 0, 2) = Sigma^{-1/2}
    [2.0, 0.0, 0.0, 2.0]
    """
    S = _sigma(Sigma)
    noise = nonnegative_float(noise, "noise")
    t_end = positive_float(t_end, "t_end")
    rtol, atol = positive_float(rtol, "rtol"), positive_float(atol, "atol")
    blow_up = positive_float(blow_up, "blow_up")
    y0 = _start(U0, V0, S)
    g = _field(S, noise, gradient)
    n = y0.size

    def rhs(t, y):
        G = g(y[:n])
        return np.concatenate([-G, [G @ G]]) if dissipation else -G

    if stop_distance is not None and stop_gradient is not None:
        raise ValueError("stop_distance, stop_gradient: give at most one stopping rule")
    arrived = None if stop_distance is None else _arrival(S, n, positive_float(stop_distance, "stop_distance"))
    if stop_gradient is not None:
        arrived = _stationary(g, n, positive_float(stop_gradient, "stop_gradient"))
    y_init = np.concatenate([y0, [0.0]]) if dissipation else y0
    traj = integrate(rhs, y_init, t_end, method=method, rtol=rtol, atol=atol, blow_up=blow_up, stop=arrived,
                     series={"dissipated": n} if dissipation else None)
    return traj.with_data(y=traj.y[:, :n], data={"Sigma": S, "noise": noise, "rtol": rtol, "atol": atol})


def gradient_descent(U0, V0, Sigma, eta, n_steps, *, noise=0.0, gradient=None, record_every: int = 1,
                     blow_up: float = 1e6) -> Trajectory:
    r"""\theta_{k+1} = \theta_k - \eta G(\theta_k) (explicit Euler on the flow, :func:`verify.numerics.ode.descend`),
    recorded every ``record_every`` steps at times t = k\eta.  Stops (``diverged``) when max|\theta| exceeds ``blow_up``.

    >>> p = gradient_descent(*balanced_init([[1.0]], 0.5), [[1.0]], eta=0.1, n_steps=2000, record_every=2000)
    >>> [round(float(x), 10) for x in p.final], p.t.tolist()
    ([1.0, 0.0, 0.0, 1.0], [0.0, 200.0])
    """
    S = _sigma(Sigma)
    noise = nonnegative_float(noise, "noise")
    eta = positive_float(eta, "eta")
    n_steps = positive_int(n_steps, "n_steps")
    record_every = positive_int(record_every, "record_every")
    blow_up = positive_float(blow_up, "blow_up")
    g = _field(S, noise, gradient)
    traj = descend(lambda k, y: y - eta * g(y), _start(U0, V0, S), n_steps, dt=eta, record_every=record_every,
                   blow_up=blow_up, method=f"GD eta={eta:g}")
    return traj.with_data(data={"Sigma": S, "noise": noise, "eta": eta})


# ------------------------------------------------------------------------------------------ measurements


def bayes_distance(U, V, Sigma, limit: Callable | None = None) -> float:
    r"""Relative distance to limit(\Sigma) = (U_\star, V_\star) (default :func:`verify.icl.risk.bayes_point`):
    max(max|U - U_\star| / max|U_\star|, max|V - V_\star| / |(V_\star)_{d+1,d+1}|).

    >>> bayes_distance(*bayes_point([[4.0]]), [[4.0]])
    0.0
    """
    S = _sigma(Sigma)
    d = S.shape[0]
    Us, Vs = (limit or bayes_point)(S)
    U = as_matrix(U, "U", (d + 1, d + 1))
    V = as_matrix(V, "V", (d + 1, d + 1))
    return float(max(np.abs(U - Us).max() / np.abs(Us).max(), np.abs(V - Vs).max() / abs(Vs[d, d])))


def family_distance(U, V, Sigma) -> float:
    r"""||b U11 \Sigma - I||_F + ||u|| + ||a||: zero exactly on the Bayes family {U11 = \Sigma^{-1}/b, u = a = 0}
    (any balance; the balanced member is (U_\star, V_\star)).

    >>> family_distance(*invariant_point([[0.25]], 2.0, 1), [[2.0]])
    0.0
    """
    S = _sigma(Sigma)
    d = S.shape[0]
    U = as_matrix(U, "U", (d + 1, d + 1))
    V = as_matrix(V, "V", (d + 1, d + 1))
    return float(np.linalg.norm(V[d, d] * U[:d, :d] @ S - np.eye(d)) + np.linalg.norm(U[d, :d]) + np.linalg.norm(V[d, :d]))


def balance_drift(path: Trajectory) -> tuple[float, float]:
    r"""(drift, allowed) of Q = ||U||_F^2 - ||V||_F^2 along an error-controlled flow of :func:`gradient_flow`.

    drift = max_t |Q(t) - Q(0)|.  allowed = \sum_k 2||y_{k+1}|| \sqrt n (atol + rtol max_i|y_{k+1,i}|): the exact flow
    conserves Q from every state (R_\infty(\lambda U, V/\lambda) = R_\infty(U, V)), so Q(y_N) - Q(y_0) is the sum of
    Q(y_{k+1}) - Q(\phi_h(y_k)) <= ||\nabla Q|| ||le_k||, and the accepted local error satisfies
    ||le_k||_2 <= \sqrt n max_i (atol + rtol |y_{k+1,i}|) (RMS test); no amplification enters."""
    if not isinstance(path, Trajectory) or not isinstance(path.data, dict) or "rtol" not in path.data:
        raise ValueError("path: expected an error-controlled Trajectory of gradient_flow (a GD run has no tolerance)")
    q = balance(path)
    Y = path.y[1:]
    n = path.y.shape[1]
    rtol, atol = path.data["rtol"], path.data["atol"]
    per_step = 2.0 * np.linalg.norm(Y, axis=1) * math.sqrt(n) * (atol + rtol * np.abs(Y).max(axis=1))
    return float(np.abs(q - q[0]).max()), float(per_step.sum())


def dissipation_gap(path: Trajectory) -> float:
    r"""Relative defect of the energy identity along the path:
    |(R(\theta(T)) - R(\theta(0))) + \int_0^T ||G||^2 dt| / max(|R(\theta(T)) - R(\theta(0))|, 1e-300),
    R the closed form of R_\infty (never the field G).  Zero (to the tolerance) iff G = \nabla R along the path."""
    if "dissipated" not in path.series:
        raise ValueError("path: integrate with dissipation=True")
    if path.diverged:
        return math.inf
    S, s = path.data["Sigma"], path.data["noise"]
    r0 = icl_risk_infinite(*point(path, 0), S, s)
    r1 = icl_risk_infinite(*point(path, -1), S, s)
    return abs((r1 - r0) + path.series["dissipated"][-1]) / max(abs(r1 - r0), 1e-300)


def gd_flow_errors(U0, V0, Sigma, T, etas, *, noise=0.0, update_factor: float = 1.0, rtol=1e-12,
                   atol=1e-14) -> list[float]:
    r"""max|\theta_GD(T) - \theta_flow(T)| for each step \eta in ``etas`` (T/\eta steps each; T a multiple of every \eta),
    the flow by DOP853 at ``rtol``/``atol``.  ``update_factor`` f != 1 plants the slip \theta - f\eta G (through the
    general-callable path of the field even for f = 1, so the true and planted runs take the same code path)."""
    S = _sigma(Sigma)
    T = positive_float(T, "T")
    ref = gradient_flow(U0, V0, S, T, noise=noise, rtol=rtol, atol=atol).final
    f = real(update_factor, "update_factor")

    def slip(U, V, Sig, s):
        gU, gV = icl_risk_gradient(U, V, Sig, s)
        return f * gU, f * gV

    errs = []
    for eta in etas:
        eta = positive_float(eta, "etas")
        n = int(round(T / eta))
        if abs(n * eta - T) > 1e-9 * T:
            raise ValueError(f"etas: T = {T:g} is not a multiple of eta = {eta:g}")
        p = gradient_descent(U0, V0, S, eta, n, noise=noise, record_every=n, gradient=slip)
        errs.append(math.inf if p.diverged else float(np.abs(p.final - ref).max()))
    return errs


def gd_order(errors: Sequence[float], ratio: float = 2.0) -> float:
    r"""Smallest observed order log_ratio(e_k / e_{k+1}) over consecutive step sizes \eta_k / \eta_{k+1} = ``ratio``
    (explicit Euler: 1).  Inf or NaN errors give -inf.

    >>> gd_order([4e-3, 2e-3, 1e-3])
    1.0
    """
    e = [float(x) for x in errors]
    if len(e) < 2:
        raise ValueError("errors: need at least two step sizes")
    if not all(math.isfinite(x) and x > 0 for x in e):
        return -math.inf
    return round(min(math.log(a / b, ratio) for a, b in zip(e, e[1:])), 6)


# ------------------------------------------------------------------------------------------ the interval


def scaled_sigma(d, norm, rho: float = 0.5) -> np.ndarray:
    r"""Toeplitz \Sigma_{ij} = rho^{|i-j|} rescaled to ||\Sigma||_op = ``norm`` (d = 1: \Sigma = norm).

    >>> scaled_sigma(1, 0.25).tolist(), round(float(np.linalg.eigvalsh(scaled_sigma(5, 4.0)).max()), 12)
    ([[0.25]], 4.0)
    """
    d = positive_int(d, "d")
    norm = positive_float(norm, "norm")
    T = toeplitz_sigma(d, rho)
    return T * (norm / float(np.linalg.eigvalsh(T).max()))


def printed_bound(d, norm) -> float:
    r"""The paper's printed interval: \alpha < \sqrt2 / (d^{1/4} ||\Sigma||_op)."""
    return math.sqrt(2.0) / (positive_int(d, "d") ** 0.25 * positive_float(norm, "norm"))


def zfb_bound(d, norm) -> float:
    r"""ZFB's condition at N = \infty: \alpha^2 ||\Sigma||_op \sqrt d < 2, i.e. \alpha < \sqrt2 / (d^{1/4} ||\Sigma||_op^{1/2})."""
    return math.sqrt(2.0) / (positive_int(d, "d") ** 0.25 * math.sqrt(positive_float(norm, "norm")))


def escape_rate(Sigma) -> float:
    r"""Growth rate of the flow's linearisation at 0 on the invariant subspace: d/dt vec A = b vec\Sigma^2,
    \dot b = <vec\Sigma^2, vec A> has eigenvalues \pm||\Sigma^2||_F (and 0), so the rate is ||\Sigma^2||_F.

    >>> escape_rate(np.eye(4))
    2.0
    """
    S = _sigma(Sigma)
    return float(np.linalg.norm(S @ S))


def balanced_invariant_flow(Sigma, alpha, times, *, rtol: float = 1e-12, atol: float = 1e-14) -> Trajectory:
    r"""The balanced flow on the invariant subspace from (A, b) = (\alpha I/\sqrt d, \alpha), states (vec A, b) at
    ``times`` (increasing, from 0): DOP853 with ``rtol``/``atol``, dense output at the times."""
    S = _sigma(Sigma)
    alpha = positive_float(alpha, "alpha")
    times = np.asarray(times, dtype=float)
    d = S.shape[0]
    y0 = np.concatenate([alpha * (np.eye(d) / math.sqrt(d)).ravel(), [alpha]])
    return integrate(invariant_field(S), y0, float(times[-1]), rtol=rtol, atol=atol, t_eval=times)


def _cell_distances(Y: np.ndarray, S: np.ndarray, As: np.ndarray, bs: float) -> tuple[np.ndarray, np.ndarray]:
    r"""For cells Y (..., m, d*d+1): the distance to the Bayes family ||b A\Sigma - I||_F (the convergence criterion:
    the family is the set of minimizers) and the relative distance to (A_\star, b_\star) (the balanced member)."""
    d = S.shape[0]
    A = Y[..., :-1].reshape(Y.shape[:-1] + (d, d))
    fam = np.linalg.norm(Y[..., -1, None, None] * (A @ S) - np.eye(d), axis=(-2, -1))
    dA = np.abs(Y[..., :-1] - As.ravel()).max(-1) / np.abs(As).max()
    return fam, np.maximum(dA, np.abs(Y[..., -1] - bs) / bs)


def alpha_sweep(Sigma, alphas, P=None, *, rtol=DEFAULT_RTOL, atol=DEFAULT_ATOL, t_max: float | None = None,
                converged: float = 1e-8, reached: float = 1e-6) -> list[dict]:
    r"""The balanced flow from \alpha P for every \alpha in ``alphas``, integrated as one DOP853 system (the cells
    are independent; one step sequence) until every cell is within ``converged``/2 of the Bayes family
    {b A\Sigma = I} or t = ``t_max`` (default 1e4 / ||\Sigma||_op^2: times scale like ||\Sigma||_op^{-2}).

    Per cell: ``converged`` (family distance <= ``converged`` at the end), ``t_reach`` (first time the family
    distance is <= ``reached``, from the dense output; None if never), ``family_distance`` and ``distance`` (relative,
    to (A_\star, b_\star): its floor is the balance drift the tolerance allows, ~ rtol \alpha^2 for large \alpha)
    at the end, ``t_end``."""
    from scipy.integrate import solve_ivp
    from scipy.optimize import brentq

    S = _sigma(Sigma)
    d = S.shape[0]
    alphas = [positive_float(a, "alphas") for a in alphas]
    if not alphas:
        raise ValueError("alphas: expected at least one value")
    m, k = len(alphas), d * d + 1
    P = np.eye(d) / math.sqrt(d) if P is None else balanced_init(S, 1.0, P)[0][:d, :d]
    Us, Vs = bayes_point(S)
    As, bs = Us[:d, :d], Vs[d, d]
    y0 = np.concatenate([np.concatenate([a * P.ravel(), [a]]) for a in alphas])

    def all_in(t, y):
        return _cell_distances(y.reshape(m, k), S, As, bs)[0].max() - converged / 2  # located to ~1e-10: a margin

    all_in.terminal = True
    all_in.direction = -1
    t_max = 1e4 / float(np.linalg.eigvalsh(S).max()) ** 2 if t_max is None else positive_float(t_max, "t_max")
    sol = solve_ivp(invariant_field(S, m), (0.0, t_max), y0, method="DOP853", rtol=rtol, atol=atol, events=all_in,
                    dense_output=True)
    if sol.status == -1:
        raise ValueError(f"alphas: the integrator failed: {sol.message}")
    fam, dist = _cell_distances(sol.y.T.reshape(-1, m, k), S, As, bs)  # (steps, m)
    out = []
    for j, a in enumerate(alphas):
        hit = np.nonzero(fam[:, j] <= reached)[0]
        t_reach = None
        if hit.size:
            i = int(hit[0])
            f = lambda t: float(_cell_distances(sol.sol(t).reshape(m, k)[j], S, As, bs)[0]) - reached  # noqa: E731
            t_reach = 0.0 if i == 0 else float(brentq(f, sol.t[i - 1], sol.t[i], xtol=1e-12 * sol.t[i]))
        out.append({"alpha": a, "converged": bool(fam[-1, j] <= converged), "t_reach": t_reach,
                    "family_distance": float(fam[-1, j]), "distance": float(dist[-1, j]), "t_end": float(sol.t[-1]),
                    "steps": len(sol.t) - 1})
    return out
