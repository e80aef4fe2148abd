r"""Training at L = \infty (issue 9, part 1): gradient flow and gradient descent on R_\infty from the paper's
balanced initialisation, and the audit of its initialisation interval (Theorem 5.1 v1 / 5.2 v2 of the paper,
Sec. 5; ZFB Theorem 4.1 at N = \infty).

**State.**  Only the (d+1)^2 *active* entries of (U, V) enter R_\infty (:func:`verify.icl.gradient.icl_active_vector`:
\theta = (vec U11, u, a, b)); the last column of U and the first d rows of V have zero gradient and never move.
The flow is  \dot\theta = -\nabla R_\infty(\theta)  with the closed-form gradient of :mod:`verify.icl.gradient`
(statement ``icl-gradient``), integrated by DOP853 (scipy ``solve_ivp``; every accepted step satisfies
RMS(err_i / (atol + rtol |y_i|)) <= 1; defaults rtol = 1e-10, atol = 1e-12).  Gradient descent is the same
field with the explicit Euler step  \theta_{k+1} = \theta_k - \eta \nabla R_\infty(\theta_k),  time t = k\eta
(:func:`gradient_descent`): the discretisation a finite-L run uses, so this run is its L = \infty reference.

**Initialisation** (paper Eq. (9), ZFB Assumption 3.3; :func:`balanced_init`):
U(0) = \alpha diag(P, 0), P = \Theta\Theta^T / ||\Theta\Theta^T||_F,  V(0) = \alpha e_{d+1}e_{d+1}^T.

**What is measured.**  Convergence to (U_\star, V_\star) (:func:`verify.icl.risk.bayes_point`), the risk
R_\infty -> s^2/2 (the Bayes risk with label noise s), the conserved balance ||U||_F^2 - ||V||_F^2 (= ||A||_F^2 - b^2
on the invariant subspace) within the drift DOP853's tolerance allows (:func:`balance_drift`), the energy
identity R(\theta(T)) - R(\theta(0)) = -\int_0^T ||\nabla R||^2 dt (:func:`dissipation_gap`), and the order of
gradient descent in \eta (:func:`gd_order`).

**The interval audit** (:func:`alpha_sweep`, :func:`init_interval_audit`).  On the invariant subspace the
flow (\dot A = b\Sigma^2 - b^2\Sigma^2A\Sigma, \dot b = tr(A^T\Sigma^2) - b tr(A^T\Sigma^2A\Sigma)) is covariant
under \Sigma -> c\Sigma:  (A, b)(t; c\Sigma, \alpha) = c^{-1/2} (A, b)(c^2 t; \Sigma, \alpha c^{1/2}),  so whatever
condition the initialisation needs depends on \alpha^2 ||\Sigma||_op (ZFB's form), never on \alpha ||\Sigma||_op
(the printed form).  Near 0 the flow is linear with growth rate ||\Sigma^2||_F (:func:`escape_rate`), so a tiny
\alpha escapes in time ~ ln(1/\alpha) / ||\Sigma^2||_F.

>>> S = toeplitz_sigma(3, 0.5)
>>> p = gradient_flow(*balanced_init(S, 0.5), S, t_end=400.0, stop_distance=1e-9)
>>> bool(bayes_distance(*p.final(), S) <= 1e-9), p.event_time is not None
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
import textwrap
import time
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Sequence

import numpy as np

from verify.kernel.statement import Check, Mutant, at_least, at_most, register_kind
from verify.icl.risk import bayes_point, icl_risk_infinite, invariant_point, toeplitz_sigma
from verify.icl.gradient import _gradient_blocks, icl_active_vector, icl_from_active_vector, icl_risk_gradient
from verify.numerics.montecarlo import stream
from verify._validation import as_matrix, covariance, nonnegative_float, positive_float, positive_int, real, seed_value

__all__ = [
    "DEFAULT_RTOL",
    "DEFAULT_ATOL",
    "Path",
    "balanced_init",
    "random_direction",
    "gradient_flow",
    "gradient_descent",
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
    "alpha_sweep",
    "init_interval_audit",
    "run_infinite",
    "Run",
    "convergence_points",
    "converged_path",
    "noisy_points",
    "limit_gap",
    "risk_gap",
    "short_points",
    "field_path",
    "drift_ratio",
    "energy_defect",
    "gd_points",
    "gd_study",
    "observed_order",
    "audit_points",
    "audit_run",
    "prediction_misses",
    "every_alpha",
    "inside_printed",
    "inside_zfb",
    "escape_points",
    "escape_run",
    "escape_error",
    "scale_points",
    "scale_run",
    "scale_mismatch",
    "run_train",
    "escape_law",
    "train_ok",
    "summary",
    "write_train",
    "output_dir",
]

DEFAULT_RTOL = 1e-10
DEFAULT_ATOL = 1e-12



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


@dataclass(frozen=True)
class Path:
    r"""A recorded trajectory in the active coordinates \theta = (vec U11, u, a, b).

    ``t`` (n,), ``theta`` (n, (d+1)^2); ``method`` states the integrator and its tolerances (or the GD step);
    ``dissipated`` (n,) is \int_0^t ||G||^2 (when asked for); ``event_time`` the time the stop distance was met;
    ``diverged`` is True when the state left |\theta| <= ``blow_up``."""

    t: np.ndarray
    theta: np.ndarray
    Sigma: np.ndarray
    noise: float
    method: str
    rtol: float | None = None
    atol: float | None = None
    eta: float | None = None
    nfev: int = 0
    dissipated: np.ndarray | None = None
    event_time: float | None = None
    diverged: bool = False

    @property
    def d(self) -> int:
        return self.Sigma.shape[0]

    def point(self, k: int = -1) -> tuple[np.ndarray, np.ndarray]:
        """(U, V) at record ``k``."""
        return icl_from_active_vector(self.theta[k], self.d)

    def final(self) -> tuple[np.ndarray, np.ndarray]:
        return self.point(-1)

    @property
    def balance(self) -> np.ndarray:
        r"""||U||_F^2 - ||V||_F^2 over the active entries (= ||A||_F^2 - b^2 on the invariant subspace)."""
        d = self.d
        k = d * d + d
        return (self.theta[:, :k] ** 2).sum(1) - (self.theta[:, k:] ** 2).sum(1)

    def risk(self) -> np.ndarray:
        r"""R_\infty at every record (closed form :func:`verify.icl.risk.icl_risk_infinite`)."""
        return np.array([icl_risk_infinite(*self.point(k), self.Sigma, self.noise) for k in range(len(self.t))])


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


def gradient_flow(U0, V0, Sigma, t_end, *, noise=0.0, rtol=DEFAULT_RTOL, atol=DEFAULT_ATOL, gradient=None,
                  stop_distance=None, dissipation: bool = False, blow_up: float = 1e6, method: str = "DOP853") -> Path:
    r"""\dot\theta = -G(\theta), G = \nabla R_\infty (or ``gradient``), on [0, t_end] by ``method`` (a solve_ivp method:
    DOP853 by default, LSODA where the flow turns stiff) with ``rtol``/``atol``.

    Every accepted step is recorded.  ``stop_distance``: stop when :func:`bayes_distance` to (U_\star, V_\star)
    falls to it (``event_time``).  ``dissipation``: integrate D(t) = \int_0^t ||G||^2 alongside, under the same
    error control.  The run stops (``diverged``) when max|\theta| reaches ``blow_up``.

    >>> p = gradient_flow(*balanced_init([[0.25]], 4.0), [[0.25]], t_end=1000.0, stop_distance=1e-10)
    >>> [round(float(x), 8) for x in p.theta[-1]]        # d = 1: (A, u, a, b) -> (2, 0, 0, 2) = Sigma^{-1/2}
    [2.0, 0.0, 0.0, 2.0]
    """
    from scipy.integrate import solve_ivp

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

    def escape(t, y):
        return blow_up - np.abs(y[:n]).max()

    escape.terminal = True
    events = [escape]
    if stop_distance is not None:
        stop = positive_float(stop_distance, "stop_distance")
        Us, Vs = bayes_point(S)
        target, scale_u, scale_v = icl_active_vector(Us, Vs, S.shape[0]), np.abs(Us).max(), abs(Vs[-1, -1])
        ku = S.shape[0] ** 2 + S.shape[0]

        def arrived(t, y):
            diff = np.abs(y[:n] - target)
            return max(diff[:ku].max() / scale_u, diff[ku:].max() / scale_v) - stop

        arrived.terminal = True
        arrived.direction = -1
        events.append(arrived)
    y_init = np.concatenate([y0, [0.0]]) if dissipation else y0
    sol = solve_ivp(rhs, (0.0, t_end), y_init, method=method, rtol=rtol, atol=atol, events=events)
    if sol.status == -1:
        raise ValueError(f"gradient: the integrator failed: {sol.message}")
    Y = sol.y.T
    hit = stop_distance is not None and len(sol.t_events[1]) > 0
    return Path(t=sol.t, theta=Y[:, :n], Sigma=S, noise=noise, method=f"{method} rtol={rtol:g} atol={atol:g}",
                rtol=rtol, atol=atol, nfev=int(sol.nfev), dissipated=Y[:, n] if dissipation else None,
                event_time=float(sol.t_events[1][0]) if hit else None, diverged=len(sol.t_events[0]) > 0)


def gradient_descent(U0, V0, Sigma, eta, n_steps, *, noise=0.0, gradient=None, record_every: int = 1,
                     blow_up: float = 1e6) -> Path:
    r"""\theta_{k+1} = \theta_k - \eta G(\theta_k) (explicit Euler on the flow), recorded every ``record_every``
    steps at times t = k\eta.  Stops (``diverged``) when max|\theta| exceeds ``blow_up``.

    >>> p = gradient_descent(*balanced_init([[1.0]], 0.5), [[1.0]], eta=0.1, n_steps=2000, record_every=2000)
    >>> [round(float(x), 10) for x in p.theta[-1]], p.t.tolist()
    ([1.0, 0.0, 0.0, 1.0], [0.0, 200.0])
    """
    S = _sigma(Sigma)
    noise = nonnegative_float(noise, "noise")
    eta = positive_float(eta, "eta")
    n_steps = positive_int(n_steps, "n_steps")
    record_every = positive_int(record_every, "record_every")
    blow_up = positive_float(blow_up, "blow_up")
    y = _start(U0, V0, S)
    g = _field(S, noise, gradient)
    ts, ys, diverged = [0.0], [y.copy()], False
    for k in range(1, n_steps + 1):
        y = y - eta * g(y)
        if not np.all(np.isfinite(y)) or np.abs(y).max() > blow_up:
            diverged = True
        if diverged or k % record_every == 0 or k == n_steps:
            ts.append(k * eta)
            ys.append(y.copy())
        if diverged:
            break
    return Path(t=np.array(ts), theta=np.array(ys), Sigma=S, noise=noise, method=f"GD eta={eta:g}", eta=eta,
                nfev=k, diverged=diverged)


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


def balance_drift(path: Path) -> tuple[float, float]:
    r"""(drift, allowed) of Q = ||U||_F^2 - ||V||_F^2 along a DOP853 path.

    drift = max_t |Q(t) - Q(0)|.  allowed = \sum_k 2||y_{k+1}|| \sqrt n (atol + rtol max_i|y_{k+1,i}|): the exact flow
    conserves Q from every state (R_\infty(\lambda U, V/\lambda) = R_\infty(U, V)), so Q(y_N) - Q(y_0) is the sum of
    Q(y_{k+1}) - Q(\phi_h(y_k)) <= ||\nabla Q|| ||le_k||, and the accepted local error satisfies
    ||le_k||_2 <= \sqrt n max_i (atol + rtol |y_{k+1,i}|) (RMS test); no amplification enters."""
    if not isinstance(path, Path) or path.rtol is None:
        raise ValueError("path: expected a DOP853 Path from gradient_flow (a GD path has no tolerance)")
    q = path.balance
    Y = path.theta[1:]
    n = path.theta.shape[1]
    per_step = 2.0 * np.linalg.norm(Y, axis=1) * math.sqrt(n) * (path.atol + path.rtol * np.abs(Y).max(axis=1))
    return float(np.abs(q - q[0]).max()), float(per_step.sum())


def dissipation_gap(path: Path) -> float:
    r"""Relative defect of the energy identity along the path:
    |(R(\theta(T)) - R(\theta(0))) + \int_0^T ||G||^2 dt| / max(|R(\theta(T)) - R(\theta(0))|, 1e-300),
    R the closed form of R_\infty (never the field G).  Zero (to the tolerance) iff G = \nabla R along the path."""
    if path.dissipated is None:
        raise ValueError("path: integrate with dissipation=True")
    if path.diverged:
        return math.inf
    r0 = icl_risk_infinite(*path.point(0), path.Sigma, path.noise)
    r1 = icl_risk_infinite(*path.point(-1), path.Sigma, path.noise)
    return abs((r1 - r0) + path.dissipated[-1]) / max(abs(r1 - r0), 1e-300)


def gd_flow_errors(U0, V0, Sigma, T, etas, *, noise=0.0, update_factor: float = 1.0, rtol=1e-12,
                   atol=1e-14) -> list[float]:
    r"""max|\theta_GD(T) - \theta_flow(T)| for each step \eta in ``etas`` (T/\eta steps each; T a multiple of every \eta),
    the flow by DOP853 at ``rtol``/``atol``.  ``update_factor`` f != 1 plants the slip \theta - f\eta G (through the
    general-callable path of the field even for f = 1, so the true and planted runs take the same code path)."""
    S = _sigma(Sigma)
    T = positive_float(T, "T")
    ref = gradient_flow(U0, V0, S, T, noise=noise, rtol=rtol, atol=atol).theta[-1]
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
        errs.append(math.inf if p.diverged else float(np.abs(p.theta[-1] - ref).max()))
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


# ------------------------------------------------------------------------------------------ the interval audit


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


def _batch_rhs(S: np.ndarray, m: int):
    r"""The invariant-subspace field for m cells at once, y = (vec A_1, b_1, ..., vec A_m, b_m):
    \dot A = b\Sigma^2 - b^2\Sigma^2A\Sigma, \dot b = <A, \Sigma^2> - b <A, \Sigma^2A\Sigma>  (= -\nabla R_\infty there,
    statement icl-gradient; tests/test_train.py compares it with :func:`verify.icl.gradient.icl_risk_gradient`)."""
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


def _cell_distances(Y: np.ndarray, S: np.ndarray, As: np.ndarray, bs: float) -> tuple[np.ndarray, np.ndarray]:
    r"""For cells Y (..., m, d*d+1): the distance to the Bayes family ||b A\Sigma - I||_F (the convergence criterion:
    the family is the set of minimisers) and the relative distance to (A_\star, b_\star) (the balanced member)."""
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
    sol = solve_ivp(_batch_rhs(S, m), (0.0, t_max), y0, method="DOP853", rtol=rtol, atol=atol, events=all_in,
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


def init_interval_audit(dims=(1, 2, 5), norms=(0.25, 1.0, 4.0), alphas=None, *, P_seed: int | None = None,
                        progress: Callable[[str], None] | None = None) -> list[dict]:
    r"""Which \alpha converge, for \Sigma = :func:`scaled_sigma`(d, norm), against the printed interval
    (:func:`printed_bound`) and ZFB's (:func:`zfb_bound`).  Default \alpha: 16 log-spaced values in [1e-3, 100].
    ``P_seed``: P = :func:`random_direction` (one per d, from that seed); None: P = I/\sqrt d.  One record per cell."""
    alphas = list(np.logspace(-3, 2, 16) if alphas is None else alphas)
    rows = []
    for d in dims:
        P = None if P_seed is None else random_direction(d, stream(seed_value(P_seed, "P_seed"), "train", "P", d))
        for norm in norms:
            t0 = time.perf_counter()
            S = scaled_sigma(d, norm)
            cells = alpha_sweep(S, alphas, P)
            if progress:
                progress(f"init interval: d={d}, ||Sigma||={norm:g}: {sum(c['converged'] for c in cells)}/{len(cells)} "
                         f"converge ({time.perf_counter() - t0:.1f}s)")
            for c in cells:
                rows.append({"d": d, "sigma_op": norm, **c, "in_printed": c["alpha"] < printed_bound(d, norm),
                             "in_zfb": c["alpha"] < zfb_bound(d, norm)})
    return rows


# ------------------------------------------------------------------------------------------ evidence support
#
# Points, trajectories and figures of the statement train-infinite (proofs/training_infinite.py).  Trajectories are
# memoised by their exact inputs, so a check's mutant run (same points) reuses the true run's integration whenever the
# mutant only changes what is compared.  References never call the subject: the limit, the Bayes risk and the rate
# are compared with computed trajectories; a planted gradient drives its own trajectory.


@dataclass(frozen=True)
class Run:
    """A computed study (sweep, pair of flows, GD errors): ``method`` and ``t`` for the detail line, ``data``."""

    method: str
    t: np.ndarray
    data: Any = None
    diverged: bool = False


_CACHE: dict = {}


def _memo(key, compute):
    if key not in _CACHE:
        if len(_CACHE) > 256:
            _CACHE.clear()
        _CACHE[key] = compute()
    return _CACHE[key]


def _key(*xs) -> tuple:
    return tuple(np.asarray(x, dtype=float).tobytes() + str(np.shape(x)).encode() for x in xs)


def convergence_points(rng) -> list[dict]:
    r"""Balanced starts (\alpha = 0.5, P random from ``rng``): isotropic d = 2 and Toeplitz(0.5) d = 5 with label
    noise s^2 = 0.1 (the limit check)."""
    cases = [("isotropic d=2", np.eye(2), 0.0), ("Toeplitz(0.5) d=5, s^2=0.1", toeplitz_sigma(5, 0.5), math.sqrt(0.1))]
    return [{"label": lab, "Sigma": S, "noise": s, "alpha": 0.5, "P": random_direction(S.shape[0], rng)}
            for lab, S, s in cases]


def noisy_points(rng) -> list[dict]:
    r"""Balanced starts with label noise s = 0.3 (the Bayes-risk check): isotropic d = 2 (\alpha = 2) and a random
    anisotropic \Sigma, d = 3 (\alpha = 0.5); P random from ``rng``."""
    from verify.numerics.strategies import random_covariance

    cases = [("isotropic d=2, s=0.3", np.eye(2), 2.0), ("random d=3, s=0.3", random_covariance(3, rng), 0.5)]
    return [{"label": lab, "Sigma": S, "noise": 0.3, "alpha": a, "P": random_direction(S.shape[0], rng)}
            for lab, S, a in cases]


def converged_path(p: dict, subject=None) -> Path:
    r"""The flow of a convergence point to 1e-9 of (U_\star, V_\star) (LSODA, default tolerances, t <= 1e5).

    LSODA (Adams, switching to BDF where the problem turns stiff): near (U_\star, V_\star) the Hessian's spread
    (condition number of \Sigma up to ~15 at the random points) made DOP853 take 6000+ steps (80k gradient calls,
    ~10 s) at some seeds; LSODA arrives at the same point (distance 1e-9, same Bayes risk) in ~2500 calls."""
    return _memo(("conv", p["alpha"], p["noise"]) + _key(p["Sigma"], p["P"]),
                 lambda: gradient_flow(*balanced_init(p["Sigma"], p["alpha"], p["P"]), p["Sigma"], 1e5, noise=p["noise"],
                                       stop_distance=1e-9, method="LSODA"))


def limit_gap(p: dict, path: Path, limit) -> float:
    """Relative distance of the path's end to limit(\\Sigma) (:func:`bayes_distance`)."""
    return bayes_distance(*path.final(), p["Sigma"], limit)


