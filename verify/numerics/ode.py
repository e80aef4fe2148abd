r"""Trajectories: one recorded-path type and the drivers that produce it.

A :class:`Trajectory` is what every flow, descent run or particle simulation of the toolkit returns: the record
times ``t`` (n,), the flat states ``y`` (n, k), a ``method`` line that states the integrator and its tolerances (or
the step), the number of right-hand-side evaluations, whether the run ``diverged``, the time a terminal event
fired, and named per-record series in ``series`` (e.g. the dissipated energy \int_0^t \|G\|^2, a batch risk).  A
domain reads its own coordinates out of ``y`` (e.g. (U, V) of in-context regression, (m, \Gamma) of the moment
ODEs); the type knows nothing about them.

Drivers:

* :func:`integrate` -- an error-controlled solution of y' = f(t, y) by ``scipy.integrate.solve_ivp`` (DOP853 by
  default, LSODA where a flow turns stiff), every accepted step or the requested times recorded, terminal events
  (a blow-up bound, a stop condition) honoured;
* :func:`rk4` -- classical Runge-Kutta 4 on a (possibly graded) fixed mesh, for vectorised batches of flows;
* :func:`descend` -- explicit Euler steps y_{k+1} = step(k, y_k) (gradient descent, SGD), recorded every few steps.

>>> path = integrate(lambda t, y: -y, [1.0], 2.0, rtol=1e-12, atol=1e-14)
>>> round(float(path.final[0]), 10), path.method
(0.1353352832, 'DOP853 rtol=1e-12 atol=1e-14')
>>> path = rk4(lambda t, y: -y, [1.0], 1.0, 100)
>>> bool(abs(path.final[0] - math.exp(-1.0)) < 1e-9), path.method
(True, 'RK4 100 steps on [0, 1] (grading 1)')
>>> path = descend(lambda k, y: y - 0.1 * y, [1.0], n_steps=10, dt=0.1, record_every=5)
>>> path.t.tolist(), round(float(path.final[0]), 6)
([0.0, 0.5, 1.0], 0.348678)
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import Callable, Sequence

import numpy as np

from verify._validation import as_array, positive_float, positive_int

__all__ = ["Trajectory", "integrate", "rk4", "descend", "DEFAULT_RTOL", "DEFAULT_ATOL"]

DEFAULT_RTOL = 1e-10
DEFAULT_ATOL = 1e-12


@dataclass(frozen=True)
class Trajectory:
    """A recorded path: times ``t`` (n,), states ``y`` (n, k), how it was computed (``method``, ``nfev``), whether it
    ``diverged`` or a terminal ``event_time`` stopped it, and named per-record ``series`` (each of length n) or
    whole-run ``data`` (anything a study attaches: a sweep's cells, a pair of flows)."""

    t: np.ndarray
    y: np.ndarray
    method: str
    nfev: int = 0
    diverged: bool = False
    event_time: float | None = None
    series: dict = field(default_factory=dict)
    data: object = None

    @property
    def final(self) -> np.ndarray:
        """The last recorded state."""
        return self.y[-1]

    @property
    def t_end(self) -> float:
        """The last recorded time (NaN for an empty record)."""
        return float(self.t[-1]) if len(self.t) else math.nan

    def with_data(self, **changes) -> "Trajectory":
        """A copy with some fields replaced (e.g. a study's ``data``)."""
        return replace(self, **changes)


def _terminal(fn: Callable, direction: float = 0.0) -> Callable:
    """``fn`` as a terminal solve_ivp event crossing zero in ``direction``."""
    setattr(fn, "terminal", True)
    setattr(fn, "direction", direction)
    return fn


def integrate(rhs: Callable[[float, np.ndarray], np.ndarray], y0, t_end, *, method: str = "DOP853",
              rtol: float = DEFAULT_RTOL, atol: float = DEFAULT_ATOL, t_eval: Sequence[float] | None = None,
              blow_up: float | None = None, stop: Callable[[float, np.ndarray], float] | None = None,
              stop_direction: float = -1.0, series: dict | None = None) -> Trajectory:
    r"""y' = ``rhs(t, y)`` on [0, ``t_end``] by ``solve_ivp(method)`` with ``rtol``/``atol``.

    Every accepted step is recorded, or the times ``t_eval``.  ``blow_up``: the run stops (``diverged``) when
    max|y| reaches it.  ``stop(t, y)``: a terminal event (crossing zero in ``stop_direction``), recorded as
    ``event_time``.  ``series``: {name: column index} of state components to report as named series (e.g. an
    integral integrated alongside the flow).  A failing integrator raises ``ValueError`` naming ``rhs``."""
    from scipy.integrate import solve_ivp

    if not callable(rhs):
        raise TypeError(f"rhs: expected a callable, got {type(rhs).__name__}")
    y0 = as_array(y0, "y0", ndim=1)
    t_end = positive_float(t_end, "t_end")
    rtol, atol = positive_float(rtol, "rtol"), positive_float(atol, "atol")
    events = []
    if blow_up is not None:
        bound = positive_float(blow_up, "blow_up")
        events.append(_terminal(lambda t, y: bound - np.abs(y).max()))
    if stop is not None:
        if not callable(stop):
            raise TypeError(f"stop: expected a callable, got {type(stop).__name__}")
        events.append(_terminal(lambda t, y: stop(t, y), stop_direction))
    sol = solve_ivp(rhs, (0.0, t_end), y0, method=method, rtol=rtol, atol=atol, events=events or None,
                    t_eval=None if t_eval is None else np.asarray(t_eval, dtype=float))
    if sol.status == -1:
        raise ValueError(f"rhs: the integrator failed: {sol.message}")
    Y = sol.y.T
    k = 0
    diverged = blow_up is not None and len(sol.t_events[k]) > 0
    k += blow_up is not None
    event = float(sol.t_events[k][0]) if stop is not None and len(sol.t_events[k]) else None
    named = {name: Y[:, col] for name, col in (series or {}).items()}
    return Trajectory(t=sol.t, y=Y, method=f"{method} rtol={rtol:g} atol={atol:g}", nfev=int(sol.nfev),
                      diverged=diverged, event_time=event, series=named)


def rk4(rhs: Callable[[float, np.ndarray], np.ndarray], y0, t_end, n_steps, record_every: int = 1,
        grading=1.0) -> Trajectory:
    r"""Classical Runge-Kutta 4 for y' = rhs(t, y) on [0, t_end] with n_steps steps (local error O(h^5)).

    The mesh is t_k = t_end (k / n_steps)^grading: uniform for ``grading`` = 1, refined near t = 0 (where a
    gradient flow from a large initialisation moves fastest) for ``grading`` > 1.  The state is recorded every
    ``record_every`` steps (both ends included); ``y0`` may be any array shape (a batch of flows), recorded as is.

    >>> rk4(lambda t, y: -y, [1.0], 1.0, 100, grading=2.0).t[:3].tolist()
    [0.0, 0.0001, 0.0004]
    >>> rk4(lambda t, y: -y, [1.0], 1.0, 0)
    Traceback (most recent call last):
    ...
    ValueError: n_steps: must be >= 1, got 0
    """
    if not callable(rhs):
        raise TypeError(f"rhs: expected a callable, got {type(rhs).__name__}")
    y = as_array(y0, "y0").copy()
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
    return Trajectory(t=np.array(ts), y=np.array(ys), nfev=4 * n_steps,
                      method=f"RK4 {n_steps} steps on [0, {t_end:g}] (grading {grading:g})")


def descend(step: Callable[[int, np.ndarray], np.ndarray], y0, n_steps, *, dt: float, record_every: int = 1,
            blow_up: float = 1e6, method: str = "", record: Callable[[int, np.ndarray], dict] | None = None) -> Trajectory:
    r"""Explicit steps y_{k+1} = ``step(k, y_k)`` (gradient descent: step = y - \eta G(y); SGD with a fresh batch per
    k), recorded every ``record_every`` steps at times t = k ``dt``.  The run stops (``diverged``) when a state is
    not finite or max|y| exceeds ``blow_up``.  ``record(k, y)`` may return named values to keep per record
    (``series``)."""
    if not callable(step):
        raise TypeError(f"step: expected a callable, got {type(step).__name__}")
    y = as_array(y0, "y0").copy()
    n_steps = positive_int(n_steps, "n_steps")
    dt = positive_float(dt, "dt")
    record_every = positive_int(record_every, "record_every")
    blow_up = positive_float(blow_up, "blow_up")
    ts, ys, extra, diverged, k = [0.0], [y.copy()], [record(0, y) if record else {}], False, 0
    for k in range(1, n_steps + 1):
        y = step(k - 1, y)
        if not np.all(np.isfinite(y)) or np.abs(y).max() > blow_up:
            diverged = True
        if diverged or k % record_every == 0 or k == n_steps:
            ts.append(k * dt)
            ys.append(y.copy())
            extra.append(record(k, y) if record else {})
        if diverged:
            break
    names = sorted(set().union(*extra))
    series = {n: np.array([e.get(n, np.nan) for e in extra]) for n in names}
    return Trajectory(t=np.array(ts), y=np.array(ys), method=method or f"explicit steps dt={dt:g}", nfev=k,
                      diverged=diverged, series=series)
