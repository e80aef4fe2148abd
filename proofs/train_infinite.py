r"""Theorem 5.1 (v1) / 5.2 (v2) at $L = \infty$: the gradient flow of $\mathcal R_\infty$ from the balanced
initialisation reaches the Bayes point, and the initialisation interval audited.

**Statement** (the infinite-prompt half of the theorem; its proof applies ZFB Theorem 4.1 at $N = \infty$).
For in-context linear regression (paper Eq. (7), label noise $s \ge 0$), $\Sigma \succ 0$, the initialisation
(paper Eq. (9))

    U(0) = \alpha diag(P, 0),  P = \Theta\Theta^T,  ||P||_F = 1,   V(0) = \alpha e_{d+1}e_{d+1}^T,

the flow $\dot\theta = -\nabla\mathcal R_\infty(\theta)$ converges to $U_\star = \mathrm{tr}(\Sigma^{-2})^{-1/4}\mathrm{diag}(\Sigma^{-1}, 0)$,
$V_\star = \mathrm{tr}(\Sigma^{-2})^{1/4}e_{d+1}e_{d+1}^\top$ and $\mathcal R_\infty \to s^2/2$ (the Bayes risk), for
**every** $\alpha > 0$; $\|U\|_F^2 - \|V\|_F^2$ is conserved; $\mathcal R_\infty(\theta(T)) - \mathcal R_\infty(\theta(0)) =
-\int_0^T\|\nabla\mathcal R_\infty\|^2$; gradient descent with step $\eta$ tracks the flow with error $O(\eta)$.

**The interval.**  The paper prints $0 < \alpha < \sqrt2/(d^{1/4}\|\Sigma\|_{op})$; ZFB's condition at $N = \infty$ is
$\alpha^2\|\Sigma\|_{op}\sqrt d < 2$.  They differ when $\|\Sigma\|_{op} \ne 1$ (witness $d = 1$, $\Sigma = 1/4$,
$\alpha = 4$: inside the printed interval, outside ZFB's).  The flow is covariant under $\Sigma \to c\Sigma$
(derivation below): $(A, b)(t; c\Sigma, \alpha) = c^{-1/2}(A, b)(c^2t; \Sigma, \alpha c^{1/2})$, so a condition on the
initialisation can only involve $\alpha^2\|\Sigma\|_{op}$ (ZFB's form; the printed one drops a square root).  And
computation shows none is needed: every $\alpha$ in $[10^{-3}, 100]$ converges, for $d = 1, 2, 5$ and
$\|\Sigma\|_{op} = 1/4, 4$; a tiny $\alpha$ only waits near the saddle at 0, escaping at rate $\|\Sigma^2\|_F$ (the
linearisation's eigenvalue), i.e. in time $\ln(1/\alpha)/\|\Sigma^2\|_F + O(1)$.  The hypothesis actually used is
$\alpha > 0$ with $P \succeq 0$, $P \ne 0$ (so $\mathrm{tr}(P\Sigma^2) > 0$ and $b$ grows away from 0).

**Evidence.**  The kind ``trajectory`` (an error-controlled trajectory, a figure along it).  The flows are those of
verify.icl.training: DOP853 (LSODA for the long, stiff runs to the limit) with stated rtol/atol on the closed-form
gradient of verify.icl.gradient (statement icl-gradient).  References never call the subject: the limit, the Bayes
risk, the escape rate and the interval are compared with trajectories prepared once per seed, which stop on their own
convergence (the gradient's size), never on a distance to the point under test; a planted gradient, update or exponent
drives its own trajectory.  The limit is a SymPy closed form (U_\star = tr(\Sigma^{-2})^{-1/4}\Sigma^{-1}); the numpy Bayes
point and the hand-written batched field of the \alpha sweep are themselves subjects.
"""

from __future__ import annotations

import math

import numpy as np
import sympy as sp

from verify.icl.gradient import icl_risk_gradient
from verify.icl.risk import icl_risk_infinite, invariant_point, toeplitz_sigma
from verify.icl.training import (
    DEFAULT_ATOL,
    DEFAULT_RTOL,
    alpha_sweep,
    balance_drift,
    balanced_init,
    balanced_invariant_flow,
    bayes_distance,
    dissipation_gap,
    escape_rate,
    final_point,
    gd_flow_errors,
    gd_order,
    gradient_flow,
    printed_bound,
    random_direction,
    scaled_sigma,
    zfb_bound,
)
import verify.icl.gradient as _gradient_module
import verify.icl.risk as _risk_module
from verify.kernel.compare import relative_error
from verify.kernel.derivation import Derivation
from verify.kernel.evidence import agreement, bound, trajectory
from verify.kernel.verdict import Finding
from verify.kernel.statement import Mutant, Statement
from verify.numerics.closed_form import float_closed_form
from verify.numerics.ode import Trajectory
from verify.numerics.strategies import random_covariance
from verify.symbolic import symbolic_matrix

# ------------------------------------------------------------------------------ the flow and its rescaling (SymPy)


