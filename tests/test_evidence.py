"""The evidence kinds: one shared test class that every kind passes (scipy.stats.qmc style).

Each kind contributes a *case*: a check of a true toy statement built by the kind's constructor, with a
planted mutant.  The shared class asserts, for every kind: it passes on the true statement, fails on the
mutant, gives the same bits for the same seed, refuses bad input with a ValueError/TypeError naming the
parameter, and never counts NaN as agreement.  A new kind is one constructor plus one case here.
"""

from __future__ import annotations

import dataclasses
import math

import flint
import mpmath
import numpy as np
import pytest

from verify.kernel import evidence
from verify.kernel.runner import Preparations, run_check, run_mutants
from verify.kernel.statement import Check, Mutant, Outcome, Statement, kinds, register_kind
from verify.numerics.montecarlo import Estimate, mean_estimate, stream


def _normal_square(rng, n=1_000_000):
    return mean_estimate(rng.standard_normal(n) ** 2)


def _case_agreement(subject=None, points=None):
    ref = lambda p: mpmath.quad(mpmath.cos, [0, p["x"]])  # the definition: integral of cos  # noqa: E731
    return evidence.agreement(
        "sin-is-integral-of-cos", subject or (lambda p: mpmath.sin(p["x"])), ref,
        points if points is not None else [{"x": 0.3}, {"x": 1.7}], digits=25, dps=30,
        mutants=[Mutant("relative 1e-20", lambda p: mpmath.sin(p["x"]) * (1 + mpmath.mpf(10) ** -20))])


def _case_enclosure(subject=None, points=None):
    return evidence.enclosure(
        "exp-enclosed", subject or (lambda p: mpmath.exp(p["x"])),
        lambda p: [flint.arb(p["x"]).exp()] if flint.ctx.prec >= 200 else _exp_ball(p["x"]),
        points if points is not None else [{"x": 0.25}, {"x": -2.0}], digits=50,
        mutants=[Mutant("relative 1e-40", lambda p: mpmath.exp(p["x"]) * (1 + mpmath.mpf(10) ** -40))])


def _exp_ball(x):
    with flint.ctx.workprec(256):
        return [flint.arb(x).exp()]


def _case_z_test(subject=None, points=None):
    return evidence.z_test(
        "second-moment-of-normal", subject or (lambda p: 1.0), lambda p, rng: _normal_square(rng),
        points if points is not None else [{"label": "N(0,1)"}], resolve=0.01,
        mutants=[Mutant("1% too large", evidence.scaled(lambda p: 1.0, 1.01))])


def _case_z_test_driven(subject=None, points=None):
    """A simulation that depends on the subject (the scale it names) against the value it claims, sigma^2."""
    def estimate(p, rng, claim):
        return mean_estimate((claim["scale"] * rng.standard_normal(1_000_000)) ** 2)

    true = {"scale": 2.0, "second": lambda s: s * s}
    return evidence.z_test(
        "second-moment-of-scaled-normal", true if subject is None else subject, estimate,
        points if points is not None else [{"label": "N(0, 4)"}], driven=True, resolve=0.01,
        value=lambda p, claim: claim["second"](claim["scale"]),
        mutants=[Mutant("sigma^2 2% too large", {"scale": 2.0, "second": lambda s: 1.02 * s * s}),
                 Mutant("sigma for sigma^2", {"scale": 2.0, "second": lambda s: s})])


def _case_rate(subject=None, points=None):
    # E[(mean of L standard normals)^2] = 1/L -> 0: the subject is the limit 0.
    def sample(L, rng):
        return rng.standard_normal(200_000) ** 2 / L

    def gap(L, squares, limit):
        return mean_estimate(squares - limit)

    return evidence.rate("mean-square-of-average", 0.0 if subject is None else subject, sample, gap, [10, 100, 1000],
                         exponent=0.5, mutants=[Mutant("limit 0.01 too low", -0.01)])


def _case_rejection(subject=None, points=None):
    def fourth_moment(p, rng):
        return mean_estimate(rng.standard_normal(400_000) ** 4)

    def discrepancy(p, estimate, claimed):
        return abs(estimate.z(claimed))

    return evidence.rejection("fourth-moment-is-not-1", 1.0 if subject is None else subject, discrepancy,
                              points if points is not None else [{"label": "N(0,1)"}], threshold=5.0, unit="|z|",
                              prepare=fourth_moment, mutants=[Mutant("the true moment 3", 3.0)])


