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

**Evidence.**  Numerics live in verify.icl.training_finite (batch risk and gradient, finite-$L$ gradient descent, the
Polyak-averaged end, $\mathcal R_L$ by verify.icl.risk.icl_risk_mc) and verify.icl.training (the $L = \infty$ reference).  The
measured study (gaps along time, rates, $L(\varepsilon)$, the invariant subspace, the audit's 232-263x) is
``verify train`` (run_finite).
"""

from __future__ import annotations

import sympy as sp

from verify.kernel.statement import Mutant, Statement
from verify.kernel.derivation import Derivation
from verify.kernel.evidence import bound, rate
from verify.icl.training_finite import (
    CONVERGENCE_CASE,
    WIDE_CASE,
    GRADIENT_SLIPS,
    LINEAR_SLIPS,
    excess_over,
    finite_risks,
    gradient_error,
    gradient_points,
    limit_risk,
    linear_gradient_error,
    linear_risk_and_grad,
    shifted_limit,
    softmax_risk_and_grad,
    start_risk,
    wide_limit,
)

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


# ------------------------------------------------------------------------------ evidence

_C = CONVERGENCE_CASE

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
    rate("finite-L-approaches-L-inf", limit_risk, lambda L, rng: finite_risks(L, rng, _C),
         lambda L, risks, limit: excess_over(risks, limit(_C)), _C["Ls"], exponent=0.3,
         mutants=[Mutant(r"limit $\lim\mathcal R_\infty + 0.2$", shifted_limit(0.2)),
                  Mutant(r"limit $\lim\mathcal R_\infty - 0.5$", shifted_limit(-0.5)),
                  Mutant(r"limit $\mathcal R_\infty(\theta(0))$ (the untrained risk)", start_risk)],
         kind="trajectory",
         description=r"GD on $\mathcal R_L$ (fresh batches of 128 prompts per step, $\eta = 0.05$, 150 steps, balanced "
                     r"$\alpha = 0.5$, Toeplitz(0.5) d = 2), 4 runs per $L \in \{4, 16, 64\}$: $\mathcal R_L$ at the "
                     r"Polyak-averaged end (icl_risk_mc) minus $\mathcal R_\infty$ at the end of GD on $\mathcal R_\infty$ "
                     r"(same start, step, horizon) is positive and decays like $L^{-p}$, CI of $-p$ below $-0.3$ "
                     r"(measured $p \approx 0.57$). Resolution: rejects a limit off by $\gtrsim 0.13$ upward (the gap "
                     r"at $L = 64$) or $\gtrsim 0.3$ downward"),
    rate("finite-L-approaches-L-inf-wide", wide_limit, lambda L, rng: finite_risks(L, rng, WIDE_CASE),
         lambda L, risks, limit: excess_over(risks, limit(WIDE_CASE)), WIDE_CASE["Ls"], exponent=0.3, slow=True,
         mutants=[Mutant(r"limit $\lim\mathcal R_\infty + 0.1$", lambda case: wide_limit() + 0.1),
                  Mutant(r"limit $\lim\mathcal R_\infty - 0.5$", lambda case: wide_limit() - 0.5)],
         kind="trajectory",
         description=r"the same over $L \in \{10, 100, 1000\}$ (300 steps, T = 15, 6 runs per L; about 20 s CPU): "
                     r"the end excess decays like $L^{-0.6}$; at $L = 1000$ it is the gradient-noise floor of batch 64"),
]

STATEMENT = Statement(
    id="train-finite",
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
    status="verified (discretised: SGD on R_L vs GD on R_inf)",
    notes_tex=[
        r"The theorem is about gradient flows and $t \to \infty$; the check runs stochastic gradient descent (fresh prompts "
        r"each step) to a finite horizon and compares with gradient descent on $\mathcal R_\infty$ at the same step and "
        r"horizon. Gradient noise diffuses the iterate along the flat Bayes family ($A \to cA$, $b \to b/c$) and off the "
        r"invariant subspace; the expected gradient keeps the subspace ($\mathcal R_L$ is even in $(u, a)$, the "
        r"symmetry $w \to -w$).",
        r"The audit's 232-263x drop of the risk at the linear solution from $L = 16$ to $4096$ ($d = 4$) is normalised "
        r"linear attention at $(U_\star, V_\star)$ without label noise, whose excess risk is exactly proportional to "
        r"$1/L$ ($4096/16 = 256$); softmax attention at $(U_\star, V_\star)$ decays more slowly ($\approx L^{-0.77}$ at "
        r"d = 2). \texttt{verify train} reports both.",
    ],
    order=5.3,
)
