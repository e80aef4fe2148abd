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

**Evidence.**  Numerics live in verify.icl.training: DOP853 (LSODA for the long, stiff runs to the limit) with stated rtol/atol on the closed-form gradient of
verify.icl.gradient (statement icl-gradient), the kind ``trajectory`` (an error-controlled trajectory, a figure
along it), references that never call the subject (the limit, the Bayes risk, the escape rate and the interval are
compared with computed trajectories; a planted gradient drives its own trajectory).
"""

from __future__ import annotations


import numpy as np
import sympy as sp

from verify.kernel.statement import Mutant, Statement
from verify.kernel.derivation import Derivation
from verify.kernel.evidence import trajectory
from verify.icl.risk import bayes_point
from verify.icl.gradient import GRADIENT_SLIPS, LIMIT_SLIPS, icl_risk_gradient
from verify.symbolic import symbolic_matrix
from verify.icl.training import (
    audit_points,
    audit_run,
    convergence_points,
    converged_path,
    drift_ratio,
    energy_defect,
    escape_error,
    escape_points,
    escape_rate,
    escape_run,
    every_alpha,
    field_path,
    gd_points,
    gd_study,
    inside_printed,
    inside_zfb,
    limit_gap,
    noisy_points,
    observed_order,
    prediction_misses,
    risk_gap,
    scale_mismatch,
    scale_points,
    scale_run,
    short_points,
)

# ------------------------------------------------------------------------------ the flow and its rescaling (SymPy)


def invariant_flow(A, b, Sigma):
    r"""$(\dot A, \dot b) = (b\Sigma^2 - b^2\Sigma^2A\Sigma,\ \mathrm{tr}(A^\top\Sigma^2) - b\,\mathrm{tr}(A^\top\Sigma^2A\Sigma))$,
    as one column $(\mathrm{vec}\,\dot A, \dot b)$ (statement icl-gradient: this is $-\nabla\mathcal R_\infty$ there)."""
    S2 = Sigma * Sigma
    Adot = b * S2 - b**2 * S2 * A * Sigma
    bdot = (A.T * S2).trace() - b * (A.T * S2 * A * Sigma).trace()
    return sp.Matrix(list(Adot) + [bdot])


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


_LIMIT_MUTANTS = [Mutant(r"$U_\star$ with $\mathrm{tr}(\Sigma^{-2})^{+1/4}$", LIMIT_SLIPS["U+1/4"]),
                  Mutant(r"exponents of $U_\star$, $V_\star$ swapped", LIMIT_SLIPS["swapped"])]
_NEG, _DOUBLE, _DOUBLE_V = _scaled_gradient(-1.0, -1.0), _scaled_gradient(2.0, 2.0), _scaled_gradient(1.0, 2.0)

CHECKS = [
    trajectory("flow-reaches-bayes-point", bayes_point, convergence_points, reference=converged_path, figure=limit_gap,
               threshold=2e-9, unit="rel. distance", what=r"relative distance of the end to $(U_\star, V_\star)$",
               mutants=_LIMIT_MUTANTS,
               description=r"LSODA (rtol 1e-10, atol 1e-12) on the closed-form $\nabla\mathcal R_\infty$ in all $(d+1)^2$ "
                           r"active entries, from $\alpha = 0.5$, random $\Theta$: isotropic d = 2, Toeplitz(0.5) d = 5 "
                           r"($s^2 = 0.1$); stops at distance 1e-9, which must be to $(U_\star, V_\star)$"),
    trajectory("risk-to-bayes-risk", lambda s: s * s / 2, noisy_points, reference=converged_path, figure=risk_gap,
               threshold=1e-12, unit="abs. error", what=r"$|\mathcal R_\infty(\mathrm{end}) - \mathcal R^\star|$",
               mutants=[Mutant(r"Bayes risk $s^2$", lambda s: s * s), Mutant(r"Bayes risk 0", lambda s: 0.0)],
               description=r"$\mathcal R_\infty$ (closed form) at the end of balanced flows with label noise $s = 0.3$ "
                           r"(isotropic d = 2, $\alpha = 2$; random d = 3, $\alpha = 0.5$) equals $s^2/2$"),
    trajectory("balance-conserved", icl_risk_gradient, short_points, driven=field_path, figure=drift_ratio, threshold=1.0,
               unit="drift / allowed", what=r"drift of $\|U\|_F^2 - \|V\|_F^2$ in units of the tolerated drift",
               mutants=[Mutant(r"$2\nabla_V$", _DOUBLE_V),
                        Mutant(r"$\nabla_{U_{11}}$ transposed", GRADIENT_SLIPS["transposed"])],
               description=r"balanced d = 2 and a generic start off the invariant subspace (d = 3, s = 0.3), "
                           r"$t \le 2$: drift within $\sum_k 2\|y_k\|\sqrt n(\mathrm{atol} + \mathrm{rtol}|y_k|)$"),
    trajectory("energy-identity", icl_risk_gradient, short_points, driven=field_path, figure=energy_defect, threshold=1e-8,
               unit="rel. defect", what=r"$|\Delta\mathcal R + \int\|G\|^2| / |\Delta\mathcal R|$",
               mutants=[Mutant(r"$-\nabla\mathcal R_\infty$ (wrong sign)", _NEG),
                        Mutant(r"$2\nabla\mathcal R_\infty$", _DOUBLE),
                        Mutant(r"$\nabla_{U_{11}}$ transposed", GRADIENT_SLIPS["transposed"])],
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
    status="verified (the printed interval is not needed)",
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
