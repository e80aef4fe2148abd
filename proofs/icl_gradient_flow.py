r"""Sec. 5 (in-context linear regression): the gradient of R_\infty, the gradient flow on the invariant
subspace and its conserved quantity.

**Statement.**  With the blocks U11, u, a, b of U, V (proofs/icl_minimizers.py), T = tr\Sigma,
\kappa = 2 tr(\Sigma^2), c0 = U11^T\Sigma a + b s^2 u, M = b U11^T\Sigma + u a^T\Sigma - I, e = c0 + b T u:

    \nabla_{U11} R_\infty = \Sigma a e^T\Sigma + b \Sigma M^T \Sigma,
    \nabla_u R_\infty     = b (s^2 + T) \Sigma e + \kappa b^2 \Sigma u + \Sigma M \Sigma a,
    \nabla_a R_\infty     = \Sigma U11 \Sigma e + \Sigma M^T \Sigma u,
    \nabla_b R_\infty     = (s^2 + T) u^T\Sigma e + \kappa b u^T\Sigma u + tr(M^T \Sigma U11^T \Sigma),

and 0 for the free entries (last column of U, first d rows of V).  On U = diag(A, 0), V = b e_{d+1}e_{d+1}^T
(A any d x d matrix, not necessarily symmetric) \nabla_u = \nabla_a = 0, so the subspace is invariant, and

    \dot A = b\Sigma^2 - b^2\Sigma^2 A\Sigma,     \dot b = tr(A^T\Sigma^2) - b tr(A^T\Sigma^2 A\Sigma),

exactly as printed in the paper (Sec. 5, = ZFB Lemma 5.2 with \Gamma = \Lambda = \Sigma).  Along it
d/dt(||A||_F^2 - b^2) = 0; more generally ||U||_F^2 - ||V||_F^2 is conserved by the full flow, because
R_\infty(\lambda U, V/\lambda) = R_\infty(U, V) (Euler: <U, \nabla_U R> = <V, \nabla_V R>).

**Proof.**  Write R_\infty = 1/2[e^T\Sigma e + \kappa b^2 u^T\Sigma u + tr(M^T\Sigma M) + s^2]; then
dR = e^T\Sigma de + \kappa b^2 u^T\Sigma du + \kappa b u^T\Sigma u db + <\Sigma M, dM> with
de = dU11^T\Sigma a + U11^T\Sigma da + (s^2 + T)(u db + b du), dM = db U11^T\Sigma + b dU11^T\Sigma + du a^T\Sigma + u da^T\Sigma;
read off the coefficients (tr(X dY^T) = <X, dY>).
"""

from __future__ import annotations

import numpy as np
import sympy as sp

from verify.claims import Check, Statement, at_least, at_most
from verify.derivation import Derivation
from verify.icl import bayes_point, icl_risk_infinite, invariant_point, toeplitz_sigma
from verify.icl_gradient import (
    icl_risk_gradient,
    icl_risk_gradient_fd,
    invariant_flow,
    invariant_flow_rhs,
    max_relative_error,
)
from verify.strategies import random_covariance, random_matrix
from verify.symbolic import symbolic_matrix

from verify.icl_symbolic import icl_symbols, risk_infinite_from_blocks, s

# ------------------------------------------------------------------------------ symbolic gradient


def gradient_blocks(U11, u, a, b, Sigma):
    """The closed-form gradient blocks (\\nabla_{U11}, \\nabla_u, \\nabla_a, \\nabla_b) as SymPy objects."""
    d = Sigma.shape[0]
    T = Sigma.trace()
    kappa = 2 * (Sigma * Sigma).trace()
    c0 = U11.T * Sigma * a + b * s**2 * u
    M = b * U11.T * Sigma + u * a.T * Sigma - sp.eye(d)
    e = c0 + b * T * u
    gU11 = Sigma * a * e.T * Sigma + b * Sigma * M.T * Sigma
    gu = b * (s**2 + T) * Sigma * e + kappa * b**2 * Sigma * u + Sigma * M * Sigma * a
    ga = Sigma * U11 * Sigma * e + Sigma * M.T * Sigma * u
    gb = (s**2 + T) * (u.T * Sigma * e)[0] + kappa * b * (u.T * Sigma * u)[0] + (M.T * Sigma * U11.T * Sigma).trace()
    return gU11, gu, ga, gb