def risk_gap(p: dict, path: Path, bayes_risk) -> float:
    r"""|R_\infty(end) - bayes_risk(s)|, R_\infty the closed form at the path's end."""
    return abs(icl_risk_infinite(*path.final(), p["Sigma"], p["noise"]) - float(bayes_risk(p["noise"])))


def short_points(rng) -> list[dict]:
    r"""Short flows (t <= 2), Toeplitz(0.5) \Sigma: a balanced start at d = 2 (\alpha = 0.5, P random) and a generic
    start off the invariant subspace (d = 3, U, V with N(0, 0.3^2) entries, s = 0.3)."""
    S2, S3 = toeplitz_sigma(2, 0.5), toeplitz_sigma(3, 0.5)
    return [{"label": "balanced d=2, alpha=0.5", "Sigma": S2, "noise": 0.0, "T": 2.0,
             "start": balanced_init(S2, 0.5, random_direction(2, rng))},
            {"label": "generic d=3, s=0.3", "Sigma": S3, "noise": 0.3, "T": 2.0,
             "start": tuple(0.3 * rng.standard_normal((2, 4, 4)))}]


def field_path(p: dict, gradient) -> Path:
    """The flow of ``gradient`` (the subject: the closed form or a planted slip) from a short point, with
    \\int ||G||^2 alongside."""
    return _memo(("field", id(gradient), p["T"], p["noise"]) + _key(p["Sigma"], *p["start"]),
                 lambda: gradient_flow(*p["start"], p["Sigma"], p["T"], noise=p["noise"], gradient=gradient,
                                       dissipation=True, blow_up=1e3))


