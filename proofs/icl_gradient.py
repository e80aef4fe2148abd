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

**Closed form.**  The four blocks are written once, in SymPy, for every d (verify.icl.symbols.GRAD_U11, ...), and the
statement's closed form is the directional derivative  tr(\nabla_{U_{11}}^T H) + h^T\nabla_u + k^T\nabla_a + \beta\partial_b
(linear in the direction (H, h, k, \beta)): the subject of the differences check, read as a gradient by its
coefficients, and the source of the generated mutants.

**Evidence.**  The closed form, evaluated exactly, against independent references: Richardson differences of
R_\infty, 40-digit differences of the quadrature of its definition (d = 1) and the definition differentiated under
the integral (d = 2, 3; verify.icl.references), itself checked against exact differences of the definition's
quadrature in the mismatched-covariance model (which no closed form here covers).  The numpy gradient
(verify.icl.gradient) is checked against the SymPy blocks at exact points.
Flows are integrated by verify.numerics.ode (DOP853 with stated rtol/atol; RK4 on a graded mesh).
"""

from __future__ import annotations

import functools

import numpy as np
import sympy as sp
from mpmath import mp

from verify.icl.gradient import (
    balance,
    flow_trajectory,
    icl_risk_gradient,
    icl_risk_gradient_fd,
    invariant_flow_endpoints,
    paper_flow as paper_flow_np,
    sum_of_squares,
)
from verify.icl.references import (
    REF_DPS, CLAIM_DIMS, claim_grid, claim_values, float_point, gradient_definition, icl_risk_gradient_quadrature_fd,
    random_point, task_moments,
)
from verify.icl.mismatch import float_matrix, mismatch_gradient_differences, mismatch_point
from verify.icl.risk import _c0_and_M, _sigma, _uv, bayes_point, invariant_point, toeplitz_sigma
from verify.icl.symbols import (
    icl_blocks_explicit, icl_symbols, risk_infinite_from_blocks, s, sum_of_squares_form, swap, swap_symbols,
)
from verify.kernel.catalogue import cayley_hamilton_3, vanishing_up_to
from verify.kernel.mutate import to_formula
from verify.kernel.claim import ClaimPoint, ClaimSpec
from verify.kernel.compare import relative_error
from verify.kernel.derivation import Derivation, maps, polynomial_equal, polynomial_gradient
from verify.kernel.evidence import agreement, bound, rejection
from verify.kernel.verdict import Finding
from verify.kernel.statement import Mutant, Statement
from verify.numerics.strategies import random_covariance, random_matrix
from verify.symbolic import explicit_at, symbolic_matrix
from verify.icl import symbols as sy

# ------------------------------------------------------------------------------ the closed forms (SymPy)


def gradient_blocks(U11, u, a, b, Sigma):
    r"""The closed-form gradient blocks ($\nabla_{U_{11}}, \nabla_u, \nabla_a, \partial_b$) at explicit blocks: the
    general-d forms :data:`verify.icl.symbols.GRAD_U11`, ``GRAD_U``, ``GRAD_A``, ``GRAD_B`` evaluated there."""
    k = Sigma.shape[0]
    values = {sy.U11: U11, sy.u: u, sy.a: a, sy.b: b, sy.Sigma: Sigma}
    out = [explicit_at(g, sy.d, k, sy.SYM, values, expand=False) for g in (sy.GRAD_U11, sy.GRAD_U, sy.GRAD_A, sy.GRAD_B)]
    as_matrix = lambda x, shape: x if isinstance(x, sp.MatrixBase) else sp.Matrix(*shape, [x])  # noqa: E731
    return as_matrix(out[0], (k, k)), as_matrix(out[1], (k, 1)), as_matrix(out[2], (k, 1)), out[3]


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


# ------------------------------------------------------------------------------ evidence: the gradient
# References never call the formula under test: the numpy kernel is compared with the SymPy blocks above at exact
# points; the gradient's reference differentiates R_\infty (its established closed form; at d = 1..3 the
# definition).


def gradient_points(rng, dims=range(1, 7), per_dim: int = 2, quadrature_dims=(1,), definition_dims=(2, 3)) -> list[dict]:
    r"""Random (U, V, \Sigma, s) at each d in ``dims`` (``per_dim`` each; reference: Richardson differences of the
    closed form R_\infty), one point per d in ``quadrature_dims`` (reference: 40-digit differences of the
    quadrature of the definition; 3^{2d+1} mpmath nodes per evaluation, 1.3 s at d = 2, so d = 1 by default) and
    one per d in ``definition_dims`` (reference: the definition differentiated under the integral on the exact
    float64 Gauss-Hermite rule; milliseconds)."""
    refs = ([(d, "closed form") for d in dims for _ in range(per_dim)] + [(d, "quadrature") for d in quadrature_dims]
            + [(d, "definition") for d in definition_dims])
    return [_gradient_point(d, ref, rng) for d, ref in refs]


def _gradient_point(d: int, ref: str, rng) -> dict:
    S = random_covariance(d, rng)
    U, V = random_matrix(d + 1, rng, 0.7), random_matrix(d + 1, rng, 0.7)
    return {"dim": d, "U": U, "V": V, "Sigma": S, "noise": float(rng.uniform(0.0, 0.5)), "reference": ref,
            "label": f"d={d} ({ref})"}


def gradient_of(formula):
    """The subject p -> formula(U, V, \\Sigma, s) (a gradient formula, or a slip of it)."""
    return lambda p: formula(p["U"], p["V"], p["Sigma"], p["noise"])


def gradient_reference(p: dict) -> tuple:
    """The independent reference of a gradient point (see :func:`gradient_points`)."""
    if p["reference"] == "quadrature":
        return icl_risk_gradient_quadrature_fd(p["U"], p["V"], p["Sigma"], p["noise"])
    if p["reference"] == "definition":
        return gradient_definition(p["U"], p["V"], p["Sigma"], p["noise"])
    return icl_risk_gradient_fd(p["U"], p["V"], p["Sigma"], p["noise"], h=1e-2, richardson=True)


def relative_gap(p, reference, subject) -> float:
    """max |subject - reference| / max(1, max |reference|) (:func:`verify.kernel.compare.relative_error`)."""
    return float(relative_error(subject(p), reference))


def exact_gradient(p: dict) -> tuple:
    """The SymPy blocks of :func:`gradient_blocks` evaluated exactly at an exact point, as float64 (gU, gV)."""
    k = p["dim"]
    G = assemble(*gradient_blocks(*icl_blocks_explicit(p["U"], p["V"], k), sp.Matrix(p["Sigma"])), k).subs(s, p["s"])
    return np.array(G[:, :k + 1].tolist(), dtype=float), np.array(G[:, k + 1:].tolist(), dtype=float)


def kernel_of(formula):
    """The numpy gradient (or a slip of it) at the float64 values of an exact point."""
    return lambda p: formula(*float_point(p))


def form_gradient(expr):
    """The subject: a general-d SymPy form linear in the direction (the closed form :data:`GRADIENT_FORM`, or a
    slip of it) read as the gradient (gU, gV) at a point (:func:`verify.icl.symbols.directional_blocks`)."""
    return lambda p: sy.directional_blocks(p["U"], p["V"], p["Sigma"], p["noise"], expr)


GRADIENT_FORM = sy.GRADIENT_FORM
r"""The statement's closed form: the directional derivative tr(\nabla_{U_{11}}^T H) + h^T\nabla_u + k^T\nabla_a + \beta\partial_b."""
_KAPPA_TERM = 2 * sy.trace(sy.Sigma * sy.Sigma) * sy.b**2 * sy.Sigma * sy.u
_M_NOT_T = sy.Sigma * sy.a * sy.E_VEC.T * sy.Sigma + sy.b * sy.Sigma * sy.M_ * sy.Sigma
FORM_SLIPS = {
    r"$\nabla_{U_{11}}$ transposed": GRADIENT_FORM.xreplace({sy.DIR_U11: sy.DIR_U11.T}),
    r"$\kappa b^2\Sigma u$ dropped from $\nabla_u$": GRADIENT_FORM - sy.DIR_U.T * _KAPPA_TERM,
    r"$2\nabla_a$": GRADIENT_FORM + sy.DIR_A.T * sy.GRAD_A,
    r"$M$ for $M^\top$ in $\nabla_{U_{11}}$": GRADIENT_FORM + sy.trace((_M_NOT_T - sy.GRAD_U11).T * sy.DIR_U11) * sy.I1,
}
"""Planted wrong gradients, written once in SymPy (the mutants of the checks whose subject is the closed form)."""