def invariant_flow(A, b, Sigma):
    r"""$(\dot A, \dot b) = (b\Sigma^2 - b^2\Sigma^2A\Sigma,\ \mathrm{tr}(A^\top\Sigma^2) - b\,\mathrm{tr}(A^\top\Sigma^2A\Sigma))$,
    as one column $(\mathrm{vec}\,\dot A, \dot b)$ (statement icl-gradient: this is $-\nabla\mathcal R_\infty$ there)."""
    S2 = Sigma * Sigma
    Adot = b * S2 - b**2 * S2 * A * Sigma
    bdot = (A.T * S2).trace() - b * (A.T * S2 * A * Sigma).trace()
    return sp.Matrix(list(Adot) + [bdot])


_d = sp.Symbol("d", integer=True, positive=True)
SIGMA = sp.MatrixSymbol("Sigma", _d, _d)
U_STAR = sp.Trace(SIGMA.I**2) ** sp.Rational(-1, 4) * SIGMA.I
r"""The statement's closed form: the U_{11} block of the limit, U_\star = tr(\Sigma^{-2})^{-1/4}\Sigma^{-1} (general d)."""
B_STAR = sp.Trace(SIGMA.I**2) ** sp.Rational(1, 4)
r"""b_\star = tr(\Sigma^{-2})^{1/4}, so that V_\star = b_\star e_{d+1}e_{d+1}^T and ||U_\star||_F = b_\star (balanced)."""


def limit_of(expr, b_expr=B_STAR):
    r"""A SymPy form of U_{11} (the closed form :data:`U_STAR`, or a slip of it) as a limit point \Sigma -> (U, V)
    (V_{d+1,d+1} from ``b_expr``), evaluated in float64 (:func:`verify.numerics.closed_form.float_closed_form`)."""
    fu, fb = float_closed_form(expr, (SIGMA,)), float_closed_form(b_expr, (SIGMA,))

    def limit(Sigma):
        S = np.asarray(Sigma, dtype=float)
        k = S.shape[0]
        return invariant_point(np.asarray(fu({"Sigma": S}), dtype=float).reshape(k, k),
                               float(np.ravel(fb({"Sigma": S}))[0]), k)

    return limit


def derivation_scaling(d: int, exponent=sp.Rational(1, 2)) -> Derivation:
    r"""$F(kA, kb; c\Sigma) = k c^2 F(A, b; \Sigma)$ with $k = c^{-1/2}$: the flow at $c\Sigma$ is the flow at $\Sigma$ from
    $\alpha c^{1/2}$, run $c^2$ times faster and scaled by $c^{-1/2}$.  ``exponent`` (of $k = c^{-e}$) is 1/2; a
    planted 1 (the printed interval's $\alpha\|\Sigma\|$ form) fails the chain."""
    A = symbolic_matrix("A", d, d)
    Sig = symbolic_matrix("Sigma", d, d, symmetric=True)
    b = sp.Symbol("b", real=True)
    c = sp.Symbol("c", positive=True)
    k = c ** (-exponent)
    return (
        Derivation(f"covariance of the flow under $\\Sigma \\to c\\Sigma$ ($d = {d}$)", invariant_flow(k * A, k * b, c * Sig),
                   start_tex=r"F(kA, kb;\, c\Sigma),\ k = c^{-1/2}", brief=d > 1,
                   conclusion=k * c**2 * invariant_flow(A, b, Sig), conclusion_tex=r"k\,c^2\,F(A, b;\, \Sigma)")
        .step(sp.Matrix(list(k * c**2 * b * Sig**2 - k**3 * c**3 * b**2 * Sig**2 * A * Sig)
                        + [k * c**2 * (A.T * Sig**2).trace() - k**3 * c**3 * b * (A.T * Sig**2 * A * Sig).trace()]),
              r"expand: the $\Sigma^2$ terms carry $k c^2$, the cubic terms $k^3 c^3$",
              rhs_tex=r"\big(kc^2 b\Sigma^2 - k^3c^3 b^2\Sigma^2A\Sigma,\ kc^2\mathrm{tr}(A^\top\Sigma^2) - k^3c^3 b\,\mathrm{tr}(A^\top\Sigma^2A\Sigma)\big)")
        .step(k * c**2 * invariant_flow(A, b, Sig), r"$k^2 c = 1$", rhs_tex=r"k\,c^2\,F(A, b;\, \Sigma)")
    )