def drift_ratio(p: dict, path: Path, subject=None) -> float:
    """Balance drift in units of the drift the tolerance allows (:func:`balance_drift`): <= 1 when conserved."""
    drift, allowed = balance_drift(path)
    return drift / allowed


def energy_defect(p: dict, path: Path, subject=None) -> float:
    """:func:`dissipation_gap` of the path."""
    return dissipation_gap(path)


def gd_points(rng) -> list[dict]:
    r"""GD against the flow at T = 2 (\eta = 0.02, 0.01, 0.005): balanced d = 3 and generic d = 2 starts."""
    S3, S2 = toeplitz_sigma(3, 0.5), toeplitz_sigma(2, 0.5)
    return [{"label": "balanced d=3", "Sigma": S3, "noise": 0.0, "start": balanced_init(S3, 0.5, random_direction(3, rng))},
            {"label": "generic d=2, s=0.3", "Sigma": S2, "noise": 0.3, "start": tuple(0.3 * rng.standard_normal((2, 3, 3)))}]


def gd_study(p: dict, update_factor) -> Run:
    r"""Errors of GD with the update \theta - f\eta G (f = ``update_factor``; 1 is gradient descent) against the flow."""
    etas = (0.02, 0.01, 0.005)
    errs = _memo(("gd", float(update_factor), p["noise"]) + _key(p["Sigma"], *p["start"]),
                 lambda: gd_flow_errors(*p["start"], p["Sigma"], 2.0, etas, noise=p["noise"],
                                        update_factor=float(update_factor)))
    return Run(method=f"GD eta={etas} vs DOP853 rtol=1e-12", t=np.array([0.0, 2.0]), data=errs,
               diverged=not all(math.isfinite(e) for e in errs))


