"""The exact decision of a claim: EQUAL proved, DIFFERENT with a certified counterexample, UNDECIDED otherwise.

Each wrong formula below is one a numeric comparison at a few points can miss (a term vanishing below some dimension,
an offset far below any floating tolerance, a polynomial vanishing at the small integers); each true rewriting one a
floating comparison can reject (a cancellation of huge terms)."""

from __future__ import annotations

import json

import pytest

from verify.kernel.decide import (MAX_BITS, PROOF_POINTS, Counterexample, decide, degree_bound, difference_enclosure,
                                  matrix_degree)
from verify.kernel.formula import compile_formula

ATTENTION = {"K": "matrix", "Q": "matrix", "V": "matrix", "Gamma": "spd", "m": "vector", "z": "vector"}
TRUE = "V*m + V*Gamma*K.T*Q*z"


def column(d):
    return (d, 1)


def square(d):
    return (d, d)


def scalar(d):
    return ()


def _decide(formula, closed=TRUE, domains=ATTENTION, shape=column, **kw):
    return decide(formula, closed, domains, shape, **kw)


def elementary_symmetric_6(X: str) -> str:
    """e_6 of the eigenvalues of X by Newton's identities: a trace polynomial of degree 6, zero for d <= 5."""
    def t(k):
        return f"trace({X}**{k})" if k > 1 else f"trace({X})"
    return (f"({t(1)}**6 - 15*{t(1)}**4*{t(2)} + 40*{t(1)}**3*{t(3)} + 45*{t(1)}**2*{t(2)}**2 - 90*{t(1)}**2*{t(4)} "
            f"- 120*{t(1)}*{t(2)}*{t(3)} + 144*{t(1)}*{t(5)} - 15*{t(2)}**3 + 90*{t(2)}*{t(4)} + 40*{t(3)}**2 "
            f"- 120*{t(6)})/720")


@pytest.mark.parametrize("formula", [
    "V*(m + Gamma*K.T*Q*z)",
    "V*m + (z.T*Q.T*K*Gamma*V.T).T",               # Gamma symmetric
    "V*Gamma*Gamma**-1*m + V*Gamma*K.T*Q*z",       # inverse identities
    "0.1*(10*V*m + 10*V*Gamma*K.T*Q*z)",           # exact decimals
    f"{TRUE} + 1e25*V*m - 1e25*V*m",               # a cancellation no float survives
    f"{TRUE} + (Gamma - Gamma.T)*V*m",
])
def test_true_rewritings_are_proved_equal(formula):
    d = _decide(formula)
    assert d.verdict == "EQUAL", d.detail
    assert d.failure_probability is not None and d.failure_probability < 1e-12
    assert d.degree >= 1 and d.points >= PROOF_POINTS and f"<= {d.degree}" in d.detail


@pytest.mark.parametrize("formula, where", [
    ("V*Gamma*K.T*Q*z", "dropped term"),
    ("V*m + V*Gamma*K*Q*z", "transposed"),
    (f"{TRUE} + {elementary_symmetric_6('Gamma')}*V*m", "zero for d <= 5"),
    (f"{TRUE} + 1e-21*V*m", "below any floating tolerance"),
    (f"({TRUE})*(1 + ((m.T*Gamma*m)/1000)**32)", "relative 1e-96"),
    (f"{TRUE} + (Gamma*V - V*Gamma)*m", "zero when Gamma and V commute"),
])
def test_wrong_formulas_get_a_certified_counterexample(formula, where):
    d = _decide(formula)
    assert d.verdict == "DIFFERENT", (where, d.detail)
    cx = d.counterexample
    assert cx is not None and "+/-" in cx.difference or cx.difference.lstrip("-")[0].isdigit()
    # the saved point reproduces the certificate
    again = difference_enclosure(compile_formula(formula, set(ATTENTION)), compile_formula(TRUE, set(ATTENTION)),
                                 _exact(Counterexample.from_json(json.loads(json.dumps(cx.to_json())))))
    assert again is not None and again[1] <= cx.bits


def _exact(cx: Counterexample) -> dict:
    from verify.kernel.decide import _from_fraction_values

    return _from_fraction_values(cx.values)


def test_a_term_vanishing_below_dimension_six_is_caught_at_six():
    d = _decide(f"{TRUE} + {elementary_symmetric_6('Gamma')}*V*m")
    assert d.counterexample.dim == 6


def test_an_exponentially_small_term_is_refuted_at_high_precision():
    d = _decide(f"{TRUE} + exp(-100000)*V*Gamma*m")
    assert d.verdict == "DIFFERENT" and d.counterexample.bits >= 144_270, d.detail  # exp(-1e5) = 2^-144269.5


def test_a_polynomial_vanishing_at_small_integers_is_refuted():
    zfb = {"Lambda": "spd", "N": "integer", "I": "identity"}
    closed = "(1 + 1/N)*Lambda + trace(Lambda)/N*I"
    wrong = closed + " + " + "*".join(f"(N - {k})" for k in range(1, 41)) + "*Lambda"
    d = decide(wrong, closed, zfb, square)
    assert d.verdict == "DIFFERENT" and d.counterexample.values["N"] > 40