def derivation_linearisation(d: int) -> Derivation:
    r"""At the origin the flow's Jacobian is $J = \begin{pmatrix}0 & \mathrm{vec}\,\Sigma^2\\ (\mathrm{vec}\,\Sigma^2)^\top & 0\end{pmatrix}$,
    and $J^2 (\mathrm{vec}\,\Sigma^2, \|\Sigma^2\|_F) = \|\Sigma^2\|_F^2 (\mathrm{vec}\,\Sigma^2, \|\Sigma^2\|_F)$ up to the
    eigenvector: the escape rate is $\|\Sigma^2\|_F$."""
    A = symbolic_matrix("A", d, d)
    Sig = symbolic_matrix("Sigma", d, d, symmetric=True)
    b = sp.Symbol("b", real=True)
    x = sp.Matrix(list(A) + [b])
    s = sp.Matrix(list(Sig * Sig))
    n = d * d
    J = sp.zeros(n + 1, n + 1)
    J[:n, n], J[n, :n] = s, s.T
    zero = {v: 0 for v in x}
    return (
        Derivation(f"the flow's Jacobian at the saddle $0$ ($d = {d}$)", invariant_flow(A, b, Sig).jacobian(x).xreplace(zero),
                   start_tex=r"\partial F/\partial(A, b)\,\big|_{0}", brief=d > 1, conclusion=J,
                   conclusion_tex=r"\begin{pmatrix}0 & \mathrm{vec}\,\Sigma^2\\ (\mathrm{vec}\,\Sigma^2)^\top & 0\end{pmatrix}")
        .step(J, r"the cubic terms have zero derivative at 0; $\partial_b(b\Sigma^2) = \Sigma^2$, $\partial_A \mathrm{tr}(A^\top\Sigma^2) = \Sigma^2$",
              rhs_tex=r"\begin{pmatrix}0 & \mathrm{vec}\,\Sigma^2\\ (\mathrm{vec}\,\Sigma^2)^\top & 0\end{pmatrix}")
    )


def derivations() -> list[Derivation]:
    return [derivation_scaling(1), derivation_scaling(2), derivation_linearisation(2)]


# ------------------------------------------------------------------------------ points, trajectories, figures
#
# References never call the subject: the limit, the Bayes risk, the interval and the escape rate are compared with
# trajectories computed once per seed (``reference=``); a planted gradient, update or exponent drives its own
# trajectory (``driven=``).


def convergence_points(rng) -> list[dict]:
    r"""Balanced starts (\alpha = 0.5, P random from ``rng``): isotropic d = 2 and Toeplitz(0.5) d = 5 with label
    noise s^2 = 0.1 (the limit check)."""
    cases = [("isotropic d=2", np.eye(2), 0.0), ("Toeplitz(0.5) d=5, s^2=0.1", toeplitz_sigma(5, 0.5), math.sqrt(0.1))]
    return [{"label": lab, "Sigma": S, "noise": s, "alpha": 0.5, "P": random_direction(S.shape[0], rng)}
            for lab, S, s in cases]


def noisy_points(rng) -> list[dict]:
    r"""Balanced starts with label noise s = 0.3 (the Bayes-risk check): isotropic d = 2 (\alpha = 2) and a random
    anisotropic \Sigma, d = 3 (\alpha = 0.5); P random from ``rng``."""
    cases = [("isotropic d=2, s=0.3", np.eye(2), 2.0), ("random d=3, s=0.3", random_covariance(3, rng), 0.5)]
    return [{"label": lab, "Sigma": S, "noise": 0.3, "alpha": a, "P": random_direction(S.shape[0], rng)}
            for lab, S, a in cases]


STOP_GRADIENT = 3e-11
r"""The reference flows stop on their own convergence, max|\nabla R_\infty| <= 3e-11, never on a distance to a
claimed limit (the subject): at the points of the checks that leaves a relative distance to (U_\star, V_\star) below
5e-10 (seeds 0..20) and |R_\infty - s^2/2| below 1e-19."""


def converged_path(p: dict) -> Trajectory:
    r"""The flow of a convergence point until max|\nabla R_\infty| <= :data:`STOP_GRADIENT` (LSODA, default tolerances,
    t <= 1e5).  LSODA (Adams, switching to BDF where the problem turns stiff): near (U_\star, V_\star) the Hessian's
    spread (condition number of \Sigma up to ~15 at the random points) costs DOP853 up to 80k gradient calls; LSODA
    arrives at the same point in ~2500.  The stopping rule reads the field that drives the flow, not the Bayes point
    the checks compare the end with."""
    return gradient_flow(*balanced_init(p["Sigma"], p["alpha"], p["P"]), p["Sigma"], 1e5, noise=p["noise"],
                         stop_gradient=STOP_GRADIENT, method="LSODA")


def limit_gap(p: dict, path: Trajectory, limit) -> float:
    r"""Relative distance of the path's end to limit(\Sigma) (:func:`verify.icl.training.bayes_distance`)."""
    return bayes_distance(*final_point(path), p["Sigma"], limit)


def risk_gap(p: dict, path: Trajectory, bayes_risk) -> float:
    r"""|R_\infty(end) - bayes_risk(s)|, R_\infty the closed form at the path's end."""
    return abs(icl_risk_infinite(*final_point(path), p["Sigma"], p["noise"]) - float(bayes_risk(p["noise"])))


def short_points(rng) -> list[dict]:
    r"""Short flows (t <= 2), Toeplitz(0.5) \Sigma: a balanced start at d = 2 (\alpha = 0.5, P random) and a generic
    start off the invariant subspace (d = 3, U, V with N(0, 0.3^2) entries, s = 0.3)."""
    S2, S3 = toeplitz_sigma(2, 0.5), toeplitz_sigma(3, 0.5)
    return [{"label": "balanced d=2, alpha=0.5", "Sigma": S2, "noise": 0.0, "T": 2.0,
             "start": balanced_init(S2, 0.5, random_direction(2, rng))},
            {"label": "generic d=3, s=0.3", "Sigma": S3, "noise": 0.3, "T": 2.0,
             "start": tuple(0.3 * rng.standard_normal((2, 4, 4)))}]


