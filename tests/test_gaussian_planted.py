"""Realistic errors planted in the Gaussian-family statements and in the engines behind their findings: each turns a
check of ``verify run <id>`` red.

An engine error is planted at the source level: the function's source with one line changed is compiled and
monkeypatched in place of the original (the statements look the engine functions up when they call them), so the
check sees exactly what a slip in the file would give.  A closed-form error is scored through the check's adapter,
the way the machine-generated mutants are.
"""

from __future__ import annotations

import __future__
import inspect
import math
import textwrap

import numpy as np
import pytest
import sympy as sp

from proofs import attention_dynamics as dyn
from proofs import gaussian_limit as gl
from proofs import gaussian_mixture_limit as gm
from proofs import linear_limit as ll
from proofs import prop_3_1_literal as lit
from proofs import sharp_exponent as se
from verify.concentration import exact, exponent, montecarlo
from verify.gaussian import dynamics as dynamics_engine
from verify.gaussian import mixture as mixture_engine
from verify.kernel.runner import Preparations, run_check, score_subject
from verify.numerics import attention, quadrature


def plant(monkeypatch, module, name: str, old: str, new: str) -> None:
    """Replace ``module.name`` by its own source with the line fragment ``old`` changed to ``new`` (once)."""
    src = textwrap.dedent(inspect.getsource(getattr(module, name)))
    assert src.count(old) == 1, f"{old!r} occurs {src.count(old)} times in {name}"
    namespace = dict(vars(module))
    exec(compile(src.replace(old, new), f"<{name} with a planted slip>", "exec",
                 flags=__future__.annotations.compiler_flag, dont_inherit=True), namespace)
    monkeypatch.setattr(module, name, namespace[name])


SHARED = Preparations()
"""Preparations of checks whose references no planted slip here touches (computed once for all the tests)."""


def red(statement, check, seed: int = 0, preparations=None):
    ev = run_check(statement, check, seed, preparations=preparations)
    assert not ev.passed, f"{statement.id} :: {check.name} stayed green: {ev.detail}"
    return ev


def green(statement, check, seed: int = 0):
    ev = run_check(statement, check, seed)
    assert ev.passed, f"{statement.id} :: {check.name} is red unplanted: {ev.detail}"
    return ev


def red_on_form(statement, check, form, seed: int = 0):
    """A wrong closed form, scored by ``check`` through its adapter (as the mutation campaign scores it)."""
    ev = score_subject(statement, check, seed, check.adapt(form), preparations=Preparations())
    assert not ev.passed, f"{check.name} stayed green on {form}: {ev.detail}"
    return ev


# ------------------------------------------------------------------------------------------ sharp-exponent


@pytest.mark.parametrize("factor", [sp.Rational(98, 100), sp.Rational(95, 100)], ids=["2% low", "5% low"])
def test_alpha_a_few_percent_low_is_seen_by_the_default_checks(factor):
    assert not se.VARIATIONAL.slow
    ev = red_on_form(se.STATEMENT, se.VARIATIONAL, factor * se.CLOSED_FORM)
    assert ev.figure < 2.5


def test_alpha_boundary_at_s_one_half_is_seen_on_both_sides():
    """(The slope check declares the same mutant: the statement's own run shows it red there too.)"""
    ev = run_check(se.STATEMENT, se.VARIATIONAL, 0, mutant="boundary at s <= 1/2 (s for s^2)")
    assert ev.caught, ev.detail
    assert any(m.name == "boundary at s <= 1/2 (s for s^2)" for m in se.SLOPE.mutants)
    s_values = [p["sigma"] * p["u"] for p in se.VARIATIONAL_POINTS]
    assert any(0.5 < s < 2**-0.5 for s in s_values) and any(s > 2**-0.5 for s in s_values) and min(s_values) < 0.5


def test_the_exact_reduction_without_its_d_gt_1_term_fails(monkeypatch):
    plant(monkeypatch, exact, "gaussian_curve", "v2_over_d * F + (v2_rest * G if v2_rest else 0.0)", "v2_over_d * F")
    red(se.STATEMENT, se.EXACT_SMALL_L, preparations=SHARED)


def test_the_exact_reduction_with_a_wrong_split_of_the_frobenius_norm_fails(monkeypatch):
    plant(monkeypatch, exact, "gaussian_curve", "v_frob2 * (1.0 - 1.0 / d)", "v_frob2")
    red(se.STATEMENT, se.EXACT_SMALL_L, preparations=SHARED)