def assemble(gU11, gu, ga, gb, d: int):
    """(\\nabla_U, \\nabla_V) as (d+1)x(d+1) matrices, zero on the free entries."""
    gU = sp.zeros(d + 1, d + 1)
    gV = sp.zeros(d + 1, d + 1)
    gU[:d, :d] = gU11
    gU[d, :d] = gu.T
    gV[d, :d] = ga.T
    gV[d, d] = gb
    return gU, gV


def explicit_gradient(R, U, V):
    """Entry-wise SymPy differentiation of R in every entry of U and V."""
    return U.applyfunc(lambda x: sp.diff(R, x)), V.applyfunc(lambda x: sp.diff(R, x))


GRAD_U_TEX = (r"\begin{pmatrix}\Sigma a e^\top\Sigma + b\Sigma M^\top\Sigma & 0\\"
              r" \big(b(s^2+T)\Sigma e + \kappa b^2\Sigma u + \Sigma M\Sigma a\big)^\top & 0\end{pmatrix}")
GRAD_V_TEX = (r"\begin{pmatrix}0 & 0\\ \big(\Sigma U_{11}\Sigma e + \Sigma M^\top\Sigma u\big)^\top &"
              r" (s^2+T)u^\top\Sigma e + \kappa b\,u^\top\Sigma u + \mathrm{tr}(M^\top\Sigma U_{11}^\top\Sigma)\end{pmatrix}")


def derivation_gradient(d: int) -> Derivation:
    S = icl_symbols(d)
    U, V, Sig = S["U"], S["V"], S["Sigma"]
    R = risk_infinite_from_blocks(*S["blocks"], Sig)
    eU, eV = explicit_gradient(R, U, V)
    cU, cV = assemble(*gradient_blocks(*S["blocks"], Sig), d)
    return (
        Derivation(f"closed-form gradient of R_inf vs explicit differentiation (d = {d})", eU,
                   start_tex=r"\big(\partial\mathcal R_\infty/\partial U_{ij}\big)_{ij}")
        .step(cU, "matrix calculus on the sum-of-squares form; tr(X dY^T) = <X, dY>", rhs_tex=GRAD_U_TEX)
        .step(cV, "same, for V; the first d rows of V do not enter", lhs=eV,
              lhs_tex=r"\big(\partial\mathcal R_\infty/\partial V_{ij}\big)_{ij}", rhs_tex=GRAD_V_TEX)
    )


def _invariant_substitution(S: dict, A, b):
    d, U, V = S["d"], S["U"], S["V"]
    Ui, Vi = invariant_point_sym(A, b, d)
    sub = {U[i, j]: Ui[i, j] for i in range(d + 1) for j in range(d + 1)}
    sub.update({V[i, j]: Vi[i, j] for i in range(d + 1) for j in range(d + 1)})
    return sub


def invariant_point_sym(A, b, d: int):
    """U = diag(A, 0), V = b e_{d+1} e_{d+1}^T as explicit SymPy matrices."""
    U = sp.zeros(d + 1, d + 1)
    U[:d, :d] = A
    V = sp.zeros(d + 1, d + 1)
    V[d, d] = b
    return U, V


def paper_flow(A, b, Sigma):
    """The paper's printed flow (Sec. 5):  Adot = b Sigma^2 - b^2 Sigma^2 A Sigma,  bdot = tr(A^T Sigma^2) - b tr(A^T Sigma^2 A Sigma)."""
    S2 = Sigma * Sigma
    return b * S2 - b**2 * S2 * A * Sigma, (A.T * S2).trace() - b * (A.T * S2 * A * Sigma).trace()