def _case_bound(subject=None, points=None):
    def fd_error(p, grad):
        x, h = p["x"], 1e-5
        return abs((math.sin(x + h) - math.sin(x - h)) / (2 * h) - grad(x))

    return evidence.bound("derivative-of-sin", subject or math.cos, fd_error,
                          points if points is not None else [{"x": 0.1}, {"x": 2.0}], threshold=1e-8,
                          unit="abs error", mutants=[Mutant("cos + 1e-6", lambda x: math.cos(x) + 1e-6)])


def _reverse_gradient(U, V, S, s=0.0):
    from verify.icl.gradient import icl_risk_gradient
    gU, gV = icl_risk_gradient(U, V, S, s)
    return -gU, -gV


def _case_trajectory(subject=None, points=None):
    """A trajectory the subject drives: the energy identity R(T) - R(0) = -int |grad R|^2 along the flow of the
    gradient under test."""
    from verify.icl import training as train
    from verify.icl.gradient import icl_risk_gradient

    pts = [{"label": "d=1", "Sigma": [[0.25]], "noise": 0.0, "T": 1.0, "start": train.balanced_init([[0.25]], 4.0)}]
    def flow(p, gradient):
        return train.gradient_flow(*p["start"], p["Sigma"], p["T"], noise=p["noise"], gradient=gradient,
                                   dissipation=True, blow_up=1e3)

    return evidence.trajectory("energy", icl_risk_gradient if subject is None else subject,
                               pts if points is None else points, driven=flow,
                               figure=lambda p, path, gradient: train.dissipation_gap(path),
                               threshold=1e-8, unit="rel. defect", mutants=[Mutant("reversed gradient", _reverse_gradient)])


def _decay_flow(p):
    """y' = -k y, y(0) = 1 to t = 5 by DOP853 (rtol 1e-12): a reference trajectory, independent of the claim."""
    from types import SimpleNamespace

    from scipy.integrate import solve_ivp

    sol = solve_ivp(lambda t, y: -p["k"] * y, (0.0, 5.0), [1.0], method="DOP853", rtol=1e-12, atol=1e-14)
    return SimpleNamespace(t=sol.t, y=sol.y[0], method="DOP853 rtol=1e-12 atol=1e-14")


def _case_trajectory_reference(subject=None, points=None):
    """A reference trajectory prepared once: the claimed y(5) = exp(-5k) against the integrated flow."""
    return evidence.trajectory("decay-end", (lambda k: math.exp(-5 * k)) if subject is None else subject,
                               points if points is not None else [{"label": "k=1", "k": 1.0}, {"label": "k=0.3", "k": 0.3}],
                               reference=_decay_flow, figure=lambda p, path, claim: abs(path.y[-1] - claim(p["k"])),
                               threshold=1e-9, unit="abs. error",
                               mutants=[Mutant("exp(-4.9 k)", lambda k: math.exp(-4.9 * k))])


CASES = {
    "agreement": _case_agreement,
    "enclosure": _case_enclosure,
    "z_test": _case_z_test,
    "rate": _case_rate,
    "rejection": _case_rejection,
    "bound": _case_bound,
    "trajectory": _case_trajectory,
    "trajectory-reference": _case_trajectory_reference,
    "z_test-driven": _case_z_test_driven,
}

NAN_SUBJECTS = {
    "agreement": lambda p: mpmath.nan,
    "enclosure": lambda p: mpmath.nan,
    "z_test": lambda p: float("nan"),
    "rate": float("nan"),
    "rejection": float("nan"),
    "bound": lambda x: float("nan"),
    "trajectory": lambda U, V, S, s=0.0: (np.full_like(U, np.nan), np.full_like(V, np.nan)),
    "trajectory-reference": lambda k: float("nan"),
    "z_test-driven": {"scale": float("nan"), "second": lambda s: s * s},
}


@pytest.fixture(params=sorted(CASES))
def case(request):
    return request.param, CASES[request.param]