@pytest.mark.parametrize("old, new", [
    ("lL + math.log(L - 1)", "lL + lL"),                                   # L^2 pairs for L(L - 1)
    ("(0.0 if L == 2 else (L - 2) * logphi)", "(L - 1) * logphi"),         # phi^{L-1} for phi^{L-2}
    ("tA = lL + (L - 1) * logphi + q[\"A2\"]", "tA = lL + L * logphi + q[\"A2\"]"),
], ids=["pair count L^2", "phi power L-1", "A term phi^L"])
def test_the_exact_reductions_pair_count_and_powers_fail(monkeypatch, old, new):
    plant(monkeypatch, exact, "_moments_batch", old, new)
    red(se.STATEMENT, se.EXACT_SMALL_L, preparations=SHARED)


def test_the_public_sharp_exponent_with_the_frobenius_norm_fails(monkeypatch):
    plant(monkeypatch, exponent, "sharp_exponent", "np.linalg.norm(U, 2)", "np.linalg.norm(U)")
    red(se.STATEMENT, se.KERNEL)


# ------------------------------------------------------------------------------------------ the audit's Monte Carlo


@pytest.mark.parametrize("old, new", [
    ("        err = np.sum(diff * diff, axis=-1)\n", "        err = 1.01 * np.sum(diff * diff, axis=-1)\n"),
    ("        err = np.sum(diff * diff, axis=-1)\n", "        err = 1.05 * np.sum(diff * diff, axis=-1)\n"),
    ("s0 = s0 * f + W.sum(axis=2)", "s0 = s0 + W.sum(axis=2)"),
    ("s1 = s1 * f[..., None] + W @ XT", "s1 = s1 + W @ XT"),
    ("s2w = s2w * f * f +", "s2w = s2w * f +"),
    ("err = d * np.sum((mhat - m) ** 2, axis=-1)", "err = np.sum((mhat - m) ** 2, axis=-1)"),
    ("sxx = sxx * f[..., None, None] + upd", "sxx = sxx + upd"),
    ("Chat - C)", "Chat)"),
    ("diff = (slin / L - A @ second.T) @ V.T", "diff = (slin / (L - 1) - A @ second.T) @ V.T"),
], ids=["output 1% too large", "output 5% too large", "chunk merge: sum not rescaled", "chunk merge: mean not rescaled",
        "chunk merge: ESS", "grad_V without d", "chunk merge: grad_U", "grad_U without C", "linear 1/(L-1)"])
def test_the_audit_monte_carlo_with_a_planted_slip_fails(monkeypatch, old, new):
    plant(monkeypatch, montecarlo, "_block_errors", old, new)
    red(lit.STATEMENT, lit.ENGINE_ARITHMETIC)


@pytest.mark.parametrize("old, new", [
    ("means.std(ddof=1) / math.sqrt(blocks)", "allerr.std(ddof=1) / math.sqrt(allerr.size)"),
    ("top = np.partition(allerr, allerr.size - k)[allerr.size - k:].sum()", "top = allerr.max()"),
], ids=["stderr from the per-query errors", "top share of one query"])
def test_the_audit_monte_carlo_with_a_planted_aggregation_slip_fails(monkeypatch, old, new):
    plant(monkeypatch, montecarlo, "_estimate", old, new)
    red(lit.STATEMENT, lit.ENGINE_ARITHMETIC)


@pytest.mark.parametrize("old, new", [
    ("mean = s2 * a + th[..., None] * m", "mean = s2 * a + 1.01 * th[..., None] * m"),
    ("mean = c * lan", "mean = 1.01 * c * lan"),
    ("mean = s * th", "mean = th"),
], ids=["pair tilt", "cube tilt", "coin tilt without its scale"])
def test_the_audit_monte_carlo_with_a_wrong_tilted_law_fails(monkeypatch, old, new):
    plant(monkeypatch, montecarlo, "tilted_moments", old, new)
    red(lit.STATEMENT, lit.ENGINE_ARITHMETIC)