def observed_order(p: dict, run: Run, subject=None) -> float:
    """:func:`gd_order` of the study's errors (explicit Euler: 1)."""
    return gd_order(run.data)


AUDIT_ALPHAS = (1e-3, 1e-2, 0.1, 1.0, 4.0, 10.0, 100.0)


def audit_points(rng=None) -> list[dict]:
    r"""Cells of the interval audit: the witness row d = 1, ||\Sigma|| = 1/4 (\alpha = 4 in it), d = 2 with
    ||\Sigma||_op = 1/4 and d = 5 with ||\Sigma||_op = 4 (\alpha in :data:`AUDIT_ALPHAS`; P = I/\sqrt d)."""
    return [{"label": f"d={d}, ||Sigma||={n:g}", "d": d, "norm": n} for d, n in ((1, 0.25), (2, 0.25), (5, 4.0))]


def audit_run(p: dict, subject=None) -> Run:
    cells = _memo(("audit", p["d"], p["norm"]), lambda: alpha_sweep(scaled_sigma(p["d"], p["norm"]), AUDIT_ALPHAS))
    return Run(method=f"DOP853 rtol={DEFAULT_RTOL:g} atol={DEFAULT_ATOL:g}, alpha in {AUDIT_ALPHAS}",
               t=np.array([0.0, cells[0]["t_end"]]), data=cells)