def field_path(p: dict, gradient) -> Trajectory:
    r"""The flow of ``gradient`` (the subject: the closed form or a planted slip) from a short point, with
    \int ||G||^2 alongside."""
    return gradient_flow(*p["start"], p["Sigma"], p["T"], noise=p["noise"], gradient=gradient, dissipation=True,
                         blow_up=1e3)


def drift_ratio(p: dict, path: Trajectory, subject=None) -> float:
    """Balance drift in units of the drift the tolerance allows (:func:`verify.icl.training.balance_drift`)."""
    drift, allowed = balance_drift(path)
    return drift / allowed


def energy_defect(p: dict, path: Trajectory, subject=None) -> float:
    """:func:`verify.icl.training.dissipation_gap` of the path."""
    return dissipation_gap(path)


GD_ETAS = (0.02, 0.01, 0.005)


def gd_points(rng) -> list[dict]:
    r"""GD against the flow at T = 2 (\eta in :data:`GD_ETAS`): balanced d = 3 and generic d = 2 starts."""
    S3, S2 = toeplitz_sigma(3, 0.5), toeplitz_sigma(2, 0.5)
    return [{"label": "balanced d=3", "Sigma": S3, "noise": 0.0, "start": balanced_init(S3, 0.5, random_direction(3, rng))},
            {"label": "generic d=2, s=0.3", "Sigma": S2, "noise": 0.3, "start": tuple(0.3 * rng.standard_normal((2, 3, 3)))}]


def gd_study(p: dict, update_factor) -> Trajectory:
    r"""Errors at T = 2 of GD with the update \theta - f\eta G (f = ``update_factor``; 1 is gradient descent) against
    the flow (:func:`verify.icl.training.gd_flow_errors`), one per \eta, in ``data``."""
    errs = gd_flow_errors(*p["start"], p["Sigma"], 2.0, GD_ETAS, noise=p["noise"], update_factor=float(update_factor))
    return Trajectory(t=np.array([0.0, 2.0]), y=np.empty((2, 0)), method=f"GD eta={GD_ETAS} vs DOP853 rtol=1e-12",
                      data=errs, diverged=not all(math.isfinite(e) for e in errs))


def observed_order(p: dict, study: Trajectory, subject=None) -> float:
    """:func:`verify.icl.training.gd_order` of the study's errors (explicit Euler: 1)."""
    return gd_order(study.data)


def _sweep(Sigma, alphas, P=None) -> Trajectory:
    """:func:`verify.icl.training.alpha_sweep` of ``alphas`` at \\Sigma from the direction P: its cells in ``data``."""
    cells = alpha_sweep(Sigma, alphas, P)
    return Trajectory(t=np.array([0.0, cells[0]["t_end"]]), y=np.empty((2, 0)), data=cells,
                      method=f"DOP853 rtol={DEFAULT_RTOL:g} atol={DEFAULT_ATOL:g}, alpha in {alphas}")


AUDIT_ALPHAS = (1e-3, 1e-2, 0.1, 1.0, 4.0, 10.0, 100.0)


def audit_points(rng) -> list[dict]:
    r"""Cells of the interval audit: the witness row d = 1, ||\Sigma|| = 1/4 (\alpha = 4 in it), d = 2 with
    ||\Sigma||_op = 1/4 and d = 5 with ||\Sigma||_op = 4 (\alpha in :data:`AUDIT_ALPHAS`); the direction P random
    (:func:`verify.icl.training.random_direction`), so A(t) does not commute with \Sigma along the flow."""
    return [{"label": f"d={d}, ||Sigma||={n:g}", "d": d, "norm": n, "P": random_direction(d, rng)}
            for d, n in ((1, 0.25), (2, 0.25), (5, 4.0))]


def audit_run(p: dict) -> Trajectory:
    return _sweep(scaled_sigma(p["d"], p["norm"]), AUDIT_ALPHAS, p["P"])


def prediction_misses(p: dict, run: Trajectory, predicts) -> float:
    r"""Cells whose computed convergence differs from predicts(d, ||\Sigma||_op, \alpha) (a claim about which \alpha converge)."""
    return float(sum(bool(predicts(p["d"], p["norm"], c["alpha"])) != c["converged"] for c in run.data))


def every_alpha(d, norm, alpha) -> bool:
    r"""The finding: every \alpha > 0 converges."""
    return alpha > 0


def inside_printed(d, norm, alpha) -> bool:
    return alpha < printed_bound(d, norm)


def inside_zfb(d, norm, alpha) -> bool:
    return alpha < zfb_bound(d, norm)


ESCAPE_ALPHAS = (1e-6, 1e-5)


