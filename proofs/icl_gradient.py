r"""Sec. 5 (in-context linear regression): the gradient of $\mathcal R_\infty$, the gradient flow on the
invariant subspace and its conserved quantity.

**Statement.**  With the blocks $U_{11}, u, a, b$ of $U, V$ (verify.icl.symbols), $T = \mathrm{tr}\Sigma$,
$\kappa = 2\,\mathrm{tr}(\Sigma^2)$, $c_0 = U_{11}^\top\Sigma a + b s^2 u$, $M = bU_{11}^\top\Sigma + ua^\top\Sigma - I$,
$e = c_0 + bTu$:

    \nabla_{U11} R_\infty = \Sigma a e^T\Sigma + b \Sigma M^T \Sigma,
    \nabla_u R_\infty     = b (s^2 + T) \Sigma e + \kappa b^2 \Sigma u + \Sigma M \Sigma a,
    \nabla_a R_\infty     = \Sigma U11 \Sigma e + \Sigma M^T \Sigma u,
    \nabla_b R_\infty     = (s^2 + T) u^T\Sigma e + \kappa b u^T\Sigma u + tr(M^T \Sigma U11^T \Sigma),

and 0 for the free entries (last column of U, first d rows of V).  On U = diag(A, 0), V = b e_{d+1}e_{d+1}^T
(A any d x d matrix) the u- and a-blocks vanish, so the subspace is invariant, and

    \dot A = b\Sigma^2 - b^2\Sigma^2 A\Sigma,     \dot b = tr(A^T\Sigma^2) - b tr(A^T\Sigma^2 A\Sigma),

exactly as printed in the paper (Sec. 5, = ZFB Lemma 5.2 with \Gamma = \Lambda = \Sigma).  Along it
d/dt(||A||_F^2 - b^2) = 0; more generally ||U||_F^2 - ||V||_F^2 is conserved by the full flow, because
R_\infty(\lambda U, V/\lambda) = R_\infty(U, V) (Euler: <U, \nabla_U R> = <V, \nabla_V R>).

**Proof** (the derivations below, each a connected chain checked by SymPy at d = 1, 2, 3).  Regroup
R_\infty = 1/2[e^T\Sigma e + \kappa b^2 u^T\Sigma u + tr(M^T\Sigma M) + s^2] and differentiate entry-wise; restrict
to the invariant subspace; differentiate ||A||_F^2 - b^2 along the flow.  The risk's closed form is the
statement icl-risk-infinite.

**Evidence.**  Numerics live in verify.icl.gradient: references are finite differences of R_\infty (and of the
quadrature of its definition at d = 1, 2), and an error-controlled integrator (DOP853, stated rtol/atol).
"""

from __future__ import annotations

import functools

import sympy as sp

from verify.kernel.statement import Mutant, Statement
from verify.kernel.derivation import Derivation, maps
from verify.kernel.evidence import bound, rejection
from verify.icl.risk import bayes_point, toeplitz_sigma
from verify.icl.gradient import (
    FLOW_SLIPS,
    GRADIENT_SLIPS,
    LIMIT_SLIPS,
    balance,
    balanced_limit_distance,
    balanced_points,
    drift_ratio,
    flow_discrepancy,
    flow_points,
    gradient_of,
    gradient_points,
    gradient_reference,
    icl_risk_gradient,
    polynomial_equal,
    polynomial_gradient,
    max_relative_error_to_reference,
    paper_flow as paper_flow_np,
    relative_change,
    sum_of_squares,
    trajectory_points,
)
from verify.kernel.evidence import agreement
from verify.kernel.claim import ClaimSpec
from verify.icl.claim_points import common_mutants, gradient_claim_points, swap
from verify.icl.claim_points import coverage as claim_coverage
from verify.icl.symbols import icl_symbols, risk_infinite_from_blocks, s, sum_of_squares_form
from verify.numerics.strategies import random_covariance
from verify.symbolic import symbolic_matrix