@pytest.mark.parametrize("old, new", [
    ("return rng.uniform(-h, h, size=(P, d, c))", "return rng.uniform(-h / 3**0.5, h / 3**0.5, size=(P, d, c))"),
    ("X = np.einsum(\"ij,pjc->pic\", root, G)", "X = np.einsum(\"ji,pjc->pic\", root, G)"),
    ("measure.component_sd * rng.standard_normal((P, d, c))", "measure.scale * rng.standard_normal((P, d, c))"),
], ids=["cube half-width sigma", "Gaussian root transposed", "pair component sd"])
def test_the_audit_monte_carlo_drawing_the_wrong_law_fails(monkeypatch, old, new):
    plant(monkeypatch, montecarlo, "_draw", old, new)
    red(lit.STATEMENT, lit.ENGINE_SAMPLER)


def test_the_audit_linear_error_without_a_term_fails(monkeypatch):
    plant(monkeypatch, montecarlo, "concentration_error_linear_gaussian", " + np.sum((V @ U) ** 2)", "")
    red(lit.STATEMENT, lit.LINEAR_EXACT)


def test_the_exact_reduction_at_one_token_with_a_slip_fails(monkeypatch):
    plant(monkeypatch, exact, "per_query_moments_many", "F[:, one] = 1.0 + (center * taus[:, None]) ** 2",
          "F[:, one] = 1.0 + 2 * (center * taus[:, None]) ** 2")
    red(se.STATEMENT, se.EXACT_SMALL_L, preparations=SHARED)


# ------------------------------------------------------------------------------------------ attention-dynamics


@pytest.mark.parametrize("form", [
    dyn.V * (dyn.m + sp.Rational(105, 100) * dyn.Gamma * dyn.A * dyn.m),
    dyn.V * (dyn.m + sp.Rational(115, 100) * dyn.Gamma * dyn.A * dyn.m),
    sp.Rational(11, 10) * dyn.V * dyn.Gamma * dyn.A * dyn.Gamma + sp.Rational(9, 10) * dyn.Gamma * dyn.A.T * dyn.Gamma * dyn.V.T,
], ids=["Gamma A m 5% too large", "Gamma A m 15% too large", "terms 1.1 / 0.9"])
def test_a_few_percent_slip_of_either_ode_fails_the_weak_form(form):
    ev = red_on_form(dyn.STATEMENT, dyn.WEAK_FORM, form)
    assert ev.figure < 3
    points = dyn._weak_form_points(np.random.default_rng(0))
    assert max(p["dim"] for p in points) >= 5
    assert all(not np.allclose(p["V"], p["V"][0, 0] * np.eye(p["dim"])) for p in points if p["dim"] > 1)


def test_the_engine_ode_kernel_with_a_5_percent_slip_fails(monkeypatch):
    plant(monkeypatch, dynamics_engine, "mean_rhs", "return V @ (m + G @ (K.T @ (Q @ m)))",
          "return V @ (m + 1.05 * G @ (K.T @ (Q @ m)))")
    red(dyn.STATEMENT, dyn.NUMPY_KERNEL)


# ------------------------------------------------------------------------------------------ gaussian-mixture-limit


def _e3(X):
    t1, t2, t3 = sp.Trace(X), sp.Trace(X**2), sp.Trace(X**3)
    return (t1**3 - 3 * t1 * t2 + 2 * t3) / 6


def test_a_term_vanishing_for_d_le_2_fails_the_quadrature():
    """e_3(Gamma_1) is zero at d <= 2 (Cayley-Hamilton): the quadrature points reach d = 5."""
    red_on_form(gm.MIXTURE, gm.QUADRATURE, gm.TRUE_FORM + _e3(gm.GS[0]) * gm.V * gm.MS[0])


def _consistent_slip(monkeypatch, kind):
    """The same slip in the derivation's rule (an assumption) and in its conclusion: the log-MGF without its 1/2,
    or tilted means m + 2 Gamma a.  Returns the slipped derivation (C = 2)."""
    if kind == "half":
        real = gm.log_mgf_expr
        monkeypatch.setattr(gm, "log_mgf_expr", lambda m, G, av, half=sp.S.One: real(m, G, av, half))
    else:
        real_mixture = gm.softmax_mixture

        def slipped_mixture(C, av=None, weights=None, means=None):
            _, ms, Gs, _, _ = gm.components(C)
            a_ = gm.K.T * gm.Q * gm.z if av is None else av
            return real_mixture(C, av, weights, means or [ms[k] + 2 * Gs[k] * a_ for k in range(C)])

        monkeypatch.setattr(gm, "softmax_mixture", slipped_mixture)
        monkeypatch.setattr(gm, "_tilted_mean_rule", lambda C: {gm.components(C)[4][k]: gm.components(C)[1][k]
                                                                + 2 * gm.components(C)[2][k] * gm.a for k in range(C)})
    monkeypatch.setitem(gm.ASSUMPTIONS, 2, (gm.mixture_tilt_assumption(2), gm.gaussian_tilt_assumption(2),
                                            gm.gaussian_mgf_assumption(2)))
    return gm.derivation(2)


