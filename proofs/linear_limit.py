r"""Companion of Lemma 2.1 (the paper's remark "softmax coincides with linear attention"): normalised linear
attention on a Gaussian prompt.

**Statement.**  For \mu = N(m, \Gamma) on R^d and any K, Q, V, z,

    T_lin[\mu](z) = V \int <Kz',Qz> z' d\mu(z') = V (\Gamma + m m^T) K^T Q z,

which equals the softmax limit of Lemma 2.1 (V m + V \Gamma K^T Q z) when m = 0 and differs from it when
V m \neq 0:  T - T_lin = V m (1 - m^T K^T Q z).

**Proof.**  <Kz',Qz> z' = z' z'^T K^T Q z is quadratic in z'; its expectation under N(m, \Gamma) is computed by
Isserlis' theorem (z' = m + w, w ~ N(0, \Gamma)), then V is applied.  The difference is matrix algebra on the
two closed forms.
"""

from __future__ import annotations

import mpmath
import numpy as np
import sympy as sp
from mpmath import mp

from verify.gaussian.references import DIMS, linear_reference, parameter_points, points_coverage
from verify.kernel.catalogue import cayley_hamilton_3, claim_formula, symbols_help, vanishing_up_to
from verify.kernel.claim import ClaimPoint, ClaimSpec
from verify.kernel.derivation import Derivation, maps
from verify.kernel.evidence import Mutant, agreement, bound, digits_between
from verify.kernel.verdict import Finding
from verify.kernel.statement import Statement
from verify.numerics import attention
from verify.numerics.closed_form import evaluate_closed_form, float_closed_form
from verify.numerics.quadrature import attention_quadrature, linear_attention_quadrature, mp_matrix
from verify.numerics.strategies import attention_point
from verify.symbolic import explicit_at, symbolic_matrix, symbolic_vector, wick_expectation

DPS = 40
DIGITS_REQUIRED = 30

# ------------------------------------------------------------------------------------ the statement

n = sp.Symbol("d", integer=True, positive=True)
K, Q, V, Gamma = (sp.MatrixSymbol(s, n, n) for s in ("K", "Q", "V", "Gamma"))
m, z = (sp.MatrixSymbol(s, n, 1) for s in ("m", "z"))
SYMBOLS = (K, Q, V, Gamma, m, z)

LINEAR_LIMIT = V * (Gamma + m * m.T) * K.T * Q * z
"""V (\\Gamma + m m^T) K^T Q z."""

SOFTMAX_LIMIT = sp.MatAdd(V * m, V * Gamma * K.T * Q * z, evaluate=False)
"""Lemma 2.1's closed form (restated here: no proof imports another proof)."""

DIFFERENCE = V * m * (sp.Identity(1) - m.T * K.T * Q * z)
"""T - T_lin = V m (1 - m^T K^T Q z)."""

LINEAR_TEX = r"T^{K,Q,V}_{\mathrm{lin}}[\mathcal N(m,\Gamma)](z) = V \left(\Gamma + m m^{T}\right) K^{T} Q z"
DIFFERENCE_TEX = r"T[\mu](z) - T_{\mathrm{lin}}[\mu](z) = V m \left(1 - m^{T} K^{T} Q z\right)"


def closed_form(expr, params: dict, dps: int = DPS) -> mpmath.matrix:
    """A SymPy expression in K, Q, V, Gamma, m, z at numeric ``params``, in ``dps`` digits."""
    return evaluate_closed_form(expr, SYMBOLS, params, dps)


# ------------------------------------------------------------------------------------ derivations


def _explicit(dim: int) -> dict:
    out = {s.name: symbolic_matrix(s.name, dim, dim, symmetric=s is Gamma) for s in (K, Q, V, Gamma)}
    out.update({s.name: symbolic_vector(s.name, dim) for s in (m, z)})
    out["zp"], out["w"] = symbolic_vector("zp", dim), symbolic_vector("w", dim)
    return out


def _column(e) -> sp.Matrix:
    return e if isinstance(e, sp.MatrixBase) else sp.Matrix([[e]])


def gaussian_expectation_map(e: dict):
    """E over z' ~ N(m, \\Gamma) of a polynomial in z': z' = m + w, w ~ N(0, \\Gamma), Isserlis (exact)."""
    shift = {zi: mi + wi for zi, mi, wi in zip(e["zp"], e["m"], e["w"])}
    return lambda expr: wick_expectation(sp.Matrix(expr).xreplace(shift), list(e["w"]), e["Gamma"])