# ------------------------------------------------------------------------------ the closed forms (SymPy)


def gradient_blocks(U11, u, a, b, Sigma):
    r"""The closed-form gradient blocks ($\nabla_{U_{11}}, \nabla_u, \nabla_a, \partial_b$) as SymPy objects."""
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
    r"""$(\nabla_U \mid \nabla_V)$ side by side, a $(d+1)\times 2(d+1)$ matrix, zero on the free entries."""
    gU, gV = sp.zeros(d + 1, d + 1), sp.zeros(d + 1, d + 1)
    gU[:d, :d], gU[d, :d], gV[d, :d], gV[d, d] = gU11, gu.T, ga.T, gb
    return sp.Matrix.hstack(gU, gV)


def explicit_gradient(R, U, V):
    r"""Entry-wise differentiation: $(\partial R/\partial U_{ij} \mid \partial R/\partial V_{ij})$."""
    return polynomial_gradient(R, U, V)


POLY = polynomial_equal()


def paper_flow(A, b, Sigma):
    r"""The paper's printed flow: $\dot A = b\Sigma^2 - b^2\Sigma^2A\Sigma$, $\dot b = \mathrm{tr}(A^\top\Sigma^2) - b\,\mathrm{tr}(A^\top\Sigma^2A\Sigma)$."""
    S2 = Sigma * Sigma
    return b * S2 - b**2 * S2 * A * Sigma, (A.T * S2).trace() - b * (A.T * S2 * A * Sigma).trace()


def flow_blocks(Adot, bdot, d: int):
    r"""The flow as a gradient-shaped matrix: $\dot A$ in the $U_{11}$ block, $\dot b$ at $V_{d+1,d+1}$, zero elsewhere."""
    return assemble(Adot, sp.zeros(d, 1), sp.zeros(d, 1), bdot, d)


def read_flow(G, d: int):
    r"""$\mathrm{diag}(\dot A, \dot b)$ read off a gradient-shaped matrix."""
    return sp.diag(G[:d, :d], G[d, 2 * d + 1])


def invariant_substitution(S: dict, A, b) -> dict:
    r"""$U = \mathrm{diag}(A, 0)$, $V = b\,e_{d+1}e_{d+1}^\top$ as a substitution of the explicit entries."""
    d, U, V = S["d"], S["U"], S["V"]
    sub = {U[i, j]: (A[i, j] if i < d and j < d else 0) for i in range(d + 1) for j in range(d + 1)}
    sub.update({V[i, j]: (b if i == j == d else 0) for i in range(d + 1) for j in range(d + 1)})
    return sub


GRAD_TEX = (r"\begin{pmatrix}\Sigma a e^\top\Sigma + b\Sigma M^\top\Sigma & 0 & 0 & 0\\"
            r" \big(b(s^2+T)\Sigma e + \kappa b^2\Sigma u + \Sigma M\Sigma a\big)^\top & 0 &"
            r" \big(\Sigma U_{11}\Sigma e + \Sigma M^\top\Sigma u\big)^\top & \partial_b\mathcal R_\infty\end{pmatrix}")
FLOW_TEX = (r"\begin{pmatrix}b\Sigma^2 - b^2\Sigma^2A\Sigma & 0 & 0 & 0\\ 0 & 0 & 0 &"
            r" \mathrm{tr}(A^\top\Sigma^2) - b\,\mathrm{tr}(A^\top\Sigma^2A\Sigma)\end{pmatrix}")
PAPER_FLOW_TEX = r"\mathrm{diag}\big(b\Sigma^2 - b^2\Sigma^2A\Sigma,\ \mathrm{tr}(A^\top\Sigma^2) - b\,\mathrm{tr}(A^\top\Sigma^2A\Sigma)\big)"

# ------------------------------------------------------------------------------ derivations