@pytest.mark.parametrize("kind", ["half", "tilted means m + 2 Gamma a"])
def test_a_slip_made_consistently_in_the_rule_and_the_conclusion_fails_a_numeric_check(monkeypatch, kind):
    """The derivation alone cannot see it (rule and conclusion agree); the numeric checks score the SymPy
    conclusion, so they do."""
    assert sp.srepr(gm.derivation(2).conclusion) == sp.srepr(gm.MIXTURE.closed_form)
    slipped = _consistent_slip(monkeypatch, kind)
    assert all(r.passed for r in slipped.check()), "the consistent slip should pass the symbolic chain"
    assert sp.srepr(slipped.conclusion) != sp.srepr(gm.MIXTURE.closed_form)
    red_on_form(gm.MIXTURE, gm.QUADRATURE, slipped.conclusion)


def test_the_engine_mixture_kernel_without_its_half_fails(monkeypatch):
    plant(monkeypatch, mixture_engine, "component_tilt", "0.5 * np.einsum", "np.einsum")
    red(gm.MIXTURE, gm.NUMPY_KERNEL)


# ------------------------------------------------------------------------------------------ linear-limit


@pytest.mark.parametrize("old, new", [
    ("V @ (G + np.outer(m, m)) @ K.T @ Q @ zz", "V @ (G + 0.5 * np.outer(m, m)) @ K.T @ Q @ zz"),
    ("V @ (G + np.outer(m, m)) @ K.T @ Q @ zz", "V @ (G + np.outer(m, m)) @ Q.T @ K @ zz"),
], ids=["1/2 on m m^T", "U transposed"])
def test_the_public_linear_limit_with_a_planted_slip_fails(monkeypatch, old, new):
    plant(monkeypatch, attention, "linear_limit", old, new)
    red(ll.COMPANION, ll.NUMPY_KERNEL)


# ------------------------------------------------------------------------------------------ gaussian-limit


def _closed_form_route(K, Q, V, mean, cov, z, *args, **kwargs):
    return attention.gaussian_limit(K, Q, V, mean, cov, z)


def test_the_float64_reference_replaced_by_the_closed_form_fails_the_reference_check(monkeypatch):
    """The float64 check alone cannot tell (its reference agrees with the closed form, which is right); the
    reference check runs that route where the closed form is not the answer."""
    monkeypatch.setattr(quadrature, "attention_quadrature_float", _closed_form_route)
    green(gl.LEMMA, gl.FLOAT64)
    red(gl.LEMMA, gl.REFERENCES)


def test_the_40_digit_reference_replaced_by_the_closed_form_fails_the_reference_check(monkeypatch):
    def closed(K, Q, V, mean, cov, z, dps=40, n=None):
        return [float(t) for t in attention.gaussian_limit(K, Q, V, mean, cov, z)]

    monkeypatch.setattr(quadrature, "attention_quadrature", closed)
    red(gl.LEMMA, gl.REFERENCES)


def test_the_public_gaussian_limit_with_a_planted_slip_fails(monkeypatch):
    plant(monkeypatch, attention, "gaussian_limit", "V @ m + V @ G @ K.T @ Q @ zz", "V @ m + V @ G @ Q.T @ K @ zz")
    red(gl.LEMMA, gl.NUMPY_KERNEL)


def test_gaussian_limit_monte_carlo_false_alarms_over_seeds_0_to_200(request):
    """With 100 batch means the z-score is t_99: over seeds 0..200 (402 comparisons) its largest |z| was 2.93."""
    if not request.config.getoption("--verify-slow"):
        pytest.skip("201 seeds: run with --verify-slow")
    worst = max(run_check(gl.LEMMA, gl.MONTE_CARLO, seed).figure for seed in range(201))
    assert worst < 4.5, worst