def _slip(variant: str):
    """A planted slip of the numpy kernel :func:`verify.icl.gradient.icl_risk_gradient` (same signature)."""
    def grad(U, V, Sigma, noise=0.0):
        S = _sigma(Sigma)
        d = S.shape[0]
        U, V = _uv(U, V, d)
        gU, gV = icl_risk_gradient(U, V, S, noise)
        U11, u, a, b = U[:d, :d], U[d, :d], V[d, :d], V[d, d]
        c0, M = _c0_and_M(U11, u, a, b, S, noise**2)
        e = c0 + b * np.trace(S) * u
        if variant == "transposed":
            gU[:d, :d] = gU[:d, :d].T
        elif variant == "dropped":
            gU[d, :d] -= 2.0 * np.trace(S @ S) * b * b * S @ u
        elif variant == "factor2":
            gV[d, :d] *= 2.0
        elif variant == "M":
            gU[:d, :d] = np.outer(S @ a, S @ e) + b * S @ M @ S
        elif variant == "U11T":
            gV[d, :d] = S @ U11.T @ S @ e + S @ M.T @ S @ u
        return gU, gV

    return grad


GRADIENT_SLIPS = {name: _slip(name) for name in ("transposed", "dropped", "factor2", "M", "U11T")}
r"""Planted slips of the numpy gradient kernel: \nabla_{U11} transposed, \kappa b^2\Sigma u dropped from \nabla_u,
2\nabla_a, M for M^T in \nabla_{U11}, U11^T for U11 in \nabla_a."""