def derivation_companion(dim: int) -> Derivation:
    """T_lin = V E_mu[<Kz',Qz> z'] = V (\\Gamma + m m^T) K^T Q z with explicit entries at d = ``dim``."""
    e = _explicit(dim)
    Kd, Qd, Vd, Gd, md, zd, zpd = (e[k] for k in ("K", "Q", "V", "Gamma", "m", "z", "zp"))
    score = ((Kd * zpd).T * (Qd * zd))[0, 0]
    d = Derivation(f"linear attention, explicit $d={dim}$: Isserlis", score * zpd,
                   start_tex=r"\langle K z', Q z\rangle\, z'", conclusion=_column(explicit_at(LINEAR_LIMIT, n, dim, symmetric=[Gamma])),
                   brief=dim > 1)
    d.step((Gd + md * md.T) * Kd.T * Qd * zd, r"$\mathbb E_\mu$ with $z' = m + w$, $w \sim \mathcal N(0,\Gamma)$ (Isserlis)",
           check=maps(r"$\mathbb E_{z' \sim \mathcal N(m,\Gamma)}$ by Isserlis", gaussian_expectation_map(e)),
           rhs_tex=r"\mathbb E_\mu[\langle Kz',Qz\rangle z'] = (\Gamma + m m^T) K^T Q z", label="isserlis")
    d.step(Vd * (Gd + md * md.T) * Kd.T * Qd * zd, r"$T_{\mathrm{lin}}[\mu](z) = V\,\mathbb E_\mu[\langle Kz',Qz\rangle z']$",
           check=maps("apply $V$", lambda x: Vd * x), rhs_tex=r"V (\Gamma + m m^T) K^T Q z", label="apply-V")
    return d


def derivation_difference() -> Derivation:
    """T - T_lin = V m (1 - m^T K^T Q z) for every d, from the two registered closed forms."""
    d = Derivation("softmax minus linear attention, general $d$", SOFTMAX_LIMIT - LINEAR_LIMIT,
                   start_tex=r"T[\mu](z) - T_{\mathrm{lin}}[\mu](z) = V m + V\Gamma K^T Q z - V(\Gamma + m m^T) K^T Q z",
                   conclusion=DIFFERENCE)
    d.step(V * m - V * m * m.T * K.T * Q * z, r"the $V \Gamma K^T Q z$ terms cancel", rhs_tex=r"V m - V m m^T K^T Q z",
           label="cancel")
    d.step(DIFFERENCE, r"factor $V m$ (a $1 \times 1$ factor $m^T K^T Q z$)", rhs_tex=r"V m \left(1 - m^T K^T Q z\right)",
           label="factor")
    return d


def derivations() -> list[Derivation]:
    return [derivation_companion(k) for k in (1, 2, 3)] + [derivation_difference()]


# --------------------------------------------------------------------------------------- evidence


def _args(p: dict) -> tuple:
    return p["K"], p["Q"], p["V"], p["m"], p["Gamma"], p["z"]


def _as_closed_form(expr):
    """The subject of the quadrature checks: ``expr`` in 40-digit mpmath at a point."""
    return lambda p: closed_form(expr, p)


def _as_float(expr):
    """A float64 subject: ``expr`` evaluated in numpy at a point."""
    return float_closed_form(expr, SYMBOLS)


QUADRATURE_DIMS = (1, 2, 3, 4, 5)
"""Dimensions of the quadrature points: up to d = 5, above the degree 4 of a trace polynomial that vanishes at d <= 3
(e_4), so no Cayley-Hamilton accident at small d can pass."""


def _points(rng) -> list:
    return [dict(attention_point(dim, rng), dim=dim) for dim in QUADRATURE_DIMS for _ in range(3)]


WRONG_FORMS = {
    "softmax form": SOFTMAX_LIMIT,
    "K for K^T": V * (Gamma + m * m.T) * K * Q * z,
    "m m^T dropped": V * Gamma * K.T * Q * z,
    "Gamma inverted": V * (Gamma.I + m * m.T) * K.T * Q * z,
}

QUADRATURE = agreement(
    "quadrature", subject=_as_closed_form(LINEAR_LIMIT),
    reference=lambda p: linear_attention_quadrature(*_args(p), dps=DPS), points=_points, digits=DIGITS_REQUIRED,
    dps=DPS, kind="quadrature", reference_name="exact Gauss-Hermite of the linear-attention definition",
    description="exact (3-node) Gauss-Hermite of the linear-attention definition vs V(Γ + m m^T)K^T Q z, 3 random points "
                "for each d = 1..5",
    mutants=[Mutant(k, _as_closed_form(v)) for k, v in WRONG_FORMS.items()], adapter=_as_closed_form)


def _separation_points(rng) -> list:
    pts = []
    for k in range(4):
        p = attention_point(2, rng)
        pts.append(dict(p, label=f"uncentred #{k}"))
        pts.append(dict(p, m=np.zeros(2), label=f"centred (m = 0) #{k}"))
    return pts