def prediction_misses(p: dict, run: Run, predicts) -> float:
    """Cells whose computed convergence differs from predicts(d, ||\\Sigma||_op, \\alpha) (a claim about which \\alpha converge)."""
    return float(sum(bool(predicts(p["d"], p["norm"], c["alpha"])) != c["converged"] for c in run.data))


def every_alpha(d, norm, alpha) -> bool:
    """The finding: every \\alpha > 0 converges."""
    return alpha > 0


def inside_printed(d, norm, alpha) -> bool:
    return alpha < printed_bound(d, norm)


def inside_zfb(d, norm, alpha) -> bool:
    return alpha < zfb_bound(d, norm)


def escape_points(rng=None) -> list[dict]:
    r"""\Sigma for the escape-time law: isotropic d = 5 (||\Sigma|| = 1/4), Toeplitz d = 5 (||\Sigma|| = 4), d = 2."""
    return [{"label": "isotropic d=5, 0.25 I", "Sigma": 0.25 * np.eye(5)}, {"label": "Toeplitz d=5, ||Sigma||=4",
             "Sigma": scaled_sigma(5, 4.0)}, {"label": "Toeplitz d=2, ||Sigma||=1", "Sigma": scaled_sigma(2, 1.0)}]


ESCAPE_ALPHAS = (1e-6, 1e-5)


def escape_run(p: dict, subject=None) -> Run:
    cells = _memo(("escape",) + _key(p["Sigma"]), lambda: alpha_sweep(p["Sigma"], ESCAPE_ALPHAS))
    return Run(method=f"DOP853 rtol={DEFAULT_RTOL:g} atol={DEFAULT_ATOL:g}, alpha in {ESCAPE_ALPHAS}",
               t=np.array([0.0, cells[0]["t_end"]]), data=cells)


def escape_error(p: dict, run: Run, rate) -> float:
    r"""|rate(\Sigma) (t_1 - t_2) / ln(\alpha_2/\alpha_1) - 1|, t_i the time \alpha_i takes to reach 1e-6 of the
    Bayes family: the escape law t(\alpha) = ln(1/\alpha)/rate + C + O(\alpha)."""
    t1, t2 = (c["t_reach"] for c in run.data)
    if t1 is None or t2 is None:
        return math.inf
    return abs(float(rate(p["Sigma"])) * (t1 - t2) / math.log(ESCAPE_ALPHAS[1] / ESCAPE_ALPHAS[0]) - 1.0)


def scale_points(rng=None) -> list[dict]:
    r"""(\Sigma, c, \alpha): Toeplitz d = 3 with c = 1/4 and 4, \alpha = 3 (\alpha c^{1/2} and \alpha c differ)."""
    return [{"label": f"d=3, c={c:g}, alpha=3", "Sigma": toeplitz_sigma(3, 0.5), "c": c, "alpha": 3.0} for c in (0.25, 4.0)]


def scale_run(p: dict, exponent) -> Run:
    r"""The balanced flow at (c\Sigma, \alpha) and, rescaled, at (\Sigma, \alpha c^{e}) (e = ``exponent``), on a grid of
    20 times in [0, 5/c^2] (dense DOP853 output, rtol 1e-12, atol 1e-14)."""
    from scipy.integrate import solve_ivp

    S, c, a = p["Sigma"], p["c"], p["alpha"]
    d = S.shape[0]
    P = np.eye(d) / math.sqrt(d)
    ts = np.linspace(0.0, 5.0 / c**2, 20)

    def flow(Sig, alpha, t_eval):
        sol = solve_ivp(_batch_rhs(Sig, 1), (0.0, float(t_eval[-1])), np.concatenate([alpha * P.ravel(), [alpha]]),
                        method="DOP853", rtol=1e-12, atol=1e-14, t_eval=t_eval)
        return sol.y.T

    big = _memo(("scale-c", c, a) + _key(S), lambda: flow(c * S, a, ts))
    small = _memo(("scale-1", c, a, float(exponent)) + _key(S), lambda: flow(S, a * c ** float(exponent), c**2 * ts))
    return Run(method="DOP853 rtol=1e-12 atol=1e-14", t=ts, data=(big, c ** -0.5 * small))


def scale_mismatch(p: dict, run: Run, subject=None) -> float:
    """max relative difference of the two rescaled trajectories."""
    big, small = run.data
    return float(np.abs(big - small).max() / np.abs(big).max())


# ------------------------------------------------------------------------------------------ runs (verify train)