_GRAD = form_gradient(GRADIENT_FORM)
_GRAD_MUTANTS = [Mutant(name, form) for name, form in FORM_SLIPS.items()]
_KERNEL_MUTANTS = [
    Mutant(r"$\nabla_{U_{11}}$ transposed", kernel_of(GRADIENT_SLIPS["transposed"])),
    Mutant(r"$\kappa b^2\Sigma u$ dropped from $\nabla_u$", kernel_of(GRADIENT_SLIPS["dropped"])),
    Mutant(r"$2\nabla_a$", kernel_of(GRADIENT_SLIPS["factor2"])),
    Mutant(r"$M$ for $M^\top$ in $\nabla_{U_{11}}$", kernel_of(GRADIENT_SLIPS["M"])),
    Mutant(r"$U_{11}^\top$ for $U_{11}$ in $\nabla_a$", kernel_of(GRADIENT_SLIPS["U11T"])),
]


def mismatched_points(rng) -> list[dict]:
    r"""Exact points of the mismatched model (prompt covariance \Sigma_p, query covariance \Sigma_q drawn
    independently, general U, V, s > 0), d = 1, 2."""
    return [dict(mismatch_point(k, rng), dim=k, label=f"d={k}, Sigma_q != Sigma_p") for k in (1, 2)]


def definition_gradient_mismatched(p: dict) -> tuple:
    """The reference :func:`verify.icl.references.gradient_definition` at a mismatched point (query covariance
    Sigma_q): float64, the definition differentiated under the integral."""
    return gradient_definition(float_matrix(p["U"]), float_matrix(p["V"]), float_matrix(p["Sigma_p"]), float(p["s"]),
                               query_cov=float_matrix(p["Sigma_q"]))