def derivation_invariant_flow(d: int) -> Derivation:
    S = icl_symbols(d)
    U, V, Sig = S["U"], S["V"], S["Sigma"]
    A = symbolic_matrix("A", d, d)           # general, non-symmetric
    b = sp.Symbol("b", real=True)
    R = risk_infinite_from_blocks(*S["blocks"], Sig)
    eU, eV = explicit_gradient(R, U, V)
    sub = _invariant_substitution(S, A, b)
    gU, gV = eU.xreplace(sub), eV.xreplace(sub)
    Adot, bdot = paper_flow(A, b, Sig)
    other_U = sp.Matrix(gU)
    other_U[:d, :d] = sp.zeros(d, d)
    return (
        Derivation(f"gradient flow on the invariant subspace = the paper's equations (d = {d}, A non-symmetric)",
                   -gU[:d, :d], start_tex=r"-\nabla_{U_{11}}\mathcal R_\infty\big|_{U=\mathrm{diag}(A,0),\,V=b e e^\top}")
        .step(Adot, "explicit differentiation, then U = diag(A, 0), V = b e e^T", rhs_tex=r"b\Sigma^2 - b^2\Sigma^2 A\Sigma")
        .step(bdot, "same, for V[d,d]", lhs=-gV[d, d], lhs_tex=r"-\partial_b\mathcal R_\infty\big|_{\mathrm{inv}}",
              rhs_tex=r"\mathrm{tr}(A^\top\Sigma^2) - b\,\mathrm{tr}(A^\top\Sigma^2 A\Sigma)")
        .step(sp.zeros(d + 1, d + 1), "u-row and free entries of U: zero, so u stays 0", lhs=other_U, rhs_tex="0",
              lhs_tex=r"\nabla_U\mathcal R_\infty\big|_{\mathrm{inv}} - \mathrm{diag}(\nabla_{U_{11}},0)")
        .step(sp.zeros(d + 1, d), "a-row and free rows of V: zero, so a stays 0 (the subspace is invariant)", rhs_tex="0",
              lhs=gV[:, :d], lhs_tex=r"\big(\nabla_V\mathcal R_\infty\big|_{\mathrm{inv}}\big)_{:,1:d}")
    )


def derivation_conservation(d: int, full_space: bool = True) -> Derivation:
    S = icl_symbols(d)
    U, V, Sig = S["U"], S["V"], S["Sigma"]
    A = symbolic_matrix("A", d, d)
    b = sp.Symbol("b", real=True)
    R = risk_infinite_from_blocks(*S["blocks"], Sig)
    eU, eV = explicit_gradient(R, U, V)
    sub = _invariant_substitution(S, A, b)
    Adot, bdot = -eU.xreplace(sub)[:d, :d], -eV.xreplace(sub)[d, d]
    der = Derivation(f"||A||_F^2 - b^2 is conserved (d = {d}, A non-symmetric)",
                     2 * (A.T * Adot).trace() - 2 * b * bdot,
                     start_tex=r"\tfrac{d}{dt}\big(\|A\|_F^2 - b^2\big) = 2\,\mathrm{tr}(A^\top\dot A) - 2b\dot b")
    der.step(0, "Adot, bdot = minus the explicitly differentiated gradient on the subspace")
    if full_space:
        der.step(0, "R(lambda U, V/lambda) = R(U, V): Euler's identity, so ||U||_F^2 - ||V||_F^2 is conserved by the full flow",
                 lhs=sum(U[i, j] * eU[i, j] - V[i, j] * eV[i, j] for i in range(d + 1) for j in range(d + 1)),
                 lhs_tex=r"\langle U, \nabla_U\mathcal R_\infty\rangle - \langle V, \nabla_V\mathcal R_\infty\rangle")
    return der


def derivations() -> list[Derivation]:
    return ([derivation_gradient(k) for k in (1, 2, 3)]
            + [derivation_invariant_flow(k) for k in (1, 2, 3)]
            + [derivation_conservation(k) for k in (1, 2, 3)])


# ------------------------------------------------------------------------------ numeric evidence


def _random_point(d: int, rng):
    S = random_covariance(d, rng)
    U = random_matrix(d + 1, rng, 0.7)
    V = random_matrix(d + 1, rng, 0.7)
    return U, V, S, float(rng.uniform(0.0, 0.5))


def check_gradient_fd(dims=range(1, 7), per_dim: int = 2):
    def run(rng):
        worst, lines = 0.0, []
        for d in dims:
            errs = []
            for _ in range(per_dim):
                U, V, S, noise = _random_point(d, rng)
                errs.append(max_relative_error(icl_risk_gradient(U, V, S, noise), icl_risk_gradient_fd(U, V, S, noise)))
            worst = max(worst, max(errs))
            lines.append(f"d={d}: {max(errs):.1e}")
        return at_most(worst, 1e-6, "max rel. error",
                       "closed form vs central differences (h = 1e-5) of verify.icl.icl_risk_infinite; " + ", ".join(lines))
    return run


