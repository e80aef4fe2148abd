"""softmax-verify: executable mathematics for *Softmax as Linear Attention in the Large-Prompt Regime*
(Boursier & Boyer, arXiv 2512.11784) and the results it leans on.

The stable public API:

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

__version__ = "0.1.0"

from verify.numerics.attention import gaussian_limit, linear_attention, linear_limit, softmax_attention
from verify.concentration.montecarlo import (
    concentration_error,
    concentration_error_gaussian,
    concentration_error_grad,
    concentration_error_linear,
)
from verify.icl.risk import (
    bayes_point,
    fit_rate,
    gamma_w,
    icl_risk_gap_mc,
    icl_risk_infinite,
    icl_risk_infinite_mc,
    icl_risk_mc,
    invariant_point,
)
from verify.numerics.measures import Empirical, Gaussian, Rademacher
from verify.numerics.montecarlo import Estimate
from verify.numerics.quadrature import attention_quadrature, attention_quadrature_float
from verify.concentration.exponent import sharp_exponent

__all__ = [
    "Gaussian",
    "Rademacher",
    "Empirical",
    "Estimate",
    "gaussian_limit",
    "linear_limit",
    "softmax_attention",
    "linear_attention",
    "attention_quadrature",
    "attention_quadrature_float",
    "check_claim",
    "gamma_w",
    "icl_risk_infinite",
    "icl_risk_infinite_mc",
    "icl_risk_mc",
    "icl_risk_gap_mc",
    "fit_rate",
    "bayes_point",
    "invariant_point",
    "concentration_error",
    "concentration_error_gaussian",
    "concentration_error_grad",
    "concentration_error_linear",
    "sharp_exponent",
]


def check_claim(claim_id: str, formula: str, seed: int = 0, assume=()):
    """Check a candidate closed form for the claim ``claim_id``; returns a ``Verdict``
    (``.accepted``, ``.worst_error``).  ``assume`` (a name or names from the claim's ``assumptions``)
    restricts the points to a hypothesis.  Unknown ids or hypotheses, unparsable or wrongly shaped
    formulas raise ``ValueError``."""
    from verify.kernel.registry import claim_specs
    from verify.kernel.claim import check_formula
    from verify._validation import seed_value

    seed = seed_value(seed, "seed")
    specs = claim_specs()
    if not isinstance(claim_id, str) or claim_id not in specs:
        raise ValueError(f"claim_id: unknown {claim_id!r}; known: {', '.join(specs)}")
    return check_formula(specs[claim_id], formula, seed=seed, assume=assume)