# ------------------------------------------------------------------------------ evidence: the flow and its conserved quantity


def _transposed_flow(A, b, Sigma):
    S2 = Sigma @ Sigma
    return b * S2 - b * b * Sigma @ A.T @ S2, paper_flow_np(A, b, Sigma)[1]


def _wrong_sign_flow(A, b, Sigma):
    Adot, _ = paper_flow_np(A, b, Sigma)
    S2 = Sigma @ Sigma
    return Adot, float(-np.einsum("ij,ij->", A, S2) - b * np.einsum("ij,ij->", A, S2 @ A @ Sigma))


def _swapped_flow(A, b, Sigma):
    S2 = Sigma @ Sigma
    return b * S2 - b * b * Sigma @ A @ S2, paper_flow_np(A, b, Sigma)[1]


FLOW_SLIPS = {
    "transposed": _transposed_flow,   # b\Sigma^2 - b^2 \Sigma A^T \Sigma^2
    "wrong sign": _wrong_sign_flow,   # \dot b = -tr(A^T\Sigma^2) - b tr(A^T\Sigma^2 A\Sigma)
    "swapped": _swapped_flow,         # \Sigma A \Sigma^2 for \Sigma^2 A \Sigma
}
"""Planted slips of the printed flow (the signature of :func:`verify.icl.gradient.paper_flow`)."""


def flow_points(rng, dims=(2, 3, 4)) -> list[dict]:
    """Random \\Sigma, non-symmetric A and b in [0.5, 1.5] at each d."""
    return [{"dim": d, "Sigma": random_covariance(d, rng), "A": random_matrix(d, rng), "b": float(rng.uniform(0.5, 1.5))}
            for d in dims]


def flow_reference(p: dict) -> np.ndarray:
    r"""-\nabla R_\infty at U = diag(A, 0), V = b e e^T in the coordinates (vec A, b), by Richardson differences of
    the closed form R_\infty (never a flow formula)."""
    d = p["Sigma"].shape[0]
    fU, fV = icl_risk_gradient_fd(*invariant_point(p["A"], p["b"], d), p["Sigma"], h=1e-2, richardson=True)
    return np.concatenate([-fU[:d, :d].ravel(), [-fV[d, d]]])


def flow_discrepancy(p: dict, reference: np.ndarray, flow) -> float:
    r"""Relative difference (:func:`verify.kernel.compare.relative_error`) between flow(A, b, \Sigma) and
    -\nabla R_\infty (:func:`flow_reference`)."""
    Adot, bdot = flow(p["A"], p["b"], p["Sigma"])
    return float(relative_error(np.concatenate([np.asarray(Adot).ravel(), [bdot]]), reference))


def trajectory_points(rng, dims=(2, 3, 4), t_end: float = 20.0) -> list[dict]:
    """The generic trajectories of the balance checks: Toeplitz(0.5) \\Sigma, A0 = A/2 with A non-symmetric
    Gaussian, b0 in [0.5, 1]."""
    return [{"dim": d, "Sigma": toeplitz_sigma(d, 0.5), "A0": 0.5 * random_matrix(d, rng),
             "b0": float(rng.uniform(0.5, 1.0)), "t_end": t_end} for d in dims]


