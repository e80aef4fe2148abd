r"""Theorem 4.3: training at finite prompt length $L$ approaches training at $L = \infty$.

**Statement** (paper Thm 4.3).  Let $\theta_L(t)$ be the gradient flow of the finite-prompt risk
$\mathcal R_L(U, V) = \frac12\mathbb E[(p_L - y_q)^2]$, $p_L = \sum_l \mathrm{softmax}_l(z_l^\top U q)(Vz_l)_{d+1}$, and
$\theta_\infty(t)$ that of $\mathcal R_\infty$, from the same initialisation.  Then

    \forall\varepsilon > 0\ \exists L(\varepsilon)\ \forall L \ge L(\varepsilon):\quad
    \lim_t \mathcal R_L(\theta_L(t)) \le \lim_t \mathcal R_\infty(\theta_\infty(t)) + \varepsilon.

**What is checked.**  The analytic gradient of the batch risk in $(U, V)$ (the derivation below: the softmax
prediction's derivative in the scores, whose centring term $-p_L$ comes from the normaliser), against central
differences of the risk computed token by token from its definition; and the statement itself in a discretised
form: gradient descent on $\mathcal R_L$ with fresh prompts every step (the same start, step $\eta$ and horizon as
gradient descent on $\mathcal R_\infty$), whose end risk $\mathcal R_L(\bar\theta_L)$ minus the $L = \infty$ run's end
risk is positive and decays like a power of $L$.  A wrong limit (shifted, or the untrained risk) leaves a negative
gap or a plateau.

**Evidence.**  The points, slips and cases are below; the numerics they call live in verify.icl.training_finite
(batch risk and gradient, finite-$L$ gradient descent, the Polyak-averaged end, $\mathcal R_L$ by
verify.icl.risk.icl_risk_mc) and verify.icl.training (the $L = \infty$ reference).  The measured study (gaps along
time, rates, $L(\varepsilon)$, the invariant subspace, the third-party audit's 232-263x) is ``verify train --part
finite``.
"""

from __future__ import annotations

import numpy as np
import sympy as sp

from verify.icl.prompts import sample_prompts
from verify.icl.risk import icl_risk_infinite, toeplitz_sigma
from verify.icl.training import balanced_init
from verify.icl.training_finite import (
    batch_gradient,
    excess_over,
    fd_gradient_error,
    finite_end_risks,
    limit_risk,
    linear_risk_and_grad,
    scores_and_values,
    softmax_risk_and_grad,
    validated_batch,
)
from verify.kernel.derivation import Derivation
from verify.kernel.evidence import bound, rate, shifted
from verify.kernel.verdict import Finding
from verify.kernel.statement import Mutant, Statement

# ------------------------------------------------------------------------------ the gradient of the prediction


def softmax_prediction(n: int):
    r"""$p = \sum_l e^{s_l} v_l / \sum_m e^{s_m}$ with $n$ symbolic scores and values."""
    s = sp.symbols(f"s1:{n + 1}", real=True)
    v = sp.symbols(f"v1:{n + 1}", real=True)
    Z = sum(sp.exp(x) for x in s)
    return s, v, Z, sum(sp.exp(x) * y for x, y in zip(s, v)) / Z


def derivation_score_gradient(n: int = 3, centred: bool = True) -> Derivation:
    r"""$\partial p/\partial s_l = \pi_l (v_l - p)$, $\pi_l = e^{s_l}/\sum_m e^{s_m}$: the quotient rule, then the
    definition of $\pi$ and $p$.  ``centred=False`` plants the slip $\pi_l v_l$ (the normaliser forgotten)."""
    s, v, Z, p = softmax_prediction(n)
    pi = [sp.exp(x) / Z for x in s]
    grad = sp.Matrix([sp.diff(p, x) for x in s])
    conclusion = sp.Matrix([pi[l] * (v[l] - p) if centred else pi[l] * v[l] for l in range(n)])
    num = sum(sp.exp(x) * y for x, y in zip(s, v))
    return (
        Derivation(f"the softmax prediction's score gradient ($L = {n}$)", grad,
                   start_tex=r"\partial p_L/\partial s_l,\ p_L = \sum_l e^{s_l}v_l / \sum_m e^{s_m}", brief=True,
                   conclusion=conclusion, conclusion_tex=r"\pi_l\,(v_l - p_L)")
        .step(sp.Matrix([(sp.exp(s[l]) * v[l] * Z - num * sp.exp(s[l])) / Z**2 for l in range(n)]),
              "quotient rule: $\\partial_{s_l}$ of the numerator is $e^{s_l}v_l$, of the normaliser $e^{s_l}$",
              rhs_tex=r"\frac{e^{s_l}v_l\sum_m e^{s_m} - e^{s_l}\sum_m e^{s_m}v_m}{(\sum_m e^{s_m})^2}")
        .step(sp.Matrix([pi[l] * v[l] - pi[l] * p for l in range(n)]),
              r"divide: $\pi_l = e^{s_l}/\sum_m e^{s_m}$, $p_L = \sum_m \pi_m v_m$", rhs_tex=r"\pi_l v_l - \pi_l p_L")
        .step(sp.Matrix([pi[l] * (v[l] - p) for l in range(n)]), "factor $\\pi_l$", rhs_tex=r"\pi_l\,(v_l - p_L)")
    )


