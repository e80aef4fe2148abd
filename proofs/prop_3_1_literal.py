r"""Props 3.1 and 3.4 (arXiv 2512.11784) taken literally at L = 1: the bound fails there.

**Statement (prop-3-1-literal).**  Props 3.1 and 3.4 bound E\|T[\hat\mu_L] - T[\mu]\|^2_{L^2(\nu)} (and the gradient
errors) by c_1 \sigma^6 \ln L / L^{c_2/\sigma^2} for every L >= 1.  At L = 1 the right side is 0 for every c_1, c_2,
while the left side is positive: witness d = 1, \mu = \nu = N(0, 1), K = 0 (U = 0), Q = V = M = \sigma = 1, where
T[\hat\mu_1](z) = z_1 and T[\mu] = 0, so the left side is E z_1^2 = 1.  Repaired statement: L >= 2.

**Evidence.**  Both sides at L = 1 derived symbolically; the left side measured by Monte Carlo of the definition
(:func:`verify.concentration.montecarlo.concentration_error`) against 1.
"""

from __future__ import annotations

import numpy as np
import sympy as sp

from verify.kernel.verdict import Finding
from verify.kernel.statement import Statement
from verify.kernel.derivation import Derivation, maps
from verify.kernel.evidence import Mutant, z_test
from verify.concentration.montecarlo import concentration_error
from verify.numerics.measures import isotropic_gaussian

Z1 = sp.Symbol("z_1", real=True)
c1, c2 = sp.symbols("c_1 c_2", positive=True)
L = sp.Symbol("L", positive=True)
sigma = sp.Symbol("sigma", positive=True)


def derivation_witness() -> Derivation:
    """d = 1, \\mu = \\nu = N(0,1), K = 0, V = 1: T[\\hat\\mu_1](z) = z_1, T[\\mu] = 0, so E|.|^2 = E z_1^2 = 1."""
    d = Derivation("left side at L = 1", (Z1 - 0) ** 2, start_tex=r"\|T[\hat\mu_1](z) - T[\mu](z)\|^2 = (z_1 - 0)^2",
                   conclusion=sp.S(1))
    d.step(sp.S(1), r"$\mathbb E z_1^2 = 1$ for $z_1 \sim \mathcal N(0,1)$",
           check=maps(r"$\mathbb E_{z_1}$", lambda e: sp.expand(e).subs(Z1**2, 1)))
    return d


def derivation_right() -> Derivation:
    d = Derivation("right side at L = 1", c1 * sigma**6 * sp.log(L) / L ** (c2 / sigma**2), conclusion=sp.S(0),
                   start_tex=r"c_1 \sigma^6 \ln L / L^{c_2/\sigma^2}")
    d.step(sp.S(0), r"$\ln 1 = 0$ for every $c_1, c_2$", check=maps("$L = 1$", lambda e: e.subs(L, 1)))
    return d


def witness_estimate(point: dict, rng: np.random.Generator, n_prompts: int = 10000):
    """Monte Carlo of Prop 3.1's left side at the L = 1 witness (d = 1, mu = nu = N(0, 1), U = 0, V = 1)."""
    seed = np.random.SeedSequence(int(rng.integers(2**63)))
    return concentration_error(isotropic_gaussian(1.0, 1), np.zeros((1, 1)), np.ones((1, 1)), 1, n_prompts, seed)


STATEMENT = Statement(
    id="prop-3-1-literal", number="Props 3.1/3.4 at L = 1", order=3.16,
    finding=Finding(kind="falsified as written", summary="Props 3.1 and 3.4 as displayed fail at L = 1 (ln 1 = 0 makes the right side 0); a repaired bound holds for L ≥ 2", form="d = 1, μ = ν = N(0, 1), K = 0, Q = V = M = σ = 1: left side 1, right side 0"),
    title="The L = 1 boundary of Props 3.1 and 3.4",
    summary="witness d=1, mu=nu=N(0,1), K=0, Q=V=M=sigma=1: left side 1, right side 0; repaired for L >= 2",
    source="arXiv 2512.11784, Prop 3.1 and Prop 3.4 (the bounds at L = 1)",
    statement_tex=r"L = 1:\ \mathbb E\|T[\hat\mu_1]-T[\mu]\|^2 = 1 > 0 = c_1\sigma^6 \ln 1 / 1^{c_2/\sigma^2}",
    derivations=lambda: [derivation_witness(), derivation_right()],
    checks=[z_test("witness-left-side", lambda p: 1.0, witness_estimate, [{"label": "L=1 witness"}], resolve=0.2,
                   description="Monte Carlo of the left side at L = 1 (witness) against 1",
                   mutants=[Mutant("the paper's right side 0", lambda p: 0.0)])],
    notes_tex=[r"For $L \ge 2$ the bound holds on the audit grid with $c_2 = \alpha(\|U\|_{op})$ and the fitted $c_1$ "
               r"(\texttt{verify audit})."],
)