def conservation_drift(p: dict, subject, rtol: float = 1e-13, atol: float = 1e-15) -> tuple[float, float, int]:
    r"""(drift, allowed, steps) of the quantity Q along the flow, subject = (flow, Q), Q one of
    :func:`verify.icl.gradient.balance`, :func:`verify.icl.gradient.sum_of_squares`.

    drift = max_t |Q(y(t)) - Q(y(0))| along :func:`verify.icl.gradient.flow_trajectory`.  Allowed = what the
    integrator's stated tolerance permits for an exactly conserved Q: the exact flow keeps Q, so Q(y_N) - Q(y_0)
    is the sum over steps of Q(y_{k+1}) - Q(\phi_h(y_k)), each at most ||\nabla Q|| ||le_k|| with the local error
    ||le_k||_2 <= \sqrt n max_i (atol + rtol |y_{k+1,i}|) (the RMS error test) and ||\nabla Q|| = 2 ||y|| for
    Q = ||A||^2 -+ b^2; no error amplification enters (Q is conserved from every state)."""
    flow, Q = subject
    path = flow_trajectory(flow, p["A0"], p["b0"], p["Sigma"], p["t_end"], rtol, atol)
    Y = path.y
    q = Q(Y)
    drift = float(np.abs(q - q[0]).max())
    per_step = 2.0 * np.linalg.norm(Y[1:], axis=1) * np.sqrt(Y.shape[1]) * (atol + rtol * np.abs(Y[1:]).max(axis=1))
    return drift, float(per_step.sum()), len(path.t) - 1


def drift_ratio(p: dict, subject) -> float:
    """Drift of Q in units of the allowed drift (:func:`conservation_drift`): <= 1 for a conserved Q."""
    drift, allowed, _ = conservation_drift(p, subject)
    return drift / allowed


def relative_change(p: dict, subject) -> float:
    """max_t |Q(t) - Q(0)| / |Q(0)| along the trajectory of ``p``, subject = (flow, Q)."""
    flow, Q = subject
    q = Q(flow_trajectory(flow, p["A0"], p["b0"], p["Sigma"], p["t_end"]).y)
    return float(np.abs(q - q[0]).max() / max(abs(q[0]), 1e-300))


# ------------------------------------------------------------------------------ evidence: balanced flow -> (U*, V*)


def balanced_points(rng, Sigmas, alphas, t_end: float = 300.0, n_steps: int = 10000, grading: float = 3.0) -> list[dict]:
    r"""The paper's initialisation U(0) = \alpha diag(P, 0), V(0) = \alpha e e^T, P = \Theta\Theta^T / ||\Theta\Theta^T||_F
    (\Theta Gaussian), for each \Sigma (array, or callable rng -> array) and \alpha, with the flow's endpoint (U, V)
    at ``t_end`` (RK4 on a graded mesh; the flows of one \Sigma integrated together,
    :func:`verify.icl.gradient.invariant_flow_endpoints`)."""
    return [p for Sig in Sigmas for p in _balanced_batch(rng, Sig(rng) if callable(Sig) else Sig, alphas, t_end,
                                                         n_steps, grading)]


def _balanced_batch(rng, Sigma, alphas, t_end, n_steps, grading) -> list[dict]:
    S = np.asarray(Sigma, dtype=float)
    d = S.shape[0]
    Ps = [_direction(d, rng) for _ in alphas]  # d = 1: P = 1 whatever Theta, no draw
    A, b = invariant_flow_endpoints(np.array([a * P for a, P in zip(alphas, Ps)]), np.array([float(a) for a in alphas]),
                                    S, t_end, n_steps, grading)
    return [{"dim": d, "Sigma": S, "alpha": float(a), "P": P, "label": f"d={d}, alpha={a}",
             "endpoint": invariant_point(Ak, bk, d)} for a, P, Ak, bk in zip(alphas, Ps, A, b)]


def _direction(d: int, rng) -> np.ndarray:
    Theta = np.ones((1, 1)) if d == 1 else rng.standard_normal((d, d))
    P = Theta @ Theta.T
    return P / np.linalg.norm(P)