def derivation_gradient(d: int) -> Derivation:
    S = icl_symbols(d)
    U, V, Sig, blocks = S["U"], S["V"], S["Sigma"], S["blocks"]
    closed = assemble(*gradient_blocks(*blocks, Sig), d)
    return (
        Derivation(f"$\\nabla\\mathcal R_\\infty$ in closed form ($d = {d}$)", risk_infinite_from_blocks(*blocks, Sig),
                   start_tex=r"\mathcal R_\infty(U, V)", brief=d > 1, conclusion=closed,
                   conclusion_tex=r"(\nabla_U\mathcal R_\infty \mid \nabla_V\mathcal R_\infty)")
        .step(sum_of_squares_form(*blocks, Sig), r"regroup with $e = c_0 + bTu$, $\kappa = 2\,\mathrm{tr}(\Sigma^2)$",
              check=POLY, rhs_tex=r"\tfrac12\big[e^\top\Sigma e + \kappa b^2 u^\top\Sigma u + \mathrm{tr}(M^\top\Sigma M) + s^2\big]")
        .step(closed, r"differentiate in every entry of $U$ and $V$; $\mathrm{tr}(X\,dY^\top) = \langle X, dY\rangle$",
              check=maps("entry-wise gradient in $(U, V)$", lambda R: explicit_gradient(R, U, V), then=POLY),
              rhs_tex=GRAD_TEX)
    )


def derivation_invariant_flow(d: int, flow=paper_flow) -> Derivation:
    """``flow`` is the printed flow (a planted slip of it must fail the chain)."""
    S = icl_symbols(d)
    U, V, Sig = S["U"], S["V"], S["Sigma"]
    A = symbolic_matrix("A", d, d)  # general, non-symmetric
    b = sp.Symbol("b", real=True)
    sub = invariant_substitution(S, A, b)
    R = risk_infinite_from_blocks(*S["blocks"], Sig)
    Adot, bdot = flow(A, b, Sig)
    zero = sp.zeros(d, 1)
    return (
        Derivation(f"the flow on the invariant subspace is the paper's ($d = {d}$, $A$ non-symmetric)",
                   -explicit_gradient(R, U, V).xreplace(sub), brief=d > 1,
                   start_tex=r"-\nabla\mathcal R_\infty\big|_{U=\mathrm{diag}(A,0),\,V=b e e^\top}",
                   conclusion=read_flow(flow_blocks(*paper_flow(A, b, Sig), d), d), conclusion_tex=PAPER_FLOW_TEX)
        .step(-assemble(*gradient_blocks(A, zero, zero, b, Sig), d), r"the closed-form blocks at $u = a = 0$",
              rhs_tex=r"-\nabla\mathcal R_\infty\big|_{U_{11} = A,\ u = a = 0}")
        .step(flow_blocks(Adot, bdot, d), r"$e = 0$, $M = bA^\top\Sigma - I$: the $u$- and $a$-blocks vanish",
              rhs_tex=FLOW_TEX)
        .step(read_flow(flow_blocks(Adot, bdot, d), d), r"read $(\dot A, \dot b)$ off the $U_{11}$ and $b$ entries",
              check=maps("read the blocks", lambda G: read_flow(G, d)), rhs_tex=PAPER_FLOW_TEX)
    )


def derivation_conservation(d: int, flow=paper_flow) -> Derivation:
    A = symbolic_matrix("A", d, d)
    b = sp.Symbol("b", real=True)
    Adot, bdot = flow(A, b, symbolic_matrix("Sigma", d, d, symmetric=True))
    Q = sum(x**2 for x in A) - b**2

    def along_flow(q):
        return sum(sp.diff(q, A[i, j]) * Adot[i, j] for i in range(d) for j in range(d)) + sp.diff(q, b) * bdot

    return (
        Derivation(f"$\\|A\\|_F^2 - b^2$ is conserved along the paper's flow ($d = {d}$)", Q, brief=d > 1,
                   start_tex=r"\|A\|_F^2 - b^2", conclusion=sp.Integer(0), conclusion_tex="0")
        .step(2 * (A.T * Adot).trace() - 2 * b * bdot, r"$\tfrac{d}{dt}$ along $(\dot A, \dot b)$ of the paper",
              check=maps("time derivative along the flow", along_flow, symbol=r"\xrightarrow{d/dt}"),
              rhs_tex=r"2\,\mathrm{tr}(A^\top\dot A) - 2b\dot b")
        .step(sp.Integer(0), r"both equal $2b\,\mathrm{tr}(A^\top\Sigma^2) - 2b^2\mathrm{tr}(A^\top\Sigma^2A\Sigma)$", rhs_tex="0")
    )