def check_wrong_gradient_rejected(dims=range(2, 7)):
    """Negative control: the same comparison rejects a gradient whose U11-block is transposed."""
    def run(rng):
        best = np.inf
        for d in dims:
            U, V, S, noise = _random_point(d, rng)
            gU, gV = icl_risk_gradient(U, V, S, noise)
            wrong = gU.copy()
            wrong[:d, :d] = gU[:d, :d].T
            best = min(best, max_relative_error((wrong, gV), icl_risk_gradient_fd(U, V, S, noise)))
        return at_least(best, 1e-3, "min rel. error",
                        f"transposed nabla_U11 (d = {min(dims)}..{max(dims)}): smallest rel. error {best:.2e} (rejected if >= 1e-3)")
    return run


def check_transposed_paper_flow_rejected(d: int = 3):
    """Negative control: the transposed reading b Sigma^2 - b^2 Sigma A^T Sigma^2 is not the flow for non-symmetric A."""
    def run(rng):
        S = random_covariance(d, rng)
        A = random_matrix(d, rng)
        b = float(rng.uniform(0.5, 1.5))
        Adot, _ = invariant_flow_rhs(A, b, S)
        wrong = b * S @ S - b * b * S @ A.T @ S @ S
        rel = max_relative_error(wrong, Adot)
        printed = b * S @ S - b * b * S @ S @ A @ S
        return at_least(rel, 1e-3, "rel. difference",
                        f"d={d}, random non-symmetric A: transposed reading differs by {rel:.2e}; "
                        f"the printed form differs by {max_relative_error(printed, Adot):.1e}")
    return run


def _generic_trajectory(rng, d: int = 3, t_end: float = 20.0, n_steps: int = 4000):
    S = toeplitz_sigma(d, 0.5)
    A0 = 0.5 * random_matrix(d, rng)
    b0 = float(rng.uniform(0.5, 1.0))
    return A0, b0, invariant_flow(A0, b0, S, t_end, n_steps, record_every=10)


def check_balance_conserved(tol: float = 1e-9):
    def run(rng):
        A0, b0, tr = _generic_trajectory(rng)
        scale = float((A0**2).sum() + b0**2)
        q = tr.balance
        drift = float(np.abs(q - q[0]).max()) / scale
        return at_most(drift, tol, "rel. drift",
                       f"RK4, d=3, Toeplitz(0.5), non-symmetric A0, t in [0, 20], 4000 steps: ||A||^2 - b^2 from "
                       f"{q[0]:+.6f} to {q[-1]:+.6f}; max |drift| / (||A0||^2 + b0^2) = {drift:.1e}")
    return run


def check_sum_not_conserved():
    """Negative control: ||A||_F^2 + b^2 is not conserved along the same trajectory."""
    def run(rng):
        A0, b0, tr = _generic_trajectory(rng)
        p = np.einsum("nij,nij->n", tr.A, tr.A) + tr.b**2
        change = float(np.abs(p - p[0]).max() / p[0])
        return at_least(change, 1e-2, "rel. change",
                        f"||A||^2 + b^2 goes from {p[0]:.4f} to {p[-1]:.4f} (max rel. change {change:.2f})")
    return run


def _balanced_run(S, alpha, rng, t_end=300.0, n_steps=10000, noise=0.3, grading=3.0):
    d = S.shape[0]
    Theta = rng.standard_normal((d, d))
    P = Theta @ Theta.T
    P /= np.linalg.norm(P)
    tr = invariant_flow(alpha * P, alpha, S, t_end, n_steps, record_every=n_steps, grading=grading)
    U, V = invariant_point(tr.A[-1], tr.b[-1], d)
    Us, Vs = bayes_point(S)
    dist = max(np.abs(U - Us).max() / np.abs(Us).max(), abs(V[d, d] - Vs[d, d]) / Vs[d, d])
    return dist, icl_risk_infinite(U, V, S, noise) - noise**2 / 2, float(np.abs(tr.balance).max())


