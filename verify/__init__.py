r"""softmax-verify: executable mathematics for *Softmax as Linear Attention in the Large-Prompt Regime*
(Boursier & Boyer, arXiv 2512.11784) and the results it leans on.

The public names, by section (each is imported from its module the first time it is used, so ``import verify``
loads nothing else; the modules named are where the documentation lives).  The subpackages (``verify.kernel``,
``verify.numerics``, ``verify.icl``, ...) load on first access as well.

Measures (:mod:`verify.numerics.measures`)
    Gaussian               N(m, Gamma)
    isotropic_gaussian     N(0, sigma^2 I_d)
    Rademacher             independent +-s coins in each coordinate
    UniformCube            uniform on [-sigma sqrt3, sigma sqrt3]^d
    GaussianMixture        (1/2) N(m, s^2 I) + (1/2) N(-m, s^2 I)
    Empirical              the empirical measure of a prompt (L x d tokens)

Attention on a prompt and in closed form (:mod:`verify.numerics.attention`)
    softmax_attention      T[mu_L](z): softmax attention of a query on L tokens
    linear_attention       the linear attention of the same prompt
    gaussian_limit         T[N(m, Gamma)](z) = V m + V Gamma K^T Q z (Lemma 2.1)
    linear_limit           the linear-attention limit V (Gamma + m m^T) K^T Q z

Quadrature and certified enclosures (:mod:`verify.numerics.quadrature`, :mod:`verify.numerics.certified`)
    attention_quadrature        the definition of T[N(m, Gamma)](z) by Gauss-Hermite at high precision (mpmath)
    attention_quadrature_float  the same definition in float64 (trapezoid rule), any dimension
    attention_enclosure         Arb balls certified to contain T[N(m, Gamma)](z)
    gaussian_expectation        E f(X), X ~ N(m, Gamma), by tensor-product Gauss-Hermite

Monte Carlo (:mod:`verify.numerics.montecarlo`)
    Estimate               a mean with its standard error (and effective sample size)
    fit_rate               the exponent p of an estimate decaying like L^-p, with its confidence interval

In-context linear regression (:mod:`verify.icl.risk`, Sec. 5)
    gamma_w                Gamma_w, the token covariance of the noisy model
    icl_risk_infinite      R_inf(U, V) in closed form
    icl_risk_infinite_mc   R_inf by Monte Carlo
    icl_risk_mc            R_L by Monte Carlo at prompt length L
    icl_risk_gap_mc        R_L - R_inf by a paired estimator
    bayes_point            the limit of the gradient flow (Thm 5.1/5.2)
    invariant_point        (U, V) = (diag(A, 0), b e e^T) on the invariant subspace

Concentration, Props 3.1/3.4 (:mod:`verify.concentration`)
    concentration_error           E ||T[mu_L] - T[mu]||^2 by Monte Carlo
    concentration_error_gaussian  the same by an exact reduction (no token sampled)
    concentration_error_grad      the same error of the gradients in V or U (Prop 3.4)
    concentration_error_linear    the same error for linear attention (exactly c/L)
    sharp_exponent                alpha(sigma ||U||_op): the sharp rate L^-alpha

Claims (``verify claim``)
    check_claim            judge a candidate closed form of a registered claim: ACCEPTED or REJECTED

Writing a statement (:mod:`verify.kernel`)
    Statement              a statement of the paper with its derivations and evidence
    Derivation             a machine-checked chain from the definition to the closed form
    Mutant                 a planted wrong subject a check must reject
    agreement, enclosure, z_test, rate, rejection, bound, trajectory
                           the evidence constructors, one per kind (:mod:`verify.kernel.evidence`)

>>> import numpy as np, verify
>>> K = Q = V = np.eye(2)
>>> verify.gaussian_limit(K, Q, V, [1.0, 0.0], np.eye(2), [0.0, 1.0])
array([1., 1.])
>>> [float(x) for x in verify.attention_quadrature(K, Q, V, [1.0, 0.0], np.eye(2), [0.0, 1.0], dps=30)]
[1.0, 1.0]
>>> verify.check_claim("gaussian-limit", "V*(m + Gamma*K.T*Q*z)").accepted
True
"""

from __future__ import annotations

import importlib

_HOMES = {
    "verify.numerics.measures": ("Gaussian", "isotropic_gaussian", "Rademacher", "UniformCube", "GaussianMixture",
                                 "Empirical"),
    "verify.numerics.attention": ("softmax_attention", "linear_attention", "gaussian_limit", "linear_limit"),
    "verify.numerics.quadrature": ("attention_quadrature", "attention_quadrature_float", "gaussian_expectation"),
    "verify.numerics.certified": ("attention_enclosure",),
    "verify.numerics.montecarlo": ("Estimate", "fit_rate"),
    "verify.icl.risk": ("gamma_w", "icl_risk_infinite", "icl_risk_infinite_mc", "icl_risk_mc", "icl_risk_gap_mc",
                        "bayes_point", "invariant_point"),
    "verify.concentration.montecarlo": ("concentration_error", "concentration_error_gaussian",
                                        "concentration_error_grad", "concentration_error_linear"),
    "verify.concentration.exponent": ("sharp_exponent",),
    "verify.kernel.statement": ("Statement", "Mutant"),
    "verify.kernel.derivation": ("Derivation",),
    "verify.kernel.evidence": ("agreement", "enclosure", "z_test", "rate", "rejection", "bound", "trajectory"),
}
_HOME_OF = {name: module for module, names in _HOMES.items() for name in names}
_SUBPACKAGES = ("kernel", "numerics", "symbolic", "icl", "concentration", "gaussian", "studies", "reports")

__all__ = [*_HOME_OF, "check_claim"]


def __getattr__(name: str):
    """A public name, imported from its module on first use (PEP 562); a subpackage (``verify.kernel``, ...) on
    first access; ``__version__`` from the metadata."""
    value: object
    if name == "__version__":
        value = _version()
    elif name in _HOME_OF:
        value = getattr(importlib.import_module(_HOME_OF[name]), name)
    elif name in _SUBPACKAGES:
        value = importlib.import_module(f"{__name__}.{name}")
    else:
        raise AttributeError(f"module 'verify' has no attribute {name!r}")
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__, *_SUBPACKAGES, "__version__"})


def _version() -> str:
    """The installed distribution's version; in a source tree without metadata, the one pyproject.toml states."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("softmax-verify")
    except PackageNotFoundError:
        from pathlib import Path

        pyproject = Path(__file__).resolve().parents[1] / "pyproject.toml"
        try:
            import tomllib

            return str(tomllib.loads(pyproject.read_text())["project"]["version"])
        except (OSError, KeyError, ValueError):
            return "0+unknown"


def check_claim(claim_id: str, formula: str, seed: int = 0, assume=()):
    """Check a candidate closed form for the claim ``claim_id``; returns a ``Verdict``
    (``.accepted``, ``.worst_error``).  ``assume`` (a name or names from the claim's ``assumptions``)
    restricts the points to a hypothesis.  Unknown ids or hypotheses, unparsable or wrongly shaped
    formulas raise ``ValueError``."""
    from verify._validation import seed_value
    from verify.kernel.claim import check_formula
    from verify.kernel.registry import claim_specs

    seed = seed_value(seed, "seed")
    specs = claim_specs()
    if not isinstance(claim_id, str) or claim_id not in specs:
        raise ValueError(f"claim_id: unknown {claim_id!r}; known: {', '.join(specs)}")
    return check_formula(specs[claim_id], formula, seed=seed, assume=assume)