def _cases(seed: int, quick: bool) -> list[dict]:
    r"""The L = \infty cases: isotropic d = 2, 5; Toeplitz(0.5) d = 5 noiseless and with label noise s^2 = 0.1;
    a random anisotropic \Sigma (d = 3, from ``seed``).  \Theta from the seed, one stream per case."""
    from verify.numerics.strategies import random_covariance

    base = [("isotropic d=2", np.eye(2), 0.0), ("isotropic d=5", np.eye(5), 0.0),
            ("Toeplitz(0.5) d=5", toeplitz_sigma(5, 0.5), 0.0),
            ("Toeplitz(0.5) d=5, s^2=0.1", toeplitz_sigma(5, 0.5), math.sqrt(0.1)),
            ("random d=3", random_covariance(3, stream(seed, "train", "Sigma")), 0.0)]
    if quick:
        base = [base[1], base[3]]
    return [{"label": lab, "Sigma": S, "noise": s, "alpha": 0.5,
             "P": random_direction(S.shape[0], stream(seed, "train", "P", lab))} for lab, S, s in base]


def run_infinite(case: dict, *, t_end: float = 1e5, stop: float = 1e-9) -> dict:
    r"""One L = \infty run: the DOP853 flow to ``stop`` (relative distance to (U_\star, V_\star)), its balance drift,
    energy identity and risk, and gradient descent on the same field against the flow at T = 2 for
    \eta = 0.02, 0.01, 0.005 (errors and observed order)."""

    S, s = case["Sigma"], case["noise"]
    U0, V0 = balanced_init(S, case["alpha"], case["P"])
    t0 = time.perf_counter()
    p = gradient_flow(U0, V0, S, t_end, noise=s, stop_distance=stop, dissipation=True)
    drift, allowed = balance_drift(p)
    risk = p.risk()
    U, V = p.final()
    etas = (0.02, 0.01, 0.005)
    errs = gd_flow_errors(U0, V0, S, 2.0, etas, noise=s)
    return {
        "label": case["label"], "d": S.shape[0], "sigma_op": float(np.linalg.eigvalsh(S).max()), "noise_var": s * s,
        "alpha": case["alpha"], "method": p.method, "steps": len(p.t) - 1, "nfev": p.nfev,
        "t_converged": p.event_time, "distance": bayes_distance(U, V, S), "family_distance": family_distance(U, V, S),
        "risk_final": float(risk[-1]), "bayes_risk": s * s / 2, "excess_risk": float(risk[-1] - s * s / 2),
        "risk_max_increase": float(max(0.0, np.diff(risk).max())), "balance_drift": drift, "balance_allowed": allowed,
        "dissipation_gap": float(dissipation_gap(p)), "off_subspace": float(np.abs(p.theta[:, S.shape[0] ** 2:-1]).max()),
        "gd_etas": list(etas), "gd_errors_T2": errs, "gd_order": gd_order(errs),
        "seconds": round(time.perf_counter() - t0, 3),
    }


def _findings(infinite: list[dict], cells: list[dict]) -> list[str]:
    out = []
    conv = [r for r in infinite if r["t_converged"] is not None]
    out.append(f"L = inf: {len(conv)}/{len(infinite)} balanced flows reach (U*, V*) to 1e-9 (DOP853 rtol 1e-10, atol 1e-12); "
               f"largest |R - s^2/2| {max(abs(r['excess_risk']) for r in infinite):.2g}; balance drift <= allowed in "
               f"{sum(r['balance_drift'] <= r['balance_allowed'] for r in infinite)}/{len(infinite)}")
    bad = [c for c in cells if not c["converged"]]
    outside_printed = [c for c in cells if not c["in_printed"]]
    outside_zfb = [c for c in cells if not c["in_zfb"]]
    witness = [c for c in cells if c["in_printed"] and not c["in_zfb"]]
    out.append(f"init interval: {len(cells) - len(bad)}/{len(cells)} cells converge (alpha {min(c['alpha'] for c in cells):g}"
               f"..{max(c['alpha'] for c in cells):g}, d in {sorted({c['d'] for c in cells})}, ||Sigma||_op in "
               f"{sorted({c['sigma_op'] for c in cells})}), including {sum(c['converged'] for c in outside_printed)}/"
               f"{len(outside_printed)} outside the printed interval and {sum(c['converged'] for c in outside_zfb)}/"
               f"{len(outside_zfb)} outside ZFB's")
    if witness:
        out.append(f"{len(witness)} cells lie inside the printed interval but outside ZFB's (||Sigma||_op < 1): "
                   f"{sum(c['converged'] for c in witness)} converge; the printed interval is not ZFB's condition "
                   f"(a dropped square root) and neither is needed: every alpha > 0 converges")
    for c in cells:
        if c["d"] == 1 and c["sigma_op"] == 0.25 and c["alpha"] == 4.0:
            out.append(f"the audit's witness d=1, Sigma=1/4, alpha=4 (printed bound {printed_bound(1, 0.25):.3g}, ZFB bound "
                       f"{zfb_bound(1, 0.25):.3g}) {'converges' if c['converged'] else 'does NOT converge'}: distance to "
                       f"the Bayes family {c['family_distance']:.2g} at t={c['t_end']:.4g} (A = b -> Sigma^(-1/2) = 2)")
    slow = [c for c in cells if c["t_reach"] is not None]
    if slow:
        c = max(slow, key=lambda c: c["t_reach"])
        out.append(f"slowest: alpha={c['alpha']:.3g}, d={c['d']}, ||Sigma||_op={c['sigma_op']:g} reaches 1e-6 at "
                   f"t={c['t_reach']:.4g} (escape from the saddle at 0 at rate ||Sigma^2||_F; times scale like "
                   f"1/||Sigma||_op^2)")
    return out