def check_balanced_convergence(alphas=(0.1, 0.5, 1.0, 2.0), d: int = 3):
    def run(rng):
        S = toeplitz_sigma(d, 0.5)
        op = float(np.linalg.eigvalsh(S).max())
        worst, lines = 0.0, []
        for alpha in alphas:
            dist, excess, bal = _balanced_run(S, alpha, rng)
            worst = max(worst, dist)
            lines.append(f"alpha={alpha}: rel. dist {dist:.1e}, R - s^2/2 = {excess:.1e}, max|balance| {bal:.1e}")
        printed = np.sqrt(2) / (d**0.25 * op)
        zfb = np.sqrt(2) / (d**0.25 * np.sqrt(op))
        return at_most(worst, 1e-8, "rel. distance to (U*,V*)",
                       "; ".join(lines) + f" (RK4 graded mesh, t <= 300; printed interval alpha < {printed:.3f}, "
                       f"ZFB's alpha < {zfb:.3f}: alpha = 1, 2 lie outside both)")
    return run


def check_audit_witness(alpha: float = 4.0, sigma: float = 0.25):
    """d = 1, Sigma = 1/4, alpha = 4: inside the paper's printed interval, outside ZFB's condition; converges."""
    def run(rng):
        S = np.array([[sigma]])
        dist, excess, bal = _balanced_run(S, alpha, rng)
        printed = np.sqrt(2) / sigma
        zfb_lhs = alpha**2 * sigma
        return at_most(dist, 1e-8, "rel. distance to (U*,V*)",
                       f"d=1, Sigma={sigma}, alpha={alpha}: limit A = b = Sigma^-1/2 = 2 reached to rel. {dist:.1e}, "
                       f"R - s^2/2 = {excess:.1e}; printed interval alpha < sqrt2/||Sigma|| = {printed:.3f} (alpha inside), "
                       f"ZFB needs alpha^2 ||Sigma|| sqrt(d) = {zfb_lhs:.1f} < 2 (violated)")
    return run


def check_convergence_sweep(alphas=(0.05, 0.3, 1.0, 3.0, 6.0), dims=(2, 3, 5)):
    def run(rng):
        worst, lines = 0.0, []
        for d in dims:
            S = random_covariance(d, rng)
            for alpha in alphas:
                dist, excess, _ = _balanced_run(S, alpha, rng, t_end=300.0, n_steps=60000, grading=2.0)
                worst = max(worst, dist)
                lines.append(f"d={d} alpha={alpha}: {dist:.1e}")
        return at_most(worst, 1e-8, "rel. distance to (U*,V*)",
                       "; ".join(lines) + " (random Sigma; RK4 graded mesh, t <= 300, last step 0.01)")
    return run


# ------------------------------------------------------------------------------ the statement