def derivation_euler(d: int) -> Derivation:
    S = icl_symbols(d)
    U, V, Sig, blocks = S["U"], S["V"], S["Sigma"], S["blocks"]
    lam = sp.Symbol("lambda", positive=True)
    G = assemble(*gradient_blocks(*blocks, Sig), d)
    UV = sp.Matrix.hstack(U, -V)

    def rescale(R):
        scaled = {x: lam * x for x in U} | {x: x / lam for x in V}
        return sp.diff(R.xreplace(scaled), lam).subs(lam, 1)

    return (
        Derivation(f"$\\|U\\|_F^2 - \\|V\\|_F^2$ is conserved by the full flow ($d = {d}$)",
                   risk_infinite_from_blocks(*blocks, Sig), brief=d > 1, start_tex=r"\mathcal R_\infty(U, V)",
                   conclusion=sp.Integer(0), conclusion_tex="0")
        .step(sum(UV[i, j] * G[i, j] for i in range(d + 1) for j in range(2 * d + 2)),
              r"$\partial_\lambda\mathcal R_\infty(\lambda U, V/\lambda)$ at $\lambda = 1$, by the closed-form gradient",
              check=maps("rescale and differentiate at $\\lambda = 1$", rescale, symbol=r"\xrightarrow{\partial_\lambda}"),
              rhs_tex=r"\langle U, \nabla_U\mathcal R_\infty\rangle - \langle V, \nabla_V\mathcal R_\infty\rangle")
        .step(sp.Integer(0), r"$\mathcal R_\infty(\lambda U, V/\lambda) = \mathcal R_\infty(U, V)$: the prediction is bilinear in $(V, U)$",
              rhs_tex="0")
    )


def derivations() -> list[Derivation]:
    return ([derivation_gradient(k) for k in (1, 2, 3)] + [derivation_invariant_flow(k) for k in (1, 2, 3)]
            + [derivation_conservation(k) for k in (1, 2, 3)] + [derivation_euler(k) for k in (1, 2)])


# ------------------------------------------------------------------------------ evidence

_GRAD = gradient_of(icl_risk_gradient)
_GRAD_MUTANTS = [
    Mutant(r"$\nabla_{U_{11}}$ transposed", gradient_of(GRADIENT_SLIPS["transposed"])),
    Mutant(r"$\kappa b^2\Sigma u$ dropped from $\nabla_u$", gradient_of(GRADIENT_SLIPS["dropped"])),
    Mutant(r"$2\nabla_a$", gradient_of(GRADIENT_SLIPS["factor2"])),
    Mutant(r"$M$ for $M^\top$ in $\nabla_{U_{11}}$", gradient_of(GRADIENT_SLIPS["M"])),
]
_LIMIT_MUTANTS = [
    Mutant(r"$U_\star$ with $\mathrm{tr}(\Sigma^{-2})^{+1/4}$", LIMIT_SLIPS["U+1/4"]),
    Mutant(r"exponents of $U_\star$, $V_\star$ swapped", LIMIT_SLIPS["swapped"]),
    Mutant(r"no trace factor", LIMIT_SLIPS["no trace"]),
]
_CONSERVED = (paper_flow_np, balance)