def balanced_limit_distance(p: dict, limit) -> float:
    r"""Relative distance of the flow's endpoint to limit(\Sigma) = (U_\star, V_\star):
    max(max|U - U_\star| / max|U_\star|, |V_{d+1,d+1} - V_{\star,d+1,d+1}| / |V_{\star,d+1,d+1}|)."""
    d = p["dim"]
    U, V = p["endpoint"]
    Us, Vs = limit(p["Sigma"])
    return float(max(np.abs(U - Us).max() / np.abs(Us).max(), abs(V[d, d] - Vs[d, d]) / abs(Vs[d, d])))


def _limit_slip(power_U: float, power_V: float):
    """A planted slip of :func:`verify.icl.risk.bayes_point` (same signature):
    U_* = tr(Sigma^-2)^power_U diag(Sigma^-1, 0), V_* = tr(Sigma^-2)^power_V e e^T."""
    def limit(Sigma):
        S = _sigma(Sigma)
        Si = np.linalg.inv(S)
        Si = (Si + Si.T) / 2
        t = np.trace(Si @ Si)
        return invariant_point(Si * t**power_U, t**power_V, S.shape[0])

    return limit


LIMIT_SLIPS = {"U+1/4": _limit_slip(0.25, 0.25), "swapped": _limit_slip(0.25, -0.25), "no trace": _limit_slip(0.0, 0.0)}
"""Planted wrong limit points: U_* with tr(Sigma^-2)^{+1/4}; the exponents of U_*, V_* swapped; no trace factor."""

_LIMIT_MUTANTS = [
    Mutant(r"$U_\star$ with $\mathrm{tr}(\Sigma^{-2})^{+1/4}$", LIMIT_SLIPS["U+1/4"]),
    Mutant(r"exponents of $U_\star$, $V_\star$ swapped", LIMIT_SLIPS["swapped"]),
    Mutant(r"no trace factor", LIMIT_SLIPS["no trace"]),
]
_CONSERVED = (paper_flow_np, balance)