def derivations() -> list[Derivation]:
    return [derivation_score_gradient(2)]


# ------------------------------------------------------------------------------ the gradient check: points and slips


def gradient_points(rng) -> list[dict]:
    r"""Batches where the gradients are compared: d = 2 (L = 12, B = 4) and d = 3 (L = 30, B = 3), Toeplitz(0.5),
    label noise 0.3, U and V with N(0, 0.6^2) entries (off the invariant subspace), all from ``rng``."""
    pts = []
    for d, L, B in ((2, 12, 4), (3, 30, 3)):
        batch = sample_prompts(toeplitz_sigma(d, 0.5), L, B, rng, noise=0.3)
        pts.append({"label": f"d={d}, L={L}, B={B}", "U": 0.6 * rng.standard_normal((d + 1, d + 1)),
                    "V": 0.6 * rng.standard_normal((d + 1, d + 1)), "batch": batch})
    return pts


def gradient_error(p: dict, risk_and_grad, attention: str = "softmax") -> float:
    """:func:`verify.icl.training_finite.fd_gradient_error` of ``risk_and_grad`` (the subject) at a gradient point."""
    return fd_gradient_error(risk_and_grad, p["U"], p["V"], *p["batch"], attention=attention)


def linear_gradient_error(p: dict, risk_and_grad) -> float:
    return gradient_error(p, risk_and_grad, "linear")


def _uncentred(U, V, X, Y, Xq, Yq):
    """Slip: dp/ds_l = pi_l v_l (the softmax normaliser's -p_L forgotten)."""
    U, V, X, Y, Xq, Yq = validated_batch(U, V, X, Y, Xq, Yq)
    B = X.shape[0]
    s, v = scores_and_values(U, V, X, Y, Xq)
    pi = np.exp(s - s.max(axis=1, keepdims=True))
    pi /= pi.sum(axis=1, keepdims=True)
    res = np.einsum("bl,bl->b", pi, v) - Yq
    cV = pi * (res / B)[:, None]
    return 0.5 * float(res @ res) / B, *batch_gradient(X, Y, Xq, cV * v, cV)


def _transposed(U, V, X, Y, Xq, Yq):
    """Slip: dR/dU transposed (z q^T written q z^T)."""
    r, dU, dV = softmax_risk_and_grad(U, V, X, Y, Xq, Yq)
    return r, dU.T, dV


def _unhalved(U, V, X, Y, Xq, Yq):
    """Slip: the gradient of (p - y)^2 / B without the 1/2 (twice the true gradient)."""
    r, dU, dV = softmax_risk_and_grad(U, V, X, Y, Xq, Yq)
    return r, 2 * dU, 2 * dV


GRADIENT_SLIPS = {"uncentred": _uncentred, "transposed": _transposed, "unhalved": _unhalved}
"""Planted wrong gradients of the softmax batch risk (each keeps the right risk value)."""


def _linear_unnormalised(U, V, X, Y, Xq, Yq):
    """Slip: the linear-attention gradient without the 1/L of the normalisation."""
    r, dU, dV = linear_risk_and_grad(U, V, X, Y, Xq, Yq)
    return r, X.shape[1] * dU, X.shape[1] * dV


def _linear_swapped(U, V, X, Y, Xq, Yq):
    """Slip: dR/dV built with the values and dR/dU with the scores (roles swapped)."""
    U, V, X, Y, Xq, Yq = validated_batch(U, V, X, Y, Xq, Yq)
    B, L, _ = X.shape
    s, v = scores_and_values(U, V, X, Y, Xq)
    res = np.einsum("bl,bl->b", s, v) / L - Yq
    e = res / (B * L)
    return 0.5 * float(res @ res) / B, *batch_gradient(X, Y, Xq, s * e[:, None], v * e[:, None])


LINEAR_SLIPS = {"unnormalised": _linear_unnormalised, "swapped": _linear_swapped}
"""Planted wrong gradients of the linear-attention batch risk."""


# ------------------------------------------------------------------------------ the convergence check: cases