CHECKS = [
    agreement("gradient-vs-fd", _GRAD, gradient_reference, lambda rng: gradient_points(rng), digits=11, kind="float64",
              mutants=_GRAD_MUTANTS, reference_name="differences of $\\mathcal R_\\infty$ (of its definition at d = 1..3)",
              description=r"closed-form gradient vs Richardson differences of $\mathcal R_\infty$ (d = 1..6), 40-digit "
                          r"differences of the quadrature of its definition (d = 1) and the definition differentiated "
                          r"under the integral on the exact Gauss-Hermite rule (d = 2, 3)"),
    rejection("wrong-gradient-rejected", gradient_of(GRADIENT_SLIPS["transposed"]),
              lambda p, _, subj: max_relative_error_to_reference(p, subj),
              lambda rng: gradient_points(rng, dims=range(2, 7), per_dim=1, quadrature_dims=()),
              threshold=1e-6, unit="min rel. error", what="relative error of the transposed gradient",
              mutants=[Mutant("the closed-form gradient", _GRAD)],
              description=r"the same comparison rejects $\nabla_{U_{11}}$ transposed (d = 2..6)"),
    rejection("transposed-flow-rejected", FLOW_SLIPS["transposed"], lambda p, _, subj: flow_discrepancy(p, subj),
              flow_points, threshold=1e-6, unit="rel. difference", what=r"distance to $-\nabla\mathcal R_\infty$",
              mutants=[Mutant("the printed flow", paper_flow_np)],
              description=r"$b\Sigma^2 - b^2\Sigma A^\top\Sigma^2$ is not $-\nabla\mathcal R_\infty$ for non-symmetric $A$ (d = 2, 3, 4)"),
    bound("balance-conserved", _CONSERVED, drift_ratio, trajectory_points, threshold=1.0, relation="<=",
          unit="drift / allowed", what="drift of $Q$ in units of the drift DOP853's tolerance allows",
          mutants=[Mutant(r"$\|A\|_F^2 + b^2$", (paper_flow_np, sum_of_squares)),
                   Mutant(r"$\dot b$ with $-\mathrm{tr}(A^\top\Sigma^2)$", (FLOW_SLIPS["wrong sign"], balance))],
          description=r"$\|A\|_F^2 - b^2$ along DOP853 trajectories (rtol 1e-13, atol 1e-15; d = 2, 3, 4, "
                      r"non-symmetric $A_0$, $t \le 20$): drift within the sum of the steps' tolerated local errors"),
    rejection("sum-not-conserved", (paper_flow_np, sum_of_squares), lambda p, _, subj: relative_change(p, subj),
              trajectory_points, threshold=1e-2, unit="rel. change", what=r"relative change of $Q$",
              mutants=[Mutant(r"$\|A\|_F^2 - b^2$", _CONSERVED)],
              description=r"$\|A\|_F^2 + b^2$ changes by more than 1% along the same trajectories"),
    bound("balanced-flow-converges", bayes_point, balanced_limit_distance,
          lambda rng: balanced_points(rng, [toeplitz_sigma(3, 0.5)], (0.1, 0.5, 1.0, 2.0), t_end=150.0, n_steps=5000),
          threshold=1e-8,
          unit="rel. distance", what=r"relative distance to $(U_\star, V_\star)$", mutants=_LIMIT_MUTANTS,
          description=r"paper's initialisation $U(0) = \alpha\,\mathrm{diag}(\Theta\Theta^\top, 0)$, "
                      r"$V(0) = \alpha e e^\top$ reaches $(U_\star, V_\star)$, d = 3, $\alpha = 0.1..2$ "
                      r"(RK4, 5000 steps on a graded mesh, $t \le 150$)"),
    bound("audit-witness-d1", bayes_point, balanced_limit_distance,
          lambda rng: balanced_points(None, [[[0.25]]], (4.0,)), threshold=1e-8, kind="audit",  # d = 1: P = 1, no draw
          unit="rel. distance", what=r"relative distance to $(U_\star, V_\star)$", mutants=_LIMIT_MUTANTS,
          description=r"d = 1, $\Sigma = 1/4$, $\alpha = 4$ (inside the printed interval $\alpha < 4\sqrt2$, outside "
                      r"ZFB's $\alpha^2\|\Sigma\| < 2$) still converges to $A = b = \Sigma^{-1/2} = 2$"),
    bound("convergence-sweep", bayes_point, balanced_limit_distance,
          lambda rng: balanced_points(rng, [lambda r, d=d: random_covariance(d, r) for d in (2, 3, 5)],
                                      (0.05, 0.3, 1.0, 3.0, 6.0), n_steps=60000, grading=2.0),
          threshold=1e-8, unit="rel. distance", what=r"relative distance to $(U_\star, V_\star)$", mutants=_LIMIT_MUTANTS,
          description=r"balanced flow converges for $\alpha = 0.05..6$ and random $\Sigma$, d = 2, 3, 5", slow=True),
]