def test_cayley_hamilton_of_a_small_dimension_is_not_an_identity():
    """A^2 - tr(A) A + det(A) I = 0 holds for 2 x 2 matrices only: a claim for every d is refuted at d = 3."""
    dom = {"A": "matrix", "I": "identity"}
    ch2 = "A**2 - trace(A)*A + (trace(A)**2 - trace(A**2))/2*I"
    d = decide(ch2, "0*A", dom, square)
    assert d.verdict == "DIFFERENT" and d.counterexample.dim == 3


def test_hypotheses_restrict_the_points():
    hyp = {"centred": {"m": "0*m"}}
    assert _decide("V*Gamma*K.T*Q*z", hypotheses=hyp, assume=("centred",)).verdict == "EQUAL"
    assert _decide("V*Gamma*K.T*Q*z", hypotheses=hyp).verdict == "DIFFERENT"
    with pytest.raises(ValueError, match="assume"):
        _decide("V*m", hypotheses=hyp, assume=("noiseless",))


@pytest.mark.parametrize("formula, closed", [
    ("exp(x + y)", "exp(x)*exp(y)"),
    ("exp(x - y)", "exp(x)/exp(y)"),
    ("exp(log(x) + y)", "x*exp(y)"),
    ("sqrt(y**4)", "y**2"),
    ("x**(-1/4)", "1/x**(1/4)"),
])
def test_non_polynomial_rewritings_are_proved_with_exact_rules(formula, closed):
    dom = {"x": "positive", "y": "scalar"}
    assert decide(formula, closed, dom, scalar).verdict == "EQUAL"


def test_a_relation_the_rules_do_not_know_is_undecided_never_equal():
    dom = {"x": "positive", "y": "positive"}
    d = decide("log(x*y)", "log(x) + log(y)", dom, scalar, budget_seconds=5)
    assert d.verdict == "UNDECIDED", d.detail
    assert decide("log(x*y)", "log(x) + 2*log(y)", dom, scalar).verdict == "DIFFERENT"


def test_degrees_and_budget():
    f = compile_formula("Gamma**-1*m", set(ATTENTION))
    g = compile_formula("m", set(ATTENTION))
    assert matrix_degree(f, ATTENTION) == 2
    # Gamma = L L^T + I has degree 2; its inverse adj/det at d = 3: (2 * 2, 3 * 2); times m: (5, 6); m: (1, 0)
    assert degree_bound((f, g), 3, ATTENTION) == 7
    assert _decide(f"{TRUE} + 0*m", budget_seconds=0.0).verdict == "UNDECIDED"


def test_same_seed_same_counterexample_and_another_seed_moves_it():
    a, b = _decide("V*m + V*Gamma*K*Q*z", seed=1), _decide("V*m + V*Gamma*K*Q*z", seed=1)
    c = _decide("V*m + V*Gamma*K*Q*z", seed=2)
    assert a.counterexample.to_json() == b.counterexample.to_json()
    assert c.counterexample.to_json() != a.counterexample.to_json()


def test_bad_declarations_and_formulas_name_what_is_wrong():
    with pytest.raises(ValueError, match="domains"):
        decide("x", "x", {"x": "complex"}, scalar)
    with pytest.raises(ValueError, match="expected shape"):
        _decide("V")
    with pytest.raises(ValueError, match="unknown symbol"):
        _decide("V*w")
    with pytest.raises(ValueError, match="counterexample"):
        Counterexample.from_json({"dim": 0, "values": {}})
    with pytest.raises(ValueError, match="counterexample"):
        Counterexample.from_json({"dim": 1, "values": {"x": "one half"}})
    assert MAX_BITS >= 1 << 18


def test_huge_exact_rationals_are_bounded_by_the_formula_caps_and_still_decided():
    """A sum of rationals with ~4096-bit denominators cannot make the exact evaluator crawl: a formula is at most
    2000 characters (a 4096-bit literal alone has 1233 digits) and an exponent at most 64 in size, so the largest
    rationals reachable are (1/(2^64 + k))^64; the exact route then hands over to Arb and the formula is still
    DIFFERENT, with its tiny difference certified."""
    import time

    import verify

    with pytest.raises(ValueError, match="too long"):
        verify.check_claim("gaussian-limit", "V*m + V*Gamma*K.T*Q*z + (" + "+".join(
            f"1/{2**4090 + 2 * k + 1}" for k in range(3)) + ")*V*m")
    t0 = time.perf_counter()
    tiny = "+".join(f"(1/(2**64+{2 * k + 1}))**64" for k in range(4))
    r = verify.check_claim("gaussian-limit", f"V*m + V*Gamma*K.T*Q*z + ({tiny})*V*m")
    assert r.verdict == "DIFFERENT" and not r.accepted and "e-123" in r.detail
    assert time.perf_counter() - t0 < 60


@pytest.mark.parametrize("big", ["1e25", "1e200"])
def test_a_cancellation_written_into_a_true_formula_is_accepted(big):
    """A true rewriting whose own evaluation cancels catastrophically is EQUAL (proved), and the numeric line stays
    honest: at 1e25 the evaluation is carried at a higher working precision; at 1e200 (beyond it: every evaluation
    below 200 digits returns exactly 0) the proved-equal closed form is the one judged against the definition."""
    import verify

    r = verify.check_claim("gaussian-limit", f"V*m + V*Gamma*K.T*Q*z + {big}*V*m - {big}*V*m")
    assert r.verdict == "EQUAL" and r.accepted
    if big == "1e200":
        assert "loses digits (cancellation)" in r.detail