CONVERGENCE_CASE = {"Sigma": toeplitz_sigma(2, 0.5), "noise": 0.0, "alpha": 0.5, "eta": 0.05, "n_steps": 150,
                    "batch": 128, "runs": 4, "Ls": (4, 16, 64), "n_eval": 2000}
r"""The cheap setting of finite-L-approaches-L-inf: d = 2, Toeplitz(0.5), balanced \alpha = 0.5, \eta = 0.05, 150 steps
(T = 7.5), 4 independent runs per L, R_L at the end by icl_risk_mc (2000 prompts).  Batch 128: the batch sets how
closely GD with fresh prompts follows the flow on R_L (Thm 4.3 is about the flow); smaller batches take rare
gradient-noise kicks at L = 64 (batch risk > 0.5 in the second half, spoiling the Polyak average: about 8% of the
runs at batch 32, 1% at batch 64, none in 400 runs at batch 128)."""

WIDE_CASE = dict(CONVERGENCE_CASE, n_steps=300, runs=6, Ls=(10, 100, 1000))
r"""The slow check's setting: as :data:`CONVERGENCE_CASE` with 300 steps (T = 15) and 6 runs per L in (10, 100, 1000):
at L = 1000 the end is the gradient-noise floor (run-to-run spread ~35%), and six runs keep its mean significant."""


def start_risk(case: dict) -> float:
    r"""Planted wrong limit: R_\infty at the start (as if training did nothing)."""
    return icl_risk_infinite(*balanced_init(case["Sigma"], case["alpha"]), case["Sigma"], case["noise"])


def _setting(case: dict) -> str:
    """The case in words, every number read from it."""
    d = case["Sigma"].shape[0]
    return (rf"GD on $\mathcal R_L$ (fresh batches of {case['batch']} prompts per step, $\eta = {case['eta']:g}$, "
            rf"{case['n_steps']} steps, $T = {case['n_steps'] * case['eta']:g}$, balanced $\alpha = {case['alpha']:g}$, "
            rf"Toeplitz(0.5) d = {d}), {case['runs']} runs per $L \in \{{{', '.join(map(str, case['Ls']))}\}}$")


# ------------------------------------------------------------------------------ evidence

_C, _W = CONVERGENCE_CASE, WIDE_CASE

CHECKS = [
    bound("softmax-gradient-vs-finite-differences", softmax_risk_and_grad, gradient_error, gradient_points,
          threshold=1e-7, unit="rel. error", what=r"$\max|G - G^{FD}| / \max|G^{FD}|$ over $(\partial_U, \partial_V)$",
          mutants=[Mutant(r"$\partial p/\partial s_l = \pi_l v_l$ (centring $-p_L$ forgotten)", GRADIENT_SLIPS["uncentred"]),
                   Mutant(r"$\partial_U R$ transposed ($q z^\top$)", GRADIENT_SLIPS["transposed"]),
                   Mutant(r"gradient of $(p - y)^2$ without the $\frac12$", GRADIENT_SLIPS["unhalved"])],
          description=r"analytic $\nabla_{U,V}$ of the batch risk $\frac1{2B}\sum_b(p_L - y_q)^2$ against central differences "
                      r"(step 1e-5) of the risk computed token by token from its definition; off the invariant subspace, "
                      r"label noise 0.3, d = 2, 3"),
    bound("linear-gradient-vs-finite-differences", linear_risk_and_grad, linear_gradient_error, gradient_points,
          threshold=1e-7, unit="rel. error", what=r"$\max|G - G^{FD}| / \max|G^{FD}|$ (normalised linear attention)",
          mutants=[Mutant(r"the $1/L$ of the normalisation forgotten", LINEAR_SLIPS["unnormalised"]),
                   Mutant(r"scores and values swapped in the gradient", LINEAR_SLIPS["swapped"])],
          description=r"$p_L = \frac1L\sum_l (z_l^\top Uq)(Vz_l)_{d+1}$: the same comparison"),
    rate("finite-L-approaches-L-inf", limit_risk, lambda L, rng: finite_end_risks(L, rng, _C),
         lambda L, risks, limit: excess_over(risks, limit(_C)), _C["Ls"], exponent=0.3,
         mutants=[Mutant(r"limit $\lim\mathcal R_\infty + 0.2$", shifted(limit_risk, 0.2)),
                  Mutant(r"limit $\lim\mathcal R_\infty - 0.5$", shifted(limit_risk, -0.5)),
                  Mutant(r"limit $\mathcal R_\infty(\theta(0))$ (the untrained risk)", start_risk)],
         kind="trajectory",
         description=_setting(_C) + r": $\mathcal R_L$ at the Polyak-averaged end (icl_risk_mc) minus $\mathcal R_\infty$ "
                     r"at the end of GD on $\mathcal R_\infty$ (same start, step, horizon) is positive and decays like "
                     r"$L^{-p}$, CI of $-p$ below $-0.3$ (measured $p \approx 0.57$). Resolution: rejects a limit off by "
                     rf"$\gtrsim 0.13$ upward (the gap at $L = {_C['Ls'][-1]}$) or $\gtrsim 0.3$ downward"),
    rate("finite-L-approaches-L-inf-wide", limit_risk, lambda L, rng: finite_end_risks(L, rng, _W),
         lambda L, risks, limit: excess_over(risks, limit(_W)), _W["Ls"], exponent=0.3, slow=True,
         mutants=[Mutant(r"limit $\lim\mathcal R_\infty + 0.1$", shifted(limit_risk, 0.1)),
                  Mutant(r"limit $\lim\mathcal R_\infty - 0.5$", shifted(limit_risk, -0.5))],
         kind="trajectory",
         description=_setting(_W) + rf" (about 20 s CPU): the end excess decays like $L^{{-0.6}}$; at "
                     rf"$L = {_W['Ls'][-1]}$ it is the gradient-noise floor of batch {_W['batch']}"),
]

