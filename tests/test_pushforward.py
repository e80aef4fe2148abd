"""pushforward-law: the definition-based field, the nested moments, the Monte Carlo estimates, the derivation on
a wrong form, the 40-digit claim references, bad input."""

from __future__ import annotations

import mpmath
import numpy as np
import pytest

import proofs.pushforward_law as P
from verify.gaussian.pushforward import (definition_field, nested_moments, nested_moments_checked, nested_moments_mp,
                                         pushforward_moment_estimates, pushforward_samples)
from verify.kernel.derivation import Derivation
from verify.kernel.runner import run_check

PT = P.MC_POINT


def _closed(p):
    U = p["K"].T @ p["Q"]
    return p["V"] @ (p["m"] + p["Gamma"] @ U @ p["m"]), p["V"] @ p["Gamma"] @ U @ p["Gamma"] @ U.T @ p["Gamma"] @ p["V"].T


def test_nested_moments_match_the_closed_form_and_tell_the_transpose_apart():
    mean, cov = nested_moments(PT["K"], PT["Q"], PT["V"], PT["m"], PT["Gamma"])
    m0, c0 = _closed(PT)
    assert np.abs(mean - m0).max() < 1e-12 and np.abs(cov - c0).max() < 1e-12
    transposed = P._moments(**P.WRONG_FORMS["U^T Gamma U for U Gamma U^T"])(PT)[1]
    assert np.abs(cov - transposed).max() > 0.05   # U not normal: the transpose is another matrix
    assert np.abs(cov - P._moments()(PT)[1]).max() < 1e-12   # the subject is the SymPy law


def test_pushforward_samples_same_seed_same_bits_and_gaussian_ratio():
    a = pushforward_samples(PT["K"], PT["Q"], PT["V"], PT["m"], PT["Gamma"], 500, np.random.default_rng(3))
    b = pushforward_samples(PT["K"], PT["Q"], PT["V"], PT["m"], PT["Gamma"], 500, np.random.default_rng(3))
    assert a.tobytes() == b.tobytes()
    est = pushforward_moment_estimates(a)
    assert len(est) == 2 + 3 + 1 and abs(est[-1].z(1.0)) < 5


def test_the_fourth_moment_ratio_sees_a_heavy_tail():
    Y = np.random.default_rng(0).laplace(size=(4000, 2))                     # ratio 2 for a Laplace law
    assert pushforward_moment_estimates(Y)[-1].z(1.0) > 5


def test_the_law_derivation_fails_on_a_wrong_covariance():
    good = P.derivation_law(1)
    assert all(r.passed for r in good.check())
    bad = Derivation("wrong", good.steps[1].rhs, conclusion=good.conclusion * 2)
    bad.step(good.conclusion * 2, "doubled")
    assert not bad.check()[0].passed


@pytest.mark.parametrize("mutant", [m.name for m in P.MONTE_CARLO.mutants])
def test_monte_carlo_mutants_go_red(mutant):
    assert run_check(P.STATEMENT, P.MONTE_CARLO, 0, mutant).caught


def test_bad_input_names_the_parameter():
    with pytest.raises(ValueError, match="X"):
        definition_field(PT["K"], PT["Q"], PT["V"], PT["m"], PT["Gamma"], np.ones((3, 3)))
    with pytest.raises(ValueError, match="G"):
        definition_field(PT["K"], PT["Q"], PT["V"], PT["m"], [[1.0, 2.0], [0.0, 1.0]], np.ones((3, 2)))
    with pytest.raises(ValueError, match="X"):
        definition_field(PT["K"], PT["Q"], PT["V"], PT["m"], PT["Gamma"], np.full((1, 2), 1e4))
    with pytest.raises(ValueError, match="n"):
        pushforward_samples(PT["K"], PT["Q"], PT["V"], PT["m"], PT["Gamma"], 1, np.random.default_rng(0))


def test_the_40_digit_reference_agrees_with_float64_and_refuses_bad_input():
    """The claim reference (definition at every node of a 4-node outer rule, d = 2, 30 digits) against the float64
    nested rule: the cross term C + C^T is the covariance ODE's drift, C = V Gamma U Gamma."""
    mean, cov, cross = nested_moments_mp(PT["K"], PT["Q"], PT["V"], PT["m"], PT["Gamma"], nodes=4, dps=30)
    m64, c64 = nested_moments(PT["K"], PT["Q"], PT["V"], PT["m"], PT["Gamma"])
    as_np = lambda M: np.array(M.tolist(), dtype=float)  # noqa: E731
    assert np.abs(as_np(mean).ravel() - m64).max() < 1e-12 and np.abs(as_np(cov) - c64).max() < 1e-12
    U = PT["K"].T @ PT["Q"]
    assert np.abs(as_np(cross) - PT["V"] @ PT["Gamma"] @ U @ PT["Gamma"]).max() < 1e-12
    with pytest.raises(ValueError, match="rules"):
        nested_moments_checked(PT["K"], PT["Q"], PT["V"], PT["m"], PT["Gamma"], rules=(1, 4))


def test_outer_rules_that_disagree_are_refused(monkeypatch):
    """The affine field makes every outer rule of >= 2 nodes exact; a rule-dependent planted error must be refused."""
    import verify.gaussian.pushforward as engine

    exact = engine.nested_moments_mp

    def rule_dependent(*args):
        with mpmath.mp.workdps(40):
            return tuple(M * (1 + args[5] * mpmath.mpf("1e-20")) for M in exact(*args))

    monkeypatch.setattr(engine, "nested_moments_mp", rule_dependent)
    with pytest.raises(RuntimeError, match="outer rules disagree"):
        nested_moments_checked(PT["K"], PT["Q"], PT["V"], PT["m"], PT["Gamma"], rules=(4, 5), dps=30)
    with pytest.raises(ValueError, match="G"):
        nested_moments_mp(PT["K"], PT["Q"], PT["V"], PT["m"], [[1.0, 2.0], [2.0, 1.0]])
    with pytest.raises(ValueError, match="nodes"):
        nested_moments_mp(PT["K"], PT["Q"], PT["V"], PT["m"], PT["Gamma"], nodes=1)