STATEMENT = Statement(
    id="icl-gradient",
    number="Sec. 5 (gradient flow on R_inf)",
    title="Gradient of the infinite-prompt ICL risk, the flow on the invariant subspace, and balancedness",
    summary="closed-form nabla_{U,V} R_inf; on U = diag(A,0), V = b e e^T: Adot = b Sigma^2 - b^2 Sigma^2 A Sigma, "
            "bdot = tr(A^T Sigma^2) - b tr(A^T Sigma^2 A Sigma) (as printed); ||A||_F^2 - b^2 conserved",
    source="Boursier & Boyer (arXiv 2512.11784), Sec. 5 and App. E.2 (v1) / F.2 (v2); ZFB (2024) Lemma 5.2 with Gamma = Lambda = Sigma",
    statement_tex=(
        r"\nabla_{U_{11}}\mathcal R_\infty = \Sigma a e^\top\Sigma + b\,\Sigma M^\top\Sigma,\quad"
        r" \nabla_u\mathcal R_\infty = b(s^2+T)\Sigma e + \kappa b^2\Sigma u + \Sigma M\Sigma a,"
        r"\\ \nabla_a\mathcal R_\infty = \Sigma U_{11}\Sigma e + \Sigma M^\top\Sigma u,\quad"
        r" \partial_b\mathcal R_\infty = (s^2+T)\,u^\top\Sigma e + \kappa b\,u^\top\Sigma u + \mathrm{tr}(M^\top\Sigma U_{11}^\top\Sigma),"
        r"\\ T = \mathrm{tr}\Sigma,\ \kappa = 2\,\mathrm{tr}(\Sigma^2),\ e = c_0 + bTu;\ \text{zero on the free entries}."
        r"\\ \text{On } U = \mathrm{diag}(A,0),\ V = b\,e_{d+1}e_{d+1}^\top:\quad"
        r" \dot A = b\Sigma^2 - b^2\Sigma^2 A\Sigma,\quad \dot b = \mathrm{tr}(A^\top\Sigma^2) - b\,\mathrm{tr}(A^\top\Sigma^2 A\Sigma),"
        r"\quad \tfrac{d}{dt}\big(\|A\|_F^2 - b^2\big) = 0."
    ),
    hypotheses_tex=[
        r"\text{the setting of ``icl-minimizers'': } w \sim \mathcal N(0,I_d),\ x \sim \mathcal N(0,\Sigma),\ \Sigma \succ 0,"
        r"\ \text{label noise } \mathcal N(0,s^2)",
        r"A \in \mathbb R^{d\times d} \text{ arbitrary (not assumed symmetric)},\ b \in \mathbb R",
    ],
    derivations=derivations,
    checks=[
        Check("gradient-vs-fd", "float64", check_gradient_fd(),
              "closed-form gradient vs central differences of verify.icl.icl_risk_infinite, d = 1..6"),
        Check("wrong-gradient-rejected", "negative-control", check_wrong_gradient_rejected(),
              "the same comparison rejects a gradient with the U11 block transposed"),
        Check("transposed-flow-rejected", "negative-control", check_transposed_paper_flow_rejected(),
              "b Sigma^2 - b^2 Sigma A^T Sigma^2 (a transposed reading) is not the flow for non-symmetric A"),
        Check("balance-conserved", "float64", check_balance_conserved(),
              "||A||_F^2 - b^2 along an RK4 trajectory (d = 3, non-symmetric A0): relative drift <= 1e-9"),
        Check("sum-not-conserved", "negative-control", check_sum_not_conserved(),
              "||A||_F^2 + b^2 changes by more than 1% along the same trajectory"),
        Check("balanced-flow-converges", "float64", check_balanced_convergence(),
              "paper's initialisation U(0) = alpha diag(Theta Theta^T, 0), V(0) = alpha e e^T -> (U*, V*), d = 3, alpha = 0.1..2"),
        Check("audit-witness-d1", "audit", check_audit_witness(),
              "d = 1, Sigma = 1/4, alpha = 4 (outside ZFB's condition) still converges to (U*, V*)"),
        Check("convergence-sweep", "float64", check_convergence_sweep(),
              "balanced flow converges for alpha = 0.05..6 and random Sigma, d = 2, 3, 5", slow=True),
    ],
    status="verified",
    notes_tex=[
        r"The paper's printed flow $\dot A = b\Sigma^2 - b^2\Sigma^2A\Sigma$, $\dot b = \mathrm{tr}(A^\top\Sigma^2) - "
        r"b\,\mathrm{tr}(A^\top\Sigma^2A\Sigma)$ agrees exactly with $-\nabla\mathcal R_\infty$ on the invariant "
        r"subspace, including for non-symmetric $A$ (which the flow produces: $\Sigma^2A\Sigma$ is not symmetric even "
        r"when $A$ is); so does ZFB's reduced system with $\Gamma = \Lambda = \Sigma$. A transposed reading "
        r"$\Sigma A^\top\Sigma^2$ is wrong and is rejected.",
        r"Balancedness is the restriction of a conservation law of the full flow: $\mathcal R_\infty(\lambda U, V/\lambda)"
        r" = \mathcal R_\infty(U,V)$ gives $\langle U,\nabla_U\mathcal R_\infty\rangle = \langle V,\nabla_V\mathcal R_\infty\rangle$, "
        r"so $\|U\|_F^2 - \|V\|_F^2$ is conserved for every initialisation.",
        r"The balanced flow from the paper's initialisation reaches $(U_\star, V_\star)$ also for $\alpha$ outside "
        r"the printed interval $\alpha < \sqrt2/(d^{1/4}\|\Sigma\|_{op})$ and outside ZFB's condition "
        r"$\alpha^2\|\Sigma\|_{op}\sqrt d < 2$. The audit's witness $d = 1$, $\Sigma = 1/4$, $\alpha = 4$ lies "
        r"\emph{inside} the printed interval ($4 < 4\sqrt2$) but outside ZFB's condition ($\alpha^2\Sigma = 4 > 2$); "
        r"it converges too (the flow is $\dot x = \Sigma^2 x(1 - \Sigma x^2)$).",
    ],
    order=5.2,
)
