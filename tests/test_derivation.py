"""Connected derivations: no free left sides, a declared conclusion, assumptions with their own checks."""

from __future__ import annotations

import dataclasses

import mpmath
import pytest
import sympy as sp

from verify.kernel import evidence
from verify.kernel.statement import Mutant
from verify.kernel.derivation import Assumption, Derivation, by, maps
from verify.numerics.montecarlo import stream

x, a, m, g = sp.symbols("x a m g", real=True)
M = sp.Function("M")


def _mgf_check(rule_rhs=None):
    """E e^{aX} for X ~ N(m, g) by quadrature of the definition, against the rule's right side."""
    rhs = rule_rhs if rule_rhs is not None else sp.exp(a * m + a**2 * g / 2)

    def subject(p):
        return sp.N(rhs.subs({a: p["a"], m: p["m"], g: p["g"]}), 30)

    def reference(p):
        dens = lambda t: mpmath.exp(-(t - p["m"]) ** 2 / (2 * p["g"])) / mpmath.sqrt(2 * mpmath.pi * p["g"])  # noqa: E731
        return mpmath.quad(lambda t: mpmath.exp(p["a"] * t) * dens(t), [-mpmath.inf, p["m"], mpmath.inf])

    pts = [{"a": sp.Rational(1, 3), "m": sp.Rational(-1, 2), "g": sp.Rational(3, 2)},
           {"a": sp.Rational(-2, 1), "m": sp.Rational(1, 4), "g": sp.Rational(1, 2)}]
    return evidence.agreement("gaussian-mgf", lambda p: mpmath.mpf(str(subject(p))), reference, pts, digits=20,
                              dps=30, mutants=[Mutant("missing 1/2", lambda p: mpmath.exp(p["a"] * p["m"] + p["a"] ** 2 * p["g"]))])


MGF = Assumption("gaussian-mgf", r"E e^{aX} = e^{am + a^2 g/2}", {M(a): sp.exp(a * m + a**2 * g / 2)}, _mgf_check())


def _mean_chain(slip: bool = False, conclusion=m + g * a):
    """E[X e^{aX}] / E[e^{aX}] = M'(a)/M(a) = m + g a for X ~ N(m, g)."""
    d = Derivation("tilted mean", sp.Derivative(M(a), a) / M(a), conclusion=conclusion)
    d.step(sp.diff(sp.exp(a * m + a**2 * g / 2), a) / sp.exp(a * m + a**2 * g / 2), "Gaussian MGF", check=by(MGF))
    d.step(m + (g if not slip else 2 * g) * a, "cancel the exponential")
    return d


def test_a_connected_chain_reaches_its_conclusion():
    d = _mean_chain()
    results = d.check()
    assert all(r.passed for r in results), [r.detail for r in results]
    assert d.labels()[-1] == "ends-at-conclusion" and d.assumptions == (MGF,)
    assert d.steps[1].lhs is d.steps[0].rhs  # each left side is the previous right side


def test_a_slip_in_a_step_fails_it():
    results = _mean_chain(slip=True).check()
    assert not results[1].passed and not results[-1].passed


def test_a_chain_ending_elsewhere_fails_its_conclusion():
    results = _mean_chain(conclusion=m + 2 * g * a).check()
    assert all(r.passed for r in results[:-1]) and not results[-1].passed


def test_no_conclusion_is_a_failure():
    d = Derivation("open", (x + 1) ** 2).step(x**2 + 2 * x + 1, "expand")
    assert not d.conclude().passed and "no conclusion" in d.conclude().detail


def test_every_step_starts_from_the_previous_right_side():
    d = (Derivation("d", (x + 1) ** 2, conclusion=x**2 + 2 * x + 1)
         .step((x + 1) * (x + 1), "square").step(x**2 + 2 * x + 1, "expand"))
    assert d.steps[0].lhs is d.start and d.steps[1].lhs is d.steps[0].rhs
    assert d.connected().passed and all(r.passed for r in d.check())


def test_a_tampered_chain_is_not_connected():
    d = Derivation("d", (x + 1) ** 2, conclusion=x**2 + 2 * x + 1).step(x**2 + 2 * x + 1, "expand")
    d.steps.append(dataclasses.replace(d.steps[0], lhs=x**3, rhs=x**2 + 2 * x + 1, label="spliced"))
    assert not d.connected().passed and not d.conclude().passed


def test_assumption_rule_with_a_slip_fails_the_step():
    wrong = Assumption("wrong-mgf", "E e^{aX} = e^{am + a^2 g}", {M(a): sp.exp(a * m + a**2 * g)}, _mgf_check())
    d = Derivation("tilted mean", sp.Derivative(M(a), a) / M(a), conclusion=m + g * a)
    d.step(sp.diff(sp.exp(a * m + a**2 * g / 2), a) / sp.exp(a * m + a**2 * g / 2), "MGF", check=by(wrong))
    assert not d.check()[0].passed


def test_an_assumption_carries_a_check_that_can_fail():
    chk = MGF.check
    assert chk.outcome(stream(0, "mgf")).passed
    assert not chk.outcome(stream(0, "mgf"), mutant="missing 1/2").passed
    with pytest.raises(TypeError, match="check"):
        Assumption("no-check", "x = x", {}, None)
    with pytest.raises(TypeError, match="rule"):
        Assumption("bad-rule", "x = x", "x -> x", MGF.check)


def test_maps_applies_a_named_transformation():
    d = Derivation("derivative", x**3, conclusion=3 * x**2)
    d.step(3 * x**2, "differentiate", check=maps("d/dx", lambda e: sp.diff(e, x)))
    assert all(r.passed for r in d.check())
    bad = Derivation("derivative", x**3, conclusion=3 * x**2)
    bad.step(3 * x, "differentiate", check=maps("d/dx", lambda e: sp.diff(e, x)))
    assert not bad.check()[0].passed


def test_steps_need_a_justification_and_a_relation():
    d = Derivation("d", x, conclusion=x)
    with pytest.raises(ValueError, match="why"):
        d.step(x, "")
    with pytest.raises(TypeError, match="check"):
        d.step(x, "same", check=lambda l, r: (True, ""))