STATEMENT = Statement(
    id="train-finite",
    finding=Finding(kind="verified under hypotheses", summary="training at finite prompt length approaches training at L = ∞: the excess risk of gradient descent on R_L over the L = ∞ run decays like a power of L", form="gradient descent with fresh prompt batches stands in for the gradient flow of Thm 4.3"),
    number="Thm 4.3",
    title=r"Training at finite prompt length approaches training at $L = \infty$",
    summary=r"$\lim_t\mathcal R_L(\theta_L) \le \lim_t\mathcal R_\infty(\theta_\infty) + \varepsilon$ for $L \ge L(\varepsilon)$; "
            r"analytic $\nabla_{U,V}\mathcal R_L$ (softmax, linear) against finite differences",
    source=r"Boursier & Boyer (arXiv 2512.11784) Thm 4.3, Sec. 4",
    statement_tex=(
        r"\forall\varepsilon > 0\ \exists L(\varepsilon)\ \forall L \ge L(\varepsilon):\ "
        r"\lim_{t\to\infty}\mathcal R_L(\theta_L(t)) \le \lim_{t\to\infty}\mathcal R_\infty(\theta_\infty(t)) + \varepsilon,"
        r"\\ \frac{\partial p_L}{\partial s_l} = \pi_l (v_l - p_L),\quad "
        r"\nabla_U \hat{\mathcal R} = \frac1B\sum_b (p_L - y_q)\Big(\sum_l \pi_l (v_l - p_L) z_l\Big) q^\top,\quad "
        r"\nabla_V \hat{\mathcal R} = e_{d+1}\Big(\frac1B\sum_b (p_L - y_q)\sum_l \pi_l z_l\Big)^\top"
    ),
    hypotheses_tex=[
        r"w \sim \mathcal N(0, I_d),\ x \sim \mathcal N(0, \Sigma),\ \Sigma \succ 0,\ \text{label noise } \mathcal N(0, s^2)",
        r"\theta_L(0) = \theta_\infty(0)\ \text{(the balanced initialisation, paper Eq. (9))}",
        r"\text{checked in discretised form: GD with step } \eta \text{ and fresh prompts per step, the same } \eta "
        r"\text{ and horizon at } L = \infty",
    ],
    derivations=derivations,
    checks=CHECKS,
    notes_tex=[
        r"The theorem is about gradient flows and $t \to \infty$; the check runs stochastic gradient descent (fresh prompts "
        r"each step) to a finite horizon and compares with gradient descent on $\mathcal R_\infty$ at the same step and "
        r"horizon. Gradient noise diffuses the iterate along the flat Bayes family ($A \to cA$, $b \to b/c$) and off the "
        r"invariant subspace; the expected gradient keeps the subspace ($\mathcal R_L$ is even in $(u, a)$, the "
        r"symmetry $w \to -w$).",
        r"The 232-263x drop of the risk at the linear solution from $L = 16$ to $4096$ ($d = 4$) reported by the "
        r"third-party audit of the paper (\url{github.com/MachineLearning-Nerd/icml26-repro-MvuCgK0Qns-softmax-linear-"
        r"attention}) is normalised "
        r"linear attention at $(U_\star, V_\star)$ without label noise, whose excess risk is exactly proportional to "
        r"$1/L$ ($4096/16 = 256$); softmax attention at $(U_\star, V_\star)$ decays more slowly ($\approx L^{-0.77}$ at "
        r"d = 2). \texttt{verify train} reports both.",
    ],
    order=5.3,
)
