"""pushforward-law (issue 10 part 3): the definition-based field, the nested moments, the Monte Carlo estimates,
the derivation on a wrong form, bad input."""

from __future__ import annotations

import numpy as np
import pytest

import proofs.pushforward as P
from verify.kernel.runner import run_check
from verify.kernel.derivation import Derivation
from verify.gaussian.pushforward import (definition_field, nested_moments, nested_moments_mp, pushforward_claim_points,
                                pushforward_moment_estimates, pushforward_samples)

PT = P.MC_POINT


def _closed(p):
    U = p["K"].T @ p["Q"]
    return p["V"] @ (p["m"] + p["Gamma"] @ U @ p["m"]), p["V"] @ p["Gamma"] @ U @ p["Gamma"] @ U.T @ p["Gamma"] @ p["V"].T


def test_nested_moments_match_the_closed_form_and_tell_the_transpose_apart():
    mean, cov = nested_moments(PT["K"], PT["Q"], PT["V"], PT["m"], PT["Gamma"])
    m0, c0 = _closed(PT)
    assert np.abs(mean - m0).max() < 1e-12 and np.abs(cov - c0).max() < 1e-12
    assert np.abs(cov - P._cov_transposed(PT)).max() > 0.05   # U not normal: the transpose is another matrix


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
    with pytest.raises(ValueError, match="kind"):
        pushforward_claim_points(0, "mean")
    with pytest.raises(ValueError, match="G"):
        nested_moments_mp(PT["K"], PT["Q"], PT["V"], PT["m"], [[1.0, 2.0], [2.0, 1.0]])
    with pytest.raises(ValueError, match="nodes"):
        nested_moments_mp(PT["K"], PT["Q"], PT["V"], PT["m"], PT["Gamma"], nodes=1)