def _definitions(p: dict, rng) -> tuple:
    """Softmax and linear attention at ``p`` from their definitions, by quadrature (prepared once per point)."""
    with mp.workdps(DPS):
        return attention_quadrature(*_args(p), dps=DPS), linear_attention_quadrature(*_args(p), dps=DPS)


def _separation_digits(p: dict, definitions: tuple, subject) -> float:
    """Centred points: digits of agreement of the subject with the softmax definition.  Uncentred points: digits of
    agreement with the linear definition minus digits of agreement with the softmax definition: high only when the
    subject is the linear value and the two differ."""
    softmax, linear = definitions
    with mp.workdps(DPS):
        value = subject(p)
        if not np.any(p["m"]):
            return digits_between(value, softmax, cap=DPS)
        return digits_between(value, linear, cap=DPS) - digits_between(value, softmax, cap=DPS)


DIFFERS_WHEN_UNCENTRED = bound(
    "differs-when-uncentred", subject=_as_closed_form(LINEAR_LIMIT), figure=_separation_digits, prepare=_definitions,
    points=_separation_points,
    threshold=DIGITS_REQUIRED, relation=">=", unit="digits", kind="negative-control",
    what="centred: digits vs the softmax definition; uncentred: digits vs the linear definition minus digits vs the softmax one",
    description="m = 0: the linear limit agrees with softmax attention (quadrature); m != 0: it matches linear and not "
                "softmax attention (both by quadrature of the definitions)",
    mutants=[Mutant("linear limit differs at m = 0 (K for K^T)", _as_closed_form(WRONG_FORMS["K for K^T"])),
             Mutant("linear limit equal to the softmax one", _as_closed_form(SOFTMAX_LIMIT))], adapter=_as_closed_form)


def _kernel_points(rng) -> list:
    return [dict(attention_point(dim, rng, 0.5), dim=dim) for dim in range(1, 9) for _ in range(3)]


NUMPY_KERNEL = agreement(
    "numpy-kernel", subject=lambda p: attention.linear_limit(*_args(p)), reference=_as_closed_form(LINEAR_LIMIT),
    points=_kernel_points, digits=13, kind="float64", reference_name="the SymPy closed form at 40 digits",
    description="the float64 kernel verify.linear_limit (the public API) vs the statement's SymPy closed form, d = 1..8",
    mutants=[Mutant(f"kernel with {k}", _as_float(WRONG_FORMS[k])) for k in ("K for K^T", "m m^T dropped")])

# ------------------------------------------------------------------------------- user claims

_TRUE = "V*(Gamma + m*m.T)*K.T*Q*z"
_SOFTMAX = "V*m + V*Gamma*K.T*Q*z"



def claim_points(seed: int) -> tuple[ClaimPoint, ...]:
    """The points of ``verify claim linear-limit``: the parameters of
    :func:`verify.gaussian.references.parameter_points` (the softmax claim's, d = 1..5), each with its reference
    from the definition (:func:`verify.gaussian.references.linear_reference`, exact)."""
    with mp.workdps(DPS):
        return tuple(ClaimPoint(len(p["m"]), {k: mp_matrix(v) for k, v in p.items()},
                                mpmath.matrix(linear_reference(p, DPS)), cases) for p, cases in parameter_points(seed))


COVERAGE = (points_coverage() + "\nreference: the definition V E[<Kz',Qz> z'] by the exact 3-node tensor Gauss-Hermite\n"
            "rule at every d (verify.numerics.quadrature.linear_attention_quadrature);\n"
            "never a closed form; 40 digits, tolerance 1e-20 at every d.")