def escape_points(rng) -> list[dict]:
    r"""\Sigma for the escape-time law: isotropic d = 5 (||\Sigma|| = 1/4), Toeplitz d = 5 (||\Sigma|| = 4), d = 2;
    the direction P random (not commuting with \Sigma), the same for both \alpha of a row."""
    cases = [("isotropic d=5, 0.25 I", 0.25 * np.eye(5)), ("Toeplitz d=5, ||Sigma||=4", scaled_sigma(5, 4.0)),
             ("Toeplitz d=2, ||Sigma||=1", scaled_sigma(2, 1.0))]
    return [{"label": lab, "Sigma": S, "P": random_direction(S.shape[0], rng)} for lab, S in cases]


def escape_run(p: dict) -> Trajectory:
    return _sweep(p["Sigma"], ESCAPE_ALPHAS, p["P"])


def escape_error(p: dict, run: Trajectory, rate) -> float:
    r"""|rate(\Sigma) (t_1 - t_2) / ln(\alpha_2/\alpha_1) - 1|, t_i the time \alpha_i takes to reach 1e-6 of the
    Bayes family: the escape law t(\alpha) = ln(1/\alpha)/rate + C + O(\alpha)."""
    t1, t2 = (c["t_reach"] for c in run.data)
    if t1 is None or t2 is None:
        return math.inf
    return abs(float(rate(p["Sigma"])) * (t1 - t2) / math.log(ESCAPE_ALPHAS[1] / ESCAPE_ALPHAS[0]) - 1.0)


def scale_points(rng=None) -> list[dict]:
    r"""(\Sigma, c, \alpha): Toeplitz d = 3 with c = 1/4 and 4, \alpha = 3 (\alpha c^{1/2} and \alpha c differ)."""
    return [{"label": f"d=3, c={c:g}, alpha=3", "Sigma": toeplitz_sigma(3, 0.5), "c": c, "alpha": 3.0} for c in (0.25, 4.0)]


def scale_run(p: dict, exponent) -> Trajectory:
    r"""The balanced flow at (c\Sigma, \alpha) (states ``y``) and, rescaled by c^{-1/2}, at (\Sigma, \alpha c^{e}) at the
    times c^2 t (``data``; e = ``exponent``), on 20 times in [0, 5/c^2] (DOP853, rtol 1e-12, atol 1e-14)."""
    S, c, a = p["Sigma"], p["c"], p["alpha"]
    ts = np.linspace(0.0, 5.0 / c**2, 20)
    big = balanced_invariant_flow(c * S, a, ts)
    small = balanced_invariant_flow(S, a * c ** float(exponent), c**2 * ts)
    return big.with_data(data=c ** -0.5 * small.y)


def scale_mismatch(p: dict, run: Trajectory, subject=None) -> float:
    """max relative difference of the two rescaled trajectories."""
    return float(np.abs(run.y - run.data).max() / np.abs(run.y).max())


# ------------------------------------------------------------------------------ planted slips


def _scaled_gradient(fU: float, fV: float):
    def grad(U, V, Sigma, noise=0.0):
        gU, gV = icl_risk_gradient(U, V, Sigma, noise)
        return fU * gU, fV * gV

    return grad


def _wrong_rate(kind: str):
    if kind == "op":
        return lambda S: float(np.linalg.eigvalsh(S).max()) ** 2
    return lambda S: float(np.trace(S @ S))


def _transposed_gradient(U, V, Sigma, noise=0.0):
    """A planted slip of the gradient: the U11 block of verify.icl.gradient.icl_risk_gradient transposed."""
    gU, gV = icl_risk_gradient(U, V, Sigma, noise)
    d = gU.shape[0] - 1
    gU[:d, :d] = gU[:d, :d].T.copy()
    return gU, gV


def _limit_slip(power_U: float, power_V: float):
    """A planted limit point: U = tr(Sigma^-2)^power_U diag(Sigma^-1, 0), V = tr(Sigma^-2)^power_V e e^T."""
    def limit(Sigma):
        S = np.asarray(Sigma, dtype=float)
        Si = np.linalg.inv(S)
        Si = (Si + Si.T) / 2
        t = np.trace(Si @ Si)
        return invariant_point(Si * t**power_U, t**power_V, S.shape[0])

    return limit


_LIMIT_MUTANTS = [Mutant(r"$U_\star$ with $\mathrm{tr}(\Sigma^{-2})^{+1/4}$", _limit_slip(0.25, 0.25)),
                  Mutant(r"exponents of $U_\star$, $V_\star$ swapped", _limit_slip(0.25, -0.25))]
# ------------------------------------------------------------------------------ the hand-written batched field


def field_points(rng) -> list[dict]:
    r"""States where the batched invariant-subspace field is compared with the gradient: random non-diagonal \Sigma at
    d = 2, 3, 5, three cells each, A non-symmetric Gaussian (it commutes neither with \Sigma nor with \Sigma^2),
    b = \pm[0.3, 1.5]."""
    out = []
    for d in (2, 3, 5):
        S = random_covariance(d, rng)
        cells = [(rng.standard_normal((d, d)), float(rng.choice([-1.0, 1.0]) * rng.uniform(0.3, 1.5))) for _ in range(3)]
        out.append({"label": f"d={d}, 3 cells", "dim": d, "Sigma": S, "cells": cells})
    return out