def escape_law(dims=(1, 2, 5), norms=(0.25, 4.0)) -> list[str]:
    r"""The escape-time law measured: \lambda (t(10^{-6}) - t(10^{-5})) / ln 10 with \lambda = ||\Sigma^2||_F, per
    (d, ||\Sigma||_op) (1 when the time to leave the saddle is ln(1/\alpha)/\lambda + C + O(\alpha))."""
    out = []
    for d in dims:
        for norm in norms:
            S = scaled_sigma(d, norm)
            t1, t2 = (c["t_reach"] for c in alpha_sweep(S, ESCAPE_ALPHAS))
            out.append(f"d={d}, ||Sigma||={norm:g}: {escape_rate(S) * (t1 - t2) / math.log(10.0):.5f}")
    return out


PARTS = ("infinite", "finite", "sgd")
"""The parts of ``verify train``: L = inf flows and the alpha interval (this module), finite-L GD against the L = inf
reference (:mod:`verify.icl.training_finite`), the authors' SGD experiment (:mod:`verify.icl.training_sgd`)."""


def run_infinite_part(*, quick: bool = False, seed: int = 0, progress: Callable[[str], None] | None = None) -> dict:
    r"""The L = \infty part: {"runs": [...], "init_interval": [...], "fits": [], "findings": [...]}.
    Quick: 2 cases (isotropic d = 5; Toeplitz d = 5 with s^2 = 0.1), \alpha grid of 6 log-spaced values in
    [1e-3, 100] plus the witness 4, ||\Sigma||_op in {1/4, 4}; full: 5 cases, 16 values plus 4, ||\Sigma||_op in
    {1/4, 1, 4}; d in {1, 2, 5}, P random (from ``seed``)."""
    seed = seed_value(seed)
    infinite = []
    for case in _cases(seed, quick):
        r = run_infinite(case)
        infinite.append(r)
        if progress:
            progress(f"L=inf {r['label']}: distance {r['distance']:.2g} at t={r['t_converged']}, {r['seconds']}s")
    alphas = sorted(set(np.logspace(-3, 2, 6 if quick else 16).tolist()) | {4.0})  # 4: the audit's witness
    norms = (0.25, 4.0) if quick else (0.25, 1.0, 4.0)
    cells = init_interval_audit((1, 2, 5), norms, alphas, P_seed=seed, progress=progress)
    findings = _findings(infinite, cells)
    findings.append("escape law, ||Sigma^2||_F (t(1e-6) - t(1e-5)) / ln 10 (1 = time ln(1/alpha)/||Sigma^2||_F): "
                    + "; ".join(escape_law(norms=norms)))
    return {"runs": infinite, "init_interval": cells, "fits": [], "findings": findings}


def _run_part(part: str, quick: bool, seed: int, progress=None) -> dict:
    """One part of ``verify train`` (a cell of :func:`run_train`'s sweep), JSON-ready (numbers as Python floats)."""
    import json

    from verify.icl import training_finite as train_finite

    from verify.icl import training_sgd as train_sgd

    runners = {"infinite": run_infinite_part, "finite": train_finite.run_finite, "sgd": train_sgd.run_sgd}
    t0 = time.perf_counter()
    res = runners[part](quick=bool(quick), seed=seed, progress=progress)
    res.setdefault("seconds", round(time.perf_counter() - t0, 2))
    return json.loads(json.dumps(res, default=float))


def run_train(*, quick: bool = False, seed: int = 0, progress: Callable[[str], None] | None = None,
              parts=PARTS, workers: int | None = None, scheduler: str | None = None, log=None) -> dict:
    r"""``verify train``: one JSON-able object {"runs": {part: result}, "fits": [...], "findings": [...]} over the
    ``parts`` (:data:`PARTS`); each part's result is that of :func:`run_infinite_part`,
    :func:`verify.icl.training_finite.run_finite` or :func:`verify.icl.training_sgd.run_sgd` (their own runs, fits, findings);
    the top-level fits and findings are theirs, tagged with the part.  Full: about 12 minutes on 2 idle cores.

    The parts are the cells of a :func:`verify.sweep.run_sweep` (keyed by (part, seed, quick); each part's
    randomness comes from ``seed`` alone): in-process by default, ``workers`` processes of a Dask LocalCluster or
    the cluster at ``scheduler``, ``log`` (JSON lines) to resume; the result is the same on every backend."""
    from verify.sweep import Cell, run_sweep

    seed = seed_value(seed)
    parts = tuple(dict.fromkeys(parts))
    unknown = [p for p in parts if p not in PARTS]
    if unknown or not parts:
        raise ValueError(f"parts: expected a non-empty subset of {PARTS}, got {parts!r}")
    local = workers in (None, 1) and scheduler is None
    cells = [Cell(("train", part, seed, bool(quick)), _run_part, (part, bool(quick), seed, progress if local else None))
             for part in sorted(parts, key=lambda p: -{"finite": 3, "sgd": 2, "infinite": 1}[p])]  # longest first

    def told(done, total, key):
        if progress:
            progress(f"[{done}/{total}] train part {key[1]} done")

    results = run_sweep(cells, workers=workers, scheduler=scheduler, log=log, progress=told)
    out = {"runs": {}, "fits": [], "findings": [], "seed": seed, "quick": bool(quick)}
    for part in parts:
        res = results[("train", part, seed, bool(quick))]
        out["runs"][part] = res
        out["fits"] += [{"part": part, **f} if isinstance(f, dict) else {"part": part, "fit": f} for f in res["fits"]]
        out["findings"] += [f"[{part}] {f}" for f in res["findings"]]
    return out


def train_ok(result: dict) -> bool:
    r"""Every L = \infty run reached (U_\star, V_\star), kept its balance within the tolerated drift and its energy
    identity to 1e-8, and its risk is the Bayes risk to 1e-12; the finite-L and SGD parts ran without a diverged
    run (their measurements are findings, not pass/fail: Theorem 4.3 is checked by the statement train-finite)."""
    runs = result["runs"]
    inf_ok = all(r["t_converged"] is not None and r["balance_drift"] <= r["balance_allowed"]
                 and r["dissipation_gap"] <= 1e-8 and abs(r["excess_risk"]) <= 1e-12
                 for r in runs.get("infinite", {}).get("runs", []))
    finite_ok = all(not r.get("diverged", False) for r in runs.get("finite", {}).get("runs", []))
    sgd_ok = all(not r.get("diverged", False) for r in runs.get("sgd", {}).get("runs", []))
    return inf_ok and finite_ok and sgd_ok