class TestEveryKind:
    def test_passes_on_the_true_statement(self, case):
        _, make = case
        out = make().outcome(stream(0, "kind"))
        assert isinstance(out, Outcome) and out.passed, out.detail

    def test_fails_on_its_mutant(self, case):
        _, make = case
        check = make()
        assert check.mutants, "every check declares a mutant"
        for m in check.mutants:
            out = check.outcome(stream(0, "kind"), mutant=m.name)
            assert not out.passed, f"{check.name} stayed green on {m.name!r}: {out.detail}"

    def test_same_seed_same_bits(self, case):
        _, make = case
        a, b = make().outcome(stream(3, "kind")), make().outcome(stream(3, "kind"))
        assert (a.figure, a.detail) == (b.figure, b.detail)

    def test_preparing_twice_gives_the_same_bits(self, case):
        _, make = case
        check = make()
        first, second = check.prepare(stream(5, "kind")), check.prepare(stream(5, "kind"))
        for subject in [check.subject] + [m.subject for m in check.mutants]:
            a, b = check.score(first, subject), check.score(second, subject)
            assert (a.figure, a.detail) == (b.figure, b.detail)

    def test_scoring_draws_no_randomness_and_repeats(self, case):
        _, make = case
        check = make()
        prepared = check.prepare(stream(2, "kind"))
        a, b = check.score(prepared, check.subject), check.score(prepared, check.subject)
        assert (a.figure, a.detail) == (b.figure, b.detail)
        assert a == check.outcome(stream(2, "kind"))

    def test_scoring_a_mutant_does_not_recompute_the_preparation(self, case):
        _, make = case
        check = make()
        calls = []

        def counted(rng):
            calls.append(1)
            return check.prepare(rng)

        counting = dataclasses.replace(check, prepare=counted)
        st = Statement("toy", "T", "toy", "toy", "test", "x", checks=[counting])
        store = Preparations()
        true = run_check(st, counting, 0, preparations=store)
        mutants = [run_check(st, counting, 0, mutant=m.name, preparations=store) for m in check.mutants]
        assert len(calls) == 1 and store.calls == 1
        assert true.passed and all(ev.caught for ev in mutants), [ev.detail for ev in mutants if not ev.caught]
        assert len(run_mutants([st])) == len(check.mutants) and len(calls) == 2  # a fresh store: one more, not one each

    def test_nan_never_counts_as_agreement(self, case):
        name, make = case
        try:
            out = make(subject=NAN_SUBJECTS[name]).outcome(stream(0, "kind"))
        except ValueError as exc:  # refusing to compute is fine (run_check records it as a failure)
            assert "NaN" in str(exc)
        else:
            assert not out.passed, out.detail

    def test_bad_input_names_the_parameter(self, case):
        name, make = case
        check = make()
        with pytest.raises(ValueError, match="mutant"):
            check.outcome(stream(0, "kind"), mutant="no such mutant")
        with pytest.raises(ValueError, match="seed"):
            stream(-1, "kind")
        if name != "rate":  # rate runs over a grid of L, not over points
            with pytest.raises(ValueError, match="points"):
                make(points=[]).outcome(stream(0, "kind"))

    def test_declares_a_registered_kind(self, case):
        _, make = case
        assert make().kind in kinds()


def test_check_refuses_malformed_declarations():
    prepare = lambda rng: None  # noqa: E731
    score = lambda prepared, subject: Outcome(1.0, 0.0, ">=")  # noqa: E731
    with pytest.raises(ValueError, match="kind"):
        Check("x", "no-such-kind", prepare, score, subject=1, mutants=[Mutant("m", 2)])
    with pytest.raises(TypeError, match="mutants"):
        Check("x", "float64", prepare, score, subject=1, mutants=["not a Mutant"])
    with pytest.raises(ValueError, match="mutants"):
        Check("x", "float64", prepare, score, subject=1, mutants=[Mutant("m", 2), Mutant("m", 3)])
    with pytest.raises(TypeError, match="prepare, score"):
        Check("x", "float64", prepare, None, subject=1, mutants=[Mutant("m", 2)])
    with pytest.raises(ValueError, match="name"):
        Mutant("", 1)


def test_open_registry_of_kinds():
    register_kind("toy-kind", "a kind registered by a test")
    register_kind("toy-kind", "a kind registered by a test")  # same description: no-op
    with pytest.raises(ValueError, match="already registered"):
        register_kind("toy-kind", "something else")
    chk = evidence.bound("toy", math.cos, lambda p, g: abs(g(p["x"]) - math.cos(p["x"])), [{"x": 1.0}],
                         threshold=0.0, kind="toy-kind", mutants=[Mutant("sin", math.sin)])
    assert chk.outcome(stream(0, "toy")).passed and not chk.outcome(stream(0, "toy"), "sin").passed