def field_error(p: dict, field) -> float:
    r"""Relative error (:func:`verify.kernel.compare.relative_error`) of field(\Sigma, m)(0, y) for the m cells of a
    point against -\nabla R_\infty at U = diag(A, 0), V = b e e^T (:func:`verify.icl.gradient.icl_risk_gradient`:
    the U_{11} block and the b entry), cell by cell."""
    S, d, cells = p["Sigma"], p["dim"], p["cells"]
    y = np.concatenate([np.concatenate([A.ravel(), [b]]) for A, b in cells])
    got = np.asarray(field(S, len(cells))(0.0, y), dtype=float)
    ref = []
    for A, b in cells:
        gU, gV = icl_risk_gradient(*invariant_point(A, b, d), S)
        ref.append(np.concatenate([-gU[:d, :d].ravel(), [-gV[d, d]]]))
    return float(relative_error(got, np.concatenate(ref)))


def engine_field(Sigma, m: int = 1):
    """The engine's batched field (:func:`verify.icl.gradient.invariant_field`, looked up when called)."""
    return _gradient_module.invariant_field(Sigma, m)


def _reordered_field(order: str):
    r"""A planted batched field with the product \Sigma^2 A \Sigma reordered (``order`` "A S^3" or "S A S^2"): equal to
    the true field wherever A commutes with \Sigma (e.g. from P = I/\sqrt d), wrong elsewhere."""
    def field(Sigma, m: int = 1):
        S = np.asarray(Sigma, dtype=float)
        d, S2 = S.shape[0], S @ S
        k = d * d + 1

        def rhs(t, y):
            Y = y.reshape(m, k)
            A, b = Y[:, :-1].reshape(m, d, d), Y[:, -1]
            X = A @ (S2 @ S) if order == "A S^3" else S @ A @ S2
            out = np.empty_like(Y)
            out[:, :-1] = (b[:, None, None] * S2 - (b * b)[:, None, None] * X).reshape(m, d * d)
            out[:, -1] = np.einsum("mij,ij->m", A, S2) - b * np.einsum("mij,mij->m", A, X)
            return out.ravel()

        return rhs

    return field


# ------------------------------------------------------------------------------ the Bayes point in numpy


def bayes_points(rng) -> list[dict]:
    r"""Random non-diagonal \Sigma at d = 1..6 (d >= 4 sees terms that vanish for small d)."""
    return [{"label": f"d={d}", "dim": d, "Sigma": random_covariance(d, rng)} for d in (1, 2, 3, 4, 5, 6)]


def engine_bayes_point(Sigma):
    """The engine's (U_*, V_*) (:func:`verify.icl.risk.bayes_point`, looked up when called)."""
    return _risk_module.bayes_point(Sigma)


def _limit_pair(limit):
    return lambda p: list(limit(p["Sigma"]))


_NEG, _DOUBLE, _DOUBLE_V = _scaled_gradient(-1.0, -1.0), _scaled_gradient(2.0, 2.0), _scaled_gradient(1.0, 2.0)