# ------------------------------------------------------------------------------ claims (verify claim)
# Two blocks of the gradient as user-checkable claims; the reference is the gradient of the DEFINITION of
# R_inf, differentiated under the integral (verify.icl.claim_points.task_moments), never the blocks above.

_E, _M = "(U11.T*Sigma*a + b*s**2*u + b*trace(Sigma)*u)", "(b*U11.T*Sigma + u*a.T*Sigma - I)"
GRAD_U11 = f"Sigma*a*{_E}.T*Sigma + b*Sigma*{_M}.T*Sigma"
GRAD_B = f"(s**2 + trace(Sigma))*u.T*Sigma*{_E} + 2*trace(Sigma*Sigma)*b*u.T*Sigma*u + trace({_M}.T*Sigma*U11.T*Sigma)"
FLOW_U11, FLOW_B = "b**2*Sigma**2*U11*Sigma - b*Sigma**2", "b*trace(U11.T*Sigma**2*U11*Sigma) - trace(U11.T*Sigma**2)"


GRAD_U11_WRONG = common_mutants(GRAD_U11, scalar=False) + (
    f"Sigma*{_E}*a.T*Sigma + b*Sigma*{_M}*Sigma",  # the gradient transposed
    f"Sigma*a*{_E}.T*Sigma + b*Sigma*{_M}*Sigma",  # M for M^T
    swap(GRAD_U11, "U11.T", "U11"),  # U11 for U11^T
    swap(GRAD_U11, "b*Sigma*(", "2*b*Sigma*("),  # factor 2
    swap(GRAD_U11, "Sigma*a*", "Sigma**2*a*"),  # Sigma -> Sigma^2
    swap(GRAD_U11, "b*Sigma*(", "b*Sigma**-1*("),  # Sigma inverted
    FLOW_U11,  # the invariant-subspace form (-dA/dt of the paper), off the subspace
)
GRAD_U11_EQUIVALENTS = (
    f"Sigma*(a*{_E}.T + b*{_M}.T)*Sigma",  # factored
    f"(Sigma*{_E}*a.T*Sigma + b*Sigma*{_M}*Sigma).T",  # transpose of the transpose
    ("Sigma*a*a.T*Sigma*U11*Sigma + b*s**2*Sigma*a*u.T*Sigma + b*trace(Sigma)*Sigma*a*u.T*Sigma"
     " + b**2*Sigma**2*U11*Sigma + b*Sigma**2*a*u.T*Sigma - b*Sigma**2"),  # expanded
    f"(Sigma*a)*(Sigma*{_E}).T + b*Sigma*(b*Sigma*U11 + Sigma*a*u.T - I)*Sigma",  # transposes distributed
    swap(GRAD_U11, "Sigma*a*", "0.5*(Sigma**-1)**-1*a*2*"),  # decimals, inverse identity
)
GRAD_B_WRONG = common_mutants(GRAD_B, scalar=True) + (
    swap(GRAD_B, f"trace({_M}.T*", f"trace({_M}*"),  # M for M^T
    swap(GRAD_B, "Sigma*U11.T*Sigma)", "Sigma*U11*Sigma)"),  # U11 for U11^T in the trace term
    swap(GRAD_B, "2*trace(Sigma*Sigma)*b", "trace(Sigma*Sigma)*b"),  # one quartic pairing
    swap(GRAD_B, "2*trace(Sigma*Sigma)*b", "trace(Sigma)**2*b"),  # tr(Sigma^2) <-> tr(Sigma)^2
    swap(GRAD_B, "(s**2 + trace(Sigma))", "trace(Sigma)"),  # noise dropped from s^2 + T
    swap(GRAD_B, "(s**2 + trace(Sigma))", "(s**2/2 + trace(Sigma))"),  # noise s^2/2
    swap(GRAD_B, f" + trace({_M}.T*Sigma*U11.T*Sigma)", ""),  # dropped term
    swap(GRAD_B, "*Sigma*U11.T*Sigma)", "*Sigma**2*U11.T*Sigma)"),  # Sigma -> Sigma^2
    swap(GRAD_B, "*Sigma*U11.T*Sigma)", "*Sigma**-1*U11.T*Sigma)"),  # Sigma inverted
    FLOW_B,  # the invariant-subspace form (-db/dt of the paper), off the subspace
)
GRAD_B_EQUIVALENTS = (
    f"(s**2 + trace(Sigma))*{_E}.T*Sigma*u + 2*b*trace(Sigma**2)*(u.T*Sigma*u) + trace(Sigma*U11*Sigma*{_M})",
    swap(GRAD_B, f"trace({_M}.T*Sigma*U11.T*Sigma)", f"trace(U11.T*Sigma*{_M}.T*Sigma)"),  # cyclic
    swap(GRAD_B, f"trace({_M}.T*Sigma*U11.T*Sigma)",
         "b*trace(Sigma*U11*Sigma*U11.T*Sigma) + u.T*Sigma*U11.T*Sigma*Sigma*a - trace(Sigma*U11.T*Sigma)"),  # expanded
    swap(GRAD_B, "2*trace(Sigma*Sigma)*b", "0.2*trace(Sigma*Sigma)*10*b"),  # decimals
    swap(GRAD_B, " - I)", " - Sigma**-1*Sigma)"),  # inverse identity
)
_HELP = ("Symbols: U11 = U[:d,:d]; u = U[d,:d]^T, a = V[d,:d]^T (d x 1); b = V[d,d]; Sigma (SPD);\n"
         "s (noise std); I (d x d).  SymPy syntax: * product, .T, **-1, trace(); 1x1 products are scalars.")