CHECKS = [
    agreement("gradient-vs-fd", _GRAD, gradient_reference, lambda rng: gradient_points(rng, per_dim=1), digits=11,
              kind="float64", adapter=form_gradient,
              mutants=_GRAD_MUTANTS, reference_name="differences of $\\mathcal R_\\infty$ (of its definition at d = 1..3)",
              description=r"closed-form gradient vs Richardson differences of $\mathcal R_\infty$ (d = 1..6), 40-digit "
                          r"differences of the quadrature of its definition (d = 1) and the definition differentiated "
                          r"under the integral on the exact Gauss-Hermite rule (d = 2, 3)"),
    agreement("numpy-kernel-vs-closed-form", kernel_of(icl_risk_gradient), exact_gradient,
              lambda rng: [random_point(k, rng) for k in (1, 2, 3, 4, 5)], digits=13, kind="float64",
              mutants=_KERNEL_MUTANTS, reference_name="the SymPy gradient blocks evaluated exactly",
              description=r"the numpy gradient kernel (verify.icl.gradient) vs the statement's SymPy blocks evaluated "
                          r"in exact arithmetic at rational points, d = 1..5 (general $U$, $V$, $s > 0$)"),
    agreement("definition-gradient-second-route", definition_gradient_mismatched, mismatch_gradient_differences,
              mismatched_points, digits=12, kind="float64",
              reference_name="exact central differences of the 40-digit quadrature of the definition",
              description=r"the reference 'definition differentiated under the integral' (verify.icl.references."
                          r"gradient_definition) against central differences (exact: the risk is quadratic in each entry) "
                          r"of the 40-digit Gauss-Hermite of the definition, in the model with query covariance "
                          r"$\Sigma_q \ne \Sigma_p$ (Sec. 7; d = 1, 2), which no closed form of this statement covers: a "
                          r"reference that silently returned the closed form would fail here",
              mutants=[Mutant("the reference returns the closed-form gradient (query covariance ignored)",
                              lambda p: icl_risk_gradient(float_matrix(p["U"]), float_matrix(p["V"]),
                                                          float_matrix(p["Sigma_p"]), float(p["s"]))),
                       Mutant("the reference without the label noise",
                              lambda p: definition_gradient_mismatched(dict(p, s=0)))]),
    rejection("wrong-gradient-rejected", gradient_of(GRADIENT_SLIPS["transposed"]), relative_gap,
              lambda rng: gradient_points(rng, dims=range(2, 7), per_dim=1, quadrature_dims=()),
              prepare=lambda p, rng: gradient_reference(p),
              threshold=1e-6, unit="min rel. error", what="relative error of the transposed gradient",
              mutants=[Mutant("the closed-form gradient (numpy kernel)", gradient_of(icl_risk_gradient))],
              description=r"the same comparison rejects $\nabla_{U_{11}}$ transposed (d = 2..6)"),
    rejection("transposed-flow-rejected", FLOW_SLIPS["transposed"], flow_discrepancy, flow_points,
              prepare=lambda p, rng: flow_reference(p), threshold=1e-6, unit="rel. difference",
              what=r"distance to $-\nabla\mathcal R_\infty$", mutants=[Mutant("the printed flow", paper_flow_np)],
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
# R_inf, differentiated under the integral (verify.icl.references.task_moments), never the blocks above.

_E, _M = "(U11.T*Sigma*a + b*s**2*u + b*trace(Sigma)*u)", "(b*U11.T*Sigma + u*a.T*Sigma - I)"
GRAD_U11 = f"Sigma*a*{_E}.T*Sigma + b*Sigma*{_M}.T*Sigma"
GRAD_B = f"(s**2 + trace(Sigma))*u.T*Sigma*{_E} + 2*trace(Sigma*Sigma)*b*u.T*Sigma*u + trace({_M}.T*Sigma*U11.T*Sigma)"
FLOW_U11, FLOW_B = "b**2*Sigma**2*U11*Sigma - b*Sigma**2", "b*trace(U11.T*Sigma**2*U11*Sigma) - trace(U11.T*Sigma**2)"


def common_mutants(formula: str, scalar: bool) -> tuple:
    """Wrong forms every gradient claim must reject: blocks a <-> u swapped, a factor 1/2, a term vanishing only at
    d <= 3, the Cayley-Hamilton polynomial of a 3x3 Sigma (its trace for a scalar claim), the noise b s^2 u dropped
    from e = c0 + b tr(Sigma) u, the cross term b tr(Sigma) u dropped, a relative offset 1e-12."""
    ch = cayley_hamilton_3("Sigma")
    return (swap_symbols(formula, "a", "u"), f"(1/2)*({formula})",
            f"{formula} + {vanishing_up_to(3, 'Sigma')}*{'trace(Sigma)' if scalar else 'Sigma'}",
            f"{formula} + {'trace(' + ch + ')' if scalar else ch}", swap(formula, " + b*s**2*u", ""),
            swap(formula, " + b*trace(Sigma)*u", ""), f"(1 + 1e-12)*({formula})")


GRAD_U11_WRONG = common_mutants(GRAD_U11, scalar=False) + (
    to_formula(sy.GRAD_U11.T, {"U_11": "U11"}),  # the gradient transposed
    to_formula(_M_NOT_T, {"U_11": "U11"}),  # M for M^T (the slip of FORM_SLIPS)
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


_BLOCKS = ("U11", "u", "a", "b")
_COVERAGE = (f"d = {', '.join(map(str, CLAIM_DIMS))}; per d: generic U, V (u, a != 0), s > 0 and s = 0 (noiseless),\n"
             "and on the invariant subspace U = diag(A, 0), V = b e e^T with s > 0 and s = 0\n"
             "(invariant-subspace[, noiseless]); Sigma random SPD, non-diagonal for d >= 2; exact entries.\n"
             "reference: the gradient of the definition, differentiated under the integral, at every d\n"
             "(w by the exact 3-node rule, the query by its second moments: verify.icl.references.task_moments);\n"
             "50 digits, tolerance 1e-20.")


def gradient_claim_points(seed: int, block: str) -> tuple:
    """Points of ``icl-gradient-<block>``: the exact points of the ICL claims (verify.icl.references.claim_grid, the
    grid of the risk claim); the reference is the block of the definition's gradient (differentiation under the
    integral, verify.icl.references.task_moments)."""
    if block not in _BLOCKS:
        raise ValueError(f"block: expected one of {', '.join(_BLOCKS)}, got {block!r}")
    return tuple(_gradient_claim_point(k, cases, pt, block) for k, cases, pt in claim_grid(seed))


def _gradient_claim_point(k: int, cases, pt: dict, block: str) -> ClaimPoint:
    with mp.workdps(REF_DPS):
        g = task_moments(pt["U"], pt["V"], pt["Sigma"], pt["s"], gradient=True)
        vals = claim_values(pt["U"], pt["V"], pt["Sigma"], pt["s"])
        gU, gV = g["gU"], g["gV"]
        ref = {"U11": gU[:k, :k], "u": gU[k, :k].T, "a": gV[k, :k].T, "b": gV[k, k]}[block]
    return ClaimPoint(k, vals, ref, cases)


def _gradient_claim(block, example, wrong, equivalents, conditional, what, shape):
    return ClaimSpec(id=f"icl-gradient-{block}", statement_id="icl-gradient", summary=what,
                     symbols_help=_HELP, example=example, expected_shape=shape,
                     points=functools.partial(gradient_claim_points, block=block), tolerance=1e-20, dps=40,
                     wrong_examples=wrong, equivalents=equivalents, assumptions=_ASSUME,
                     conditional_examples=conditional, coverage=_COVERAGE,
                     domains={"U11": "matrix", "u": "vector", "a": "vector", "b": "scalar", "s": "scalar", "Sigma": "spd",
                              "I": "identity"},
                     hypotheses={"invariant-subspace": {"u": "0*u", "a": "0*a"}, "noiseless": {"s": "0"}})


CLAIMS = [
    _gradient_claim("U11", GRAD_U11, GRAD_U11_WRONG, GRAD_U11_EQUIVALENTS, ((FLOW_U11, ("invariant-subspace",)),),
                    "dR_inf/dU11, the d x d matrix of partial derivatives in the entries of U[:d,:d]", lambda k: (k, k)),
    _gradient_claim("b", GRAD_B, GRAD_B_WRONG, GRAD_B_EQUIVALENTS, ((FLOW_B, ("invariant-subspace",)),),
                    "dR_inf/db, b = V[d,d] (a scalar)", lambda k: ()),
]

STATEMENT = Statement(
    id="icl-gradient",
    finding=Finding(kind="verified", summary="∇R∞ in closed form; on the invariant subspace the paper's flow Ȧ = bΣ² − b²Σ²AΣ, ḃ = tr(AᵀΣ²) − b tr(AᵀΣ²AΣ) is −∇R∞ and ‖A‖F² − b² is conserved"),
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
    closed_form=GRADIENT_FORM,
    domains={"U_11": "matrix", "u": "vector", "a": "vector", "b": "scalar", "s": "scalar", "Sigma": "spd", "I": "identity",
             "H": "matrix", "h": "vector", "k": "vector", "beta": "scalar"},
    formula_names={"U_11": "U11"},
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
        r"$\alpha^2\|\Sigma\|_{op}\sqrt d < 2$. The witness $d = 1$, $\Sigma = 1/4$, $\alpha = 4$ of the third-party "
        r"audit of the paper (\url{github.com/MachineLearning-Nerd/icml26-repro-MvuCgK0Qns-softmax-linear-attention}) "
        r"lies "
        r"\emph{inside} the printed interval ($4 < 4\sqrt2$) but outside ZFB's condition ($\alpha^2\Sigma = 4 > 2$); "
        r"it converges too (the flow is $\dot x = \Sigma^2 x(1 - \Sigma x^2)$).",
    ],
    order=5.2,
)