LINEAR_CLAIM = ClaimSpec(
    id="linear-limit",
    statement_id="linear-limit",
    domains={"K": "matrix", "Q": "matrix", "V": "matrix", "Gamma": "spd", "m": "vector", "z": "vector"}, hypotheses={"centred": {"m": "0*m"}},
    summary="closed form of T_lin[N(m, Gamma)](z), linear attention on a Gaussian prompt",
    symbols_help=symbols_help(SYMBOLS, DIMS, example=_TRUE),
    example=_TRUE,
    expected_shape=lambda d: (d, 1),
    points=claim_points,
    assumptions={"centred": "m = 0 (the tokens are centred)"},
    coverage=COVERAGE,
    equivalents=(
        "V*Gamma*K.T*Q*z + V*m*m.T*K.T*Q*z",                      # expanded
        "V*Gamma*K.T*Q*z + (m.T*K.T*Q*z)*V*m",                    # the 1 x 1 factor moved
        "V*Gamma*K.T*Q*z + trace(K.T*Q*z*m.T)*V*m",               # cyclic trace
        "(z.T*Q.T*K*(Gamma + m*m.T)*V.T).T", "V*(Gamma + m*m.T)*(Q.T*K).T*z",  # transposed
        "V*(Gamma*Gamma**-1*Gamma + m*m.T)*K.T*Q*z",              # inverse identity
        "0.5*(2*V*Gamma*K.T*Q*z + 2*V*m*m.T*K.T*Q*z)",            # exact decimals
        f"{_SOFTMAX} - V*m*(1 - m.T*K.T*Q*z)",                    # softmax limit minus T - T_lin
    ),
    wrong_examples=(
        claim_formula(WRONG_FORMS["K for K^T"]), "V*(Gamma + m*m.T)*K.T*Q.T*z",  # transposes
        "(Gamma + m*m.T)*V*K.T*Q*z",                              # V on the wrong side
        "V*Gamma*m*m.T*K.T*Q*z",                                  # the Gamma term dropped
        "V*(0.5*Gamma + m*m.T)*K.T*Q*z", "2*V*(Gamma + m*m.T)*K.T*Q*z",  # 1/2 <-> 1 <-> 2
        "V*(Gamma + 2*m*m.T)*K.T*Q*z", "V*(Gamma + 0.5*m*m.T)*K.T*Q*z",  # ... on m m^T: zero when m = 0
        "V*(Gamma**2 + m*m.T)*K.T*Q*z", claim_formula(WRONG_FORMS["Gamma inverted"]),  # Gamma^2, Gamma inverted
        "V*(Gamma + (m.T*m)*Gamma*Gamma**-1)*K.T*Q*z",            # |m|^2 I for m m^T: zero when m = 0, equal at d = 1
        f"{_TRUE} + {vanishing_up_to(3)}*V*m",                    # zero at d <= 3 (a product of traces)
        f"{_TRUE} + V*{cayley_hamilton_3()}*m",                   # zero at d <= 3 (Cayley-Hamilton)
        f"{_TRUE} + {vanishing_up_to(4)}*V*Gamma*K.T*Q*z",        # zero at d <= 4: only d = 5 sees it
        f"{_TRUE} + V*{cayley_hamilton_3()}*K.T*Q*z",
        f"{_TRUE} + (Gamma*V - V*Gamma)*K.T*Q*z",                 # zero when Gamma, V commute (e.g. both diagonal)
        f"{_TRUE} + V*m",                                         # zero when m = 0
        f"(1 + 1e-12)*{_TRUE}", f"{_TRUE} + 1e-12*V*m", f"{_TRUE} + 1e-15*V*Gamma*K.T*Q*z",  # relative offsets
        f"(1 + 1e-18)*{_TRUE}",
    ),
    conditional_examples=((claim_formula(WRONG_FORMS["m m^T dropped"]), ("centred",)),  # true for m = 0 only
                          (claim_formula(WRONG_FORMS["softmax form"]), ("centred",))),  # = softmax for m = 0 only
)

# ------------------------------------------------------------------------------------- statement

COMPANION = Statement(
    id="linear-limit",
    number="Lemma 2.1 (remark)",
    title="Normalised linear attention on a Gaussian prompt; equal to softmax only when centred",
    summary="T_lin[N(m,Γ)](z) = V(Γ + m m^T) K^T Q z; equals Lemma 2.1's limit iff V m = 0",
    source="Boursier & Boyer (arXiv 2512.11784), remark after Lemma 2.1 ('softmax coincides with linear attention')",
    statement_tex=LINEAR_TEX + r",\qquad " + DIFFERENCE_TEX,
    hypotheses_tex=[
        r"\mu = \mathcal N(m, \Gamma) \text{ on } \mathbb R^d,\ \Gamma \succeq 0",
        r"K, Q, V \in \mathbb R^{d\times d} \text{ arbitrary},\ z \in \mathbb R^d",
    ],
    derivations=derivations,
    checks=[QUADRATURE, DIFFERS_WHEN_UNCENTRED, NUMPY_KERNEL],
    claims=[LINEAR_CLAIM],
    closed_form=LINEAR_LIMIT, domains=LINEAR_CLAIM.domains,
    finding=Finding(kind="verified under hypotheses", summary="normalised linear attention on N(m, Γ) is z ↦ V(Γ + m mᵀ) Kᵀ Q z", form="it equals the softmax limit of Lemma 2.1 only when V m = 0, e.g. for centred tokens (m = 0)"),
    notes_tex=[r"``Softmax coincides with linear attention'' holds for centred Gaussians only: "
               r"$T - T_{\mathrm{lin}} = Vm(1 - m^T K^T Q z) \neq 0$ when $Vm \neq 0$. All ICL tokens are centred."],
    order=2.15,
)

STATEMENTS = [COMPANION]