def _infinite_summary(part: dict) -> list[str]:
    lines = ["L = inf (gradient flow on R_inf, balanced init, alpha = 0.5):",
             f"  {'case':<26} {'t(1e-9)':>8} {'dist':>7} {'R-s^2/2':>8} {'drift/tol':>9} {'energy':>7} "
             f"{'GD ord':>6} {'steps':>5} {'sec':>5}"]
    for r in part["runs"]:
        t = "never" if r["t_converged"] is None else f"{r['t_converged']:.4g}"
        lines.append(f"  {r['label']:<26} {t:>8} {r['distance']:>7.1g} {r['excess_risk']:>8.1g} "
                     f"{r['balance_drift'] / r['balance_allowed']:>9.1g} {r['dissipation_gap']:>7.0g} "
                     f"{r['gd_order']:>6.3f} {r['steps']:>5} {r['seconds']:>5.1f}")
    cells = part["init_interval"]
    lines.append("init interval (alpha 1e-3..100 and 4; P random): converged/cells, slowest time to 1e-6 of the family")
    for d, norm in sorted({(c["d"], c["sigma_op"]) for c in cells}):
        row = [c for c in cells if c["d"] == d and c["sigma_op"] == norm]
        slow = max(math.inf if c["t_reach"] is None else c["t_reach"] for c in row)
        lines.append(f"  d={d} ||Sigma||_op={norm:<5g} printed bound {printed_bound(d, norm):<7.3g} ZFB bound "
                     f"{zfb_bound(d, norm):<7.3g} {sum(c['converged'] for c in row)}/{len(row)} converge, slowest t={slow:.4g}")
    return lines


def _finite_summary(part: dict) -> list[str]:
    lines = ["finite L (GD on R_L, fresh prompts each step, against GD on R_inf from the same start):"]
    for r in part["runs"]:
        if r.get("kind") == "balanced" and "final_excess" in r:
            fe = r["final_excess"]
            lines.append(f"  L={r['L']:<6} final R_L - Bayes {fe[0]:.3g} +- {fe[1]:.1g}"
                         + (f", late parameter gap {r['param_gap_late'][0]:.3g}" if "param_gap_late" in r else ""))
    for f in part["fits"]:
        lines.append(f"  fit: {f}" if not isinstance(f, dict) else
                     "  fit: " + ", ".join(f"{k}={v}" for k, v in f.items() if not isinstance(v, (list, dict))))
    return lines


def summary(result: dict) -> str:
    """The terminal summary of ``verify train``: each part's table, then every finding."""
    from verify.icl.training_sgd import sgd_summary

    lines = []
    runs = result["runs"]
    if "infinite" in runs:
        lines += _infinite_summary(runs["infinite"])
    if "finite" in runs:
        lines += _finite_summary(runs["finite"])
    if "sgd" in runs:
        lines += [ln for ln in sgd_summary(runs["sgd"]).splitlines() if not ln.startswith(("findings:", "  - ", "    "))]
    lines.append("findings:")
    lines += [textwrap.fill(f, 100, initial_indent="  - ", subsequent_indent="    ") for f in result["findings"]]
    lines.append(f"verify train: {'ok' if train_ok(result) else 'FAILED'}")
    return "\n".join(lines)


def output_dir(directory):
    """The output directory of ``verify train -o DIR``: an existing directory, or a new one whose parent exists
    (created); anything else is a ValueError naming -o/--output."""
    from pathlib import Path

    if not isinstance(directory, (str, Path)) or not str(directory):
        raise TypeError(f"-o/--output: expected a directory path, got {directory!r}")
    out = Path(directory)
    if out.exists() and not out.is_dir():
        raise ValueError(f"-o/--output: {str(out)!r} exists and is not a directory")
    if not out.exists() and not out.parent.exists():
        raise ValueError(f"-o/--output: parent directory {str(out.parent)!r} does not exist")
    out.mkdir(exist_ok=True)
    return out


def write_train(result: dict, directory) -> list:
    """Write train.json (every number), init_interval.csv and the figures of each part into ``directory`` (see
    :func:`output_dir`): risk against time for each L and L = inf, final excess risk and trajectory gap against L
    (:func:`verify.icl.training_finite.write_finite_figures`), the SGD experiment and the alpha sweep
    (:func:`verify.icl.training_sgd.write_sgd_figures`)."""
    import json

    out = output_dir(directory)
    j = out / "train.json"
    j.write_text(json.dumps(result, indent=1, default=float))
    written = [j]
    runs = result["runs"]
    if "infinite" in runs:
        c = out / "init_interval.csv"
        keys = ["d", "sigma_op", "alpha", "in_printed", "in_zfb", "converged", "t_reach", "family_distance", "distance",
                "t_end", "steps"]
        c.write_text("\n".join([",".join(keys)] + [",".join("" if r[k] is None else str(r[k]) for k in keys)
                                                   for r in runs["infinite"]["init_interval"]]) + "\n")
        written.append(c)
    if "finite" in runs:
        from verify.icl.training_finite import write_finite_figures

        written += list(write_finite_figures(runs["finite"], out))
    if "sgd" in runs or "infinite" in runs:
        from verify.icl.training_sgd import alpha_figure, write_sgd_figures

        if "sgd" in runs:
            written += list(write_sgd_figures(runs["sgd"], out))
        if "infinite" in runs:
            alpha_figure(runs["infinite"]["init_interval"], out / "alpha_sweep.png")
            written.append(out / "alpha_sweep.png")
    return written