_ASSUME = {"invariant-subspace": "U = diag(A, 0), V = b e_{d+1} e_{d+1}^T (u = 0, a = 0), A = U11", "noiseless": "s = 0"}


def _gradient_claim(block, example, wrong, equivalents, conditional, what, shape):
    return ClaimSpec(id=f"icl-gradient-{block}", statement_id="icl-gradient", summary=what,
                     symbols_help=_HELP, example=example, expected_shape=shape,
                     points=functools.partial(gradient_claim_points, block=block), tolerance=1e-20, dps=40,
                     wrong_examples=wrong, equivalents=equivalents, assumptions=_ASSUME,
                     conditional_examples=conditional, coverage=claim_coverage("gradient"))


CLAIMS = [
    _gradient_claim("U11", GRAD_U11, GRAD_U11_WRONG, GRAD_U11_EQUIVALENTS, ((FLOW_U11, ("invariant-subspace",)),),
                    "dR_inf/dU11, the d x d matrix of partial derivatives in the entries of U[:d,:d]", lambda k: (k, k)),
    _gradient_claim("b", GRAD_B, GRAD_B_WRONG, GRAD_B_EQUIVALENTS, ((FLOW_B, ("invariant-subspace",)),),
                    "dR_inf/db, b = V[d,d] (a scalar)", lambda k: ()),
]