CHECKS = [
    trajectory("flow-reaches-bayes-point", limit_of(U_STAR), convergence_points, reference=converged_path,
               figure=limit_gap, adapter=limit_of,
               threshold=2e-9, unit="rel. distance", what=r"relative distance of the end to $(U_\star, V_\star)$",
               mutants=_LIMIT_MUTANTS,
               description=r"LSODA (rtol 1e-10, atol 1e-12) on the closed-form $\nabla\mathcal R_\infty$ in all $(d+1)^2$ "
                           r"active entries, from $\alpha = 0.5$, random $\Theta$: isotropic d = 2, Toeplitz(0.5) d = 5 "
                           r"($s^2 = 0.1$); the flow stops on its own convergence ($\max|\nabla\mathcal R_\infty| \le 3\cdot10^{-11}$), "
                           r"and its end must be $(U_\star, V_\star)$, the SymPy closed form evaluated"),
    agreement("numpy-bayes-point-vs-closed-form", _limit_pair(engine_bayes_point), _limit_pair(limit_of(U_STAR)),
              bayes_points, digits=13, kind="float64", reference_name="the SymPy closed form in float64",
              mutants=[Mutant(m.name, _limit_pair(m.subject)) for m in _LIMIT_MUTANTS],
              description=r"the numpy $(U_\star, V_\star)$ (verify.icl.risk.bayes_point: the studies', the public API's) vs "
                          r"$U_\star = \mathrm{tr}(\Sigma^{-2})^{-1/4}\mathrm{diag}(\Sigma^{-1}, 0)$, "
                          r"$V_\star = \mathrm{tr}(\Sigma^{-2})^{1/4}e e^\top$ evaluated from SymPy, random $\Sigma$, d = 1..6"),
    bound("batched-field-vs-gradient", engine_field, field_error, field_points, threshold=1e-12, unit="rel. error",
          what=r"relative error of the batched field against $-\nabla\mathcal R_\infty$",
          mutants=[Mutant(r"$\Sigma^2A\Sigma \to A\Sigma^3$", _reordered_field("A S^3")),
                   Mutant(r"$\Sigma^2A\Sigma \to \Sigma A\Sigma^2$", _reordered_field("S A S^2"))],
          description=r"the hand-written batched invariant-subspace field (verify.icl.gradient.invariant_field, which "
                      r"drives the $\alpha$ sweep and the balanced flows) vs $-\nabla\mathcal R_\infty$ "
                      r"(verify.icl.gradient.icl_risk_gradient, checked against the SymPy gradient by icl-gradient) at "
                      r"states A that commute neither with $\Sigma$ nor with $\Sigma^2$, 3 cells at once, d = 2, 3, 5"),
    trajectory("risk-to-bayes-risk", lambda s: s * s / 2, noisy_points, reference=converged_path, figure=risk_gap,
               threshold=1e-12, unit="abs. error", what=r"$|\mathcal R_\infty(\mathrm{end}) - \mathcal R^\star|$",
               mutants=[Mutant(r"Bayes risk $s^2$", lambda s: s * s), Mutant(r"Bayes risk 0", lambda s: 0.0)],
               description=r"$\mathcal R_\infty$ (closed form) at the end of balanced flows with label noise $s = 0.3$ "
                           r"(isotropic d = 2, $\alpha = 2$; random d = 3, $\alpha = 0.5$) equals $s^2/2$"),
    trajectory("balance-conserved", icl_risk_gradient, short_points, driven=field_path, figure=drift_ratio, threshold=1.0,
               unit="drift / allowed", what=r"drift of $\|U\|_F^2 - \|V\|_F^2$ in units of the tolerated drift",
               mutants=[Mutant(r"$2\nabla_V$", _DOUBLE_V),
                        Mutant(r"$\nabla_{U_{11}}$ transposed", _transposed_gradient)],
               description=r"balanced d = 2 and a generic start off the invariant subspace (d = 3, s = 0.3), "
                           r"$t \le 2$: drift within $\sum_k 2\|y_k\|\sqrt n(\mathrm{atol} + \mathrm{rtol}|y_k|)$"),
    trajectory("energy-identity", icl_risk_gradient, short_points, driven=field_path, figure=energy_defect, threshold=1e-8,
               unit="rel. defect", what=r"$|\Delta\mathcal R + \int\|G\|^2| / |\Delta\mathcal R|$",
               mutants=[Mutant(r"$-\nabla\mathcal R_\infty$ (wrong sign)", _NEG),
                        Mutant(r"$2\nabla\mathcal R_\infty$", _DOUBLE),
                        Mutant(r"$\nabla_{U_{11}}$ transposed", _transposed_gradient)],
               description=r"$\mathcal R_\infty(\theta(T)) - \mathcal R_\infty(\theta(0)) = -\int_0^T\|G\|^2dt$ along the flow of $G$, "
                           r"$\mathcal R_\infty$ by its closed form, $\int$ integrated with the state (same tolerance)"),
    trajectory("gd-first-order", 1.0, gd_points, driven=gd_study, figure=observed_order, threshold=0.9, relation=">=",
               unit="order", what=r"observed order of GD ($\eta = 0.02, 0.01, 0.005$) against the flow at $T = 2$",
               mutants=[Mutant(r"$\theta - 2\eta G$", 2.0), Mutant(r"$\theta + \eta G$", -1.0)],
               description=r"gradient descent $\theta - \eta\nabla\mathcal R_\infty$ is the flow's explicit Euler "
                           r"discretisation: error $O(\eta)$ at fixed $T$ (the reference for finite-$L$ training)"),
    trajectory("every-alpha-converges", every_alpha, audit_points, reference=audit_run, figure=prediction_misses, threshold=0.0,
               kind="audit", unit="cells", what="cells whose convergence the claim mispredicts",
               mutants=[Mutant(r"printed interval $\alpha < \sqrt2/(d^{1/4}\|\Sigma\|_{op})$ needed", inside_printed),
                        Mutant(r"ZFB's $\alpha^2\|\Sigma\|_{op}\sqrt d < 2$ needed", inside_zfb)],
               description=r"$\alpha \in \{10^{-3}, \dots, 100\}$, $d = 1$ ($\Sigma = 1/4$, the witness $\alpha = 4$), "
                           r"$d = 2$ ($\|\Sigma\|_{op} = 1/4$), $d = 5$ ($\|\Sigma\|_{op} = 4$): every cell reaches the Bayes "
                           r"family to 1e-8; a claim that either interval is needed mispredicts the cells beyond it"),
    trajectory("escape-rate", escape_rate, escape_points, reference=escape_run, figure=escape_error, threshold=1e-3, kind="audit",
               unit="rel. error", what=r"$|\lambda\,(t_1 - t_2)/\ln(\alpha_2/\alpha_1) - 1|$, $\alpha = 10^{-6}, 10^{-5}$",
               mutants=[Mutant(r"rate $\|\Sigma\|_{op}^2$", _wrong_rate("op")),
                        Mutant(r"rate $\mathrm{tr}(\Sigma^2)$", _wrong_rate("tr"))],
               description=r"tiny $\alpha$ escapes the saddle at 0 in time $\ln(1/\alpha)/\|\Sigma^2\|_F + C + O(\alpha)$"),
    trajectory("scale-covariance", 0.5, scale_points, driven=scale_run, figure=scale_mismatch, threshold=1e-10, kind="audit",
               unit="rel. difference", what=r"flow at $(c\Sigma, \alpha)$ vs $c^{-1/2}\times$ flow at $(\Sigma, \alpha c^{e})$, time $c^2t$",
               mutants=[Mutant(r"$e = 1$ (the printed $\alpha\|\Sigma\|$ form)", 1.0), Mutant(r"$e = 0$", 0.0)],
               description=r"DOP853 (rtol 1e-12) trajectories, d = 3, $c = 1/4, 4$, $\alpha = 3$: the invariant is $\alpha^2\|\Sigma\|$"),
]