def test_z_test_states_its_power_and_refuses_to_be_underpowered():
    weak = evidence.z_test("weak", lambda p: 1.0, lambda p, rng: _normal_square(rng, n=10_000), [{}], resolve=0.01,
                           mutants=[Mutant("1%", lambda p: 1.01)])
    out = weak.outcome(stream(0, "weak"))
    assert not out.passed and "UNDERPOWERED" in out.detail and "smallest detectable relative error" in out.detail
    stated = evidence.z_test("stated", lambda p: 1.0, lambda p, rng: _normal_square(rng, n=10_000), [{}],
                             mutants=[Mutant("10%", lambda p: 1.1)])
    assert "smallest detectable relative error" in stated.outcome(stream(0, "weak")).detail


def test_rate_sees_a_wrong_limit_as_a_plateau():
    """A criterion that a wrong limit also satisfies is no check.  A limit 0.01 too high makes the
    gap plateau at 0.01: the fitted exponent is near 0 and the rate check fails."""
    check = _case_rate()
    prepared = check.prepare(stream(0, "p"))
    plateau = check.score(prepared, -0.01)
    assert not plateau.passed and plateau.figure > -0.5, plateau.detail
    negative = check.score(prepared, +0.01)  # gap goes negative: no power law at all
    assert not negative.passed and "no power law" in negative.detail


def test_trajectory_states_its_method_and_refuses_ambiguous_declarations():
    out = _case_trajectory().outcome(stream(3, "k"))
    assert out.passed and "DOP853 rtol=1e-10" in out.detail, out.detail
    with pytest.raises(ValueError, match="relation"):
        evidence.trajectory("x", 1, [{}], reference=lambda p: None, figure=lambda *a: 0.0, threshold=0, relation="<",
                            mutants=[Mutant("m", 2)])
    with pytest.raises(ValueError, match="reference, driven"):
        evidence.trajectory("x", 1, [{}], figure=lambda *a: 0.0, threshold=0, mutants=[Mutant("m", 2)])


def test_digits_between_is_never_fooled_by_nan_or_inf():
    assert evidence.digits_between([1.0, float("nan")], [1.0, 1.0]) == 0.0
    assert evidence.digits_between([1.0, float("inf")], [1.0, 1.0]) == 0.0
    assert evidence.digits_between(mpmath.mpf(2), mpmath.mpf(2), cap=30) == 30.0
    with pytest.raises(ValueError, match="value"):
        evidence.digits_between([1.0, 2.0], [1.0])
    with pytest.raises(TypeError, match="complex"):
        evidence.digits_between(np.array([1 + 1j]), np.array([1.0]))


def test_enclosure_asserts_width_as_well_as_containment():
    """A ball that contains the value but is too wide fails (python-flint's tests: containment *and* width)."""
    wide = evidence.enclosure("wide", lambda p: mpmath.exp(p["x"]), lambda p: [flint.arb(p["x"]).exp()],
                              [{"x": 0.25}], digits=50, mutants=[Mutant("m", lambda p: 0)])
    with flint.ctx.workprec(53):
        out = wide.outcome(stream(0, "w"))
    assert not out.passed and "contains the subject" in out.detail and out.figure < 20


def test_estimate_inputs_are_typed():
    bad = evidence.z_test("bad", lambda p: 1.0, lambda p, rng: 1.0, [{}], mutants=[Mutant("m", lambda p: 2.0)])
    with pytest.raises(TypeError, match="estimate"):
        bad.outcome(stream(0, "b"))
    ok = evidence.z_test("ok", lambda p: [1.0, 2.0], lambda p, rng: [Estimate(1.0, 0.1, 10)], [{}],
                         mutants=[Mutant("m", lambda p: 2.0)])
    with pytest.raises(ValueError, match="subject"):
        ok.outcome(stream(0, "b"))


def test_a_check_past_its_budget_fails_instead_of_hanging():
    import time as _time

    from verify.kernel.runner import run_check

    def slow_reference(p):
        _time.sleep(5)
        return 1.0

    chk = evidence.agreement("slow", lambda p: 1.0, slow_reference, [{"x": 1}], digits=10, kind="float64",
                             mutants=[Mutant("m", lambda p: 2.0)], budget=0.2)
    st = Statement("toy", "T", "toy", "toy", "test", "x", checks=[chk])
    t0 = _time.perf_counter()
    ev = run_check(st, chk, 0)
    assert _time.perf_counter() - t0 < 2.0
    assert not ev.passed and "exceeded its time budget of 0.2 s" in ev.detail
    with pytest.raises(ValueError, match="budget"):
        evidence.agreement("x", lambda p: 1.0, lambda p: 1.0, [{}], digits=1, mutants=[Mutant("m", 1)], budget=0)