STATEMENT = Statement(
    id="icl-gradient",
    number=r"Sec. 5 (gradient flow on $\mathcal R_\infty$)",
    title=r"Gradient of the infinite-prompt ICL risk, the flow on the invariant subspace, and balancedness",
    summary=r"closed-form $\nabla_{U,V}\mathcal R_\infty$; on $U = \mathrm{diag}(A,0)$, $V = b e e^\top$: "
            r"$\dot A = b\Sigma^2 - b^2\Sigma^2A\Sigma$, $\dot b = \mathrm{tr}(A^\top\Sigma^2) - b\,\mathrm{tr}(A^\top\Sigma^2A\Sigma)$ "
            r"(as printed); $\|A\|_F^2 - b^2$ conserved",
    source=r"Boursier & Boyer (arXiv 2512.11784), Sec. 5 and App. E.2 (v1) / F.2 (v2); ZFB (2024) Lemma 5.2 with "
           r"$\Gamma = \Lambda = \Sigma$",
    statement_tex=(
        r"\nabla_{U_{11}}\mathcal R_\infty = \Sigma a e^\top\Sigma + b\,\Sigma M^\top\Sigma,\quad"
        r" \nabla_u\mathcal R_\infty = b(s^2+T)\Sigma e + \kappa b^2\Sigma u + \Sigma M\Sigma a,"
        r"\\ \nabla_a\mathcal R_\infty = \Sigma U_{11}\Sigma e + \Sigma M^\top\Sigma u,\quad"
        r" \partial_b\mathcal R_\infty = (s^2+T)\,u^\top\Sigma e + \kappa b\,u^\top\Sigma u + \mathrm{tr}(M^\top\Sigma U_{11}^\top\Sigma),"
        r"\\ T = \mathrm{tr}\Sigma,\ \kappa = 2\,\mathrm{tr}(\Sigma^2),\ e = c_0 + bTu;\ \text{zero on the free entries}."
        r"\\ \text{On } U = \mathrm{diag}(A,0),\ V = b\,e_{d+1}e_{d+1}^\top:\quad"
        r" \dot A = b\Sigma^2 - b^2\Sigma^2 A\Sigma,\quad \dot b = \mathrm{tr}(A^\top\Sigma^2) - b\,\mathrm{tr}(A^\top\Sigma^2 A\Sigma),"
        r"\\ \tfrac{d}{dt}\big(\|A\|_F^2 - b^2\big) = 0."
    ),
    hypotheses_tex=[
        r"\text{the setting of ``icl-minimizers'': } w \sim \mathcal N(0,I_d),\ x \sim \mathcal N(0,\Sigma),\ \Sigma \succ 0,"
        r"\ \text{label noise } \mathcal N(0,s^2)",
        r"A \in \mathbb R^{d\times d} \text{ arbitrary (not assumed symmetric)},\ b \in \mathbb R",
    ],
    derivations=derivations,
    checks=CHECKS,
    claims=CLAIMS,
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
        r"The numerical drift of $\|A\|_F^2 - b^2$ is judged against the integrator's own stated tolerance: the exact "
        r"flow conserves it from every state, so its drift is at most the sum over steps of $2\|y\|$ times the "
        r"tolerated local error $\sqrt n\,(\mathrm{atol} + \mathrm{rtol}\,|y|)$.",
        r"The balanced flow from the paper's initialisation reaches $(U_\star, V_\star)$ also for $\alpha$ outside "
        r"the printed interval $\alpha < \sqrt2/(d^{1/4}\|\Sigma\|_{op})$ and outside ZFB's condition "
        r"$\alpha^2\|\Sigma\|_{op}\sqrt d < 2$. The audit's witness $d = 1$, $\Sigma = 1/4$, $\alpha = 4$ lies "
        r"\emph{inside} the printed interval ($4 < 4\sqrt2$) but outside ZFB's condition ($\alpha^2\Sigma = 4 > 2$); "
        r"it converges too (the flow is $\dot x = \Sigma^2 x(1 - \Sigma x^2)$).",
    ],
    order=5.2,
)