STATEMENT = Statement(
    id="train-infinite",
    finding=Finding(kind="sharpened", summary="from the balanced initialisation the gradient flow of R∞ reaches the Bayes point (U*, V*) and R∞ → s²/2", form="every α > 0 converges: the printed interval α < √2/(d^(1/4)‖Σ‖op) is not needed (and differs from ZFB's α²‖Σ‖op√d < 2: witness d = 1, ‖Σ‖ = 1/4, α = 4)"),
    number=r"Thm 5.1 (v1) / 5.2 (v2) at $L = \infty$",
    title=r"Gradient flow on $\mathcal R_\infty$ from the balanced initialisation reaches the Bayes point for every $\alpha > 0$",
    summary=r"balanced flow $\to (U_\star, V_\star)$, $\mathcal R_\infty \to s^2/2$, $\|U\|_F^2 - \|V\|_F^2$ conserved, GD = "
            r"flow + $O(\eta)$; the printed $\alpha$-interval is not needed (nor ZFB's); the invariant is $\alpha^2\|\Sigma\|_{op}$",
    source=r"Boursier & Boyer (arXiv 2512.11784) Thm 5.1 (v1) / 5.2 (v2), Eq. (9), App. E.2 / F.2; ZFB (2024) Thm 4.1 at $N = \infty$",
    statement_tex=(
        r"U(0) = \alpha\,\mathrm{diag}(P, 0),\ V(0) = \alpha e_{d+1}e_{d+1}^\top,\ P = \Theta\Theta^\top,\ \|P\|_F = 1:\quad"
        r"\forall\alpha > 0:\ (U(t), V(t)) \to (U_\star, V_\star),\ \mathcal R_\infty \to \tfrac{s^2}{2},"
        r"\\ \|U\|_F^2 - \|V\|_F^2 \text{ conserved},\quad \mathcal R_\infty(\theta(T)) - \mathcal R_\infty(\theta(0)) = -\int_0^T\|\nabla\mathcal R_\infty\|^2,"
        r"\\ (A, b)(t; c\Sigma, \alpha) = c^{-1/2}(A, b)(c^2t; \Sigma, \alpha c^{1/2}),\quad t_{\mathrm{escape}}(\alpha) = \frac{\ln(1/\alpha)}{\|\Sigma^2\|_F} + O(1)."
    ),
    hypotheses_tex=[
        r"w \sim \mathcal N(0, I_d),\ x \sim \mathcal N(0, \Sigma),\ \Sigma \succ 0,\ \text{label noise } \mathcal N(0, s^2)",
        r"\alpha > 0,\ P \succeq 0,\ \|P\|_F = 1 \quad(\text{printed: also } \alpha < \sqrt2/(d^{1/4}\|\Sigma\|_{op}))",
    ],
    derivations=derivations,
    checks=CHECKS,
    closed_form=U_STAR, domains={"Sigma": "spd"},
    notes_tex=[
        r"The printed interval $\alpha < \sqrt2/(d^{1/4}\|\Sigma\|_{op})$ and ZFB's $\alpha^2\|\Sigma\|_{op}\sqrt d < 2$ agree only "
        r"at $\|\Sigma\|_{op} = 1$. Scale covariance shows the natural invariant is $\alpha^2\|\Sigma\|_{op}$ (ZFB's form; the "
        r"printed one drops a square root), and computation shows neither is needed at $L = \infty$: every $\alpha \in [10^{-3}, 100]$ "
        r"converges (d = 1, 2, 5; $\|\Sigma\|_{op} = 1/4, 1, 4$; \texttt{verify train}), including the witness $d = 1$, "
        r"$\Sigma = 1/4$, $\alpha = 4$. ZFB's condition is a sufficient condition of their PL-based proof.",
        r"Small $\alpha$ costs time, not convergence: the origin is a saddle whose unstable rate is $\|\Sigma^2\|_F$, so the "
        r"time to reach the Bayes family grows like $\ln(1/\alpha)/\|\Sigma^2\|_F$, and all times scale like $\|\Sigma\|_{op}^{-2}$.",
        r"Large $\alpha$ reaches the Bayes family as well, but the balanced member $(U_\star, V_\star)$ only up to the balance "
        r"drift the solver's tolerance allows (about $\mathrm{rtol}\,\alpha^2$): the limit on the family is fixed by the conserved "
        r"$\|A\|_F^2 - b^2$.",
        r"This is the $L = \infty$ half of the theorem; the finite-$L$ training (Thm 4.3) is checked separately.",
    ],
    order=5.25,
)
