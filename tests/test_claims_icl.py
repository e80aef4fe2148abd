"""ICL claims of ``verify claim``: points at d = 1..5 that see terms vanishing at small d,
``--assume invariant-subspace`` / ``noiseless`` / ``balanced``, the gradient and minimizer claims, and the
references (verify.icl.references) checked against the toolkit's other evaluations of the definition."""

from __future__ import annotations

import dataclasses
import time

import mpmath
import numpy as np
import pytest
from mpmath import mp

from verify.kernel.registry import claim_specs
from verify.cli import main
from verify.kernel.claim import check_formula
from verify.icl.risk import bayes_point
import proofs.icl_gradient as PG
import proofs.icl_minimizers as PM
import proofs.icl_risk_infinite as PR
from verify.icl.references import (
    CLAIM_DIMS as DIMS, claim_grid, definition_quadrature, gradient_definition, minimizer_U11, random_point,
    risk_definition_gh, task_moments,
)
from verify.icl.symbols import swap, swap_symbols
from verify.kernel.catalogue import cayley_hamilton_3 as cayley_hamilton3, vanishing_up_to


def vanishing_at_small_d(term: str) -> str:
    """A term that is 0 at d = 1, 2, 3 and not above."""
    return f"{vanishing_up_to(3, 'Sigma')}*({term})"

risk_claim_points, gradient_claim_points = PR.claim_points, PG.gradient_claim_points

SPECS = claim_specs()
RISK = SPECS["icl-risk-infinite"]
NEW = ("icl-gradient", "icl-gradient:b", "icl-minimizers", "icl-minimizers:bayes-risk")
INVARIANT = "(1/2)*trace((b*Sigma*U11 - I)*Sigma*(b*Sigma*U11 - I).T)"


def cli(capsys, claim_id, formula, *assume):
    extra = [a for name in assume for a in ("--assume", name)]
    code = main(["claim", claim_id, f"--formula={formula}", *extra])
    out, err = capsys.readouterr()
    return code, out, err


# ------------------------------------------------------------------ terms that vanish at small d

TRICKS = [RISK.example + " + " + vanishing_at_small_d(t) for t in ("trace(Sigma)", "s**2", "b", "u.T*Sigma*a")]
TRICKS += [RISK.example + f" + trace({cayley_hamilton3('Sigma')})", RISK.example + f" + u.T*{cayley_hamilton3('Sigma')}*u",
           RISK.example + f" + b*a.T*{cayley_hamilton3('Sigma')}*U11*a"]


@pytest.mark.parametrize("formula", TRICKS, ids=[f"trick{i}" for i in range(len(TRICKS))])
def test_terms_vanishing_at_small_d_are_rejected(capsys, formula):
    v = check_formula(RISK, formula)
    assert not v.accepted and v.worst_dim >= 4 and v.worst_error > 1e-3, v.detail
    code, out, _ = cli(capsys, RISK.id, formula)
    assert code == 1 and out.startswith("DIFFERENT")


def test_the_tricks_really_vanish_at_d_le_3():
    """The numeric comparison at d <= 3 alone would agree with them (points must reach d = 4 and 5); the exact
    decision refutes them at a d where they do not vanish."""
    low = dataclasses.replace(RISK, id="icl-risk-low-d", points=lambda seed: tuple(
        p for p in risk_claim_points(seed) if p.dim <= 3))
    for f in TRICKS:
        v = check_formula(low, f, with_hints=False)
        assert v.numeric_agrees and v.verdict == "DIFFERENT" and v.decision.counterexample.dim >= 4, f


def test_points_cover_every_case():
    pts = risk_claim_points(0)
    assert {p.dim for p in pts} == set(DIMS) == {1, 2, 3, 4, 5}
    for k in DIMS:
        at = [p for p in pts if p.dim == k]
        assert {p.cases for p in at} == {frozenset(), frozenset({"noiseless"}), frozenset({"invariant-subspace"}),
                                          frozenset({"invariant-subspace", "noiseless"})}
        for p in at:
            S, u, a = p.values["Sigma"], p.values["u"], p.values["a"]
            assert (p.values["s"] == 0) == ("noiseless" in p.cases)
            on = "invariant-subspace" in p.cases
            assert (mpmath.mnorm(u, 1) == 0 and mpmath.mnorm(a, 1) == 0) == on
            if k >= 2:  # generic non-diagonal Sigma
                assert any(S[i, j] != 0 for i in range(k) for j in range(k) if i != j)
    assert "d = 1, 2, 3, 4, 5" in RISK.coverage and "invariant-subspace" in RISK.coverage


def test_points_are_deterministic_and_checked_fast():
    a, c = risk_claim_points(0), risk_claim_points(0)
    assert [p.reference for p in a] == [p.reference for p in c]  # same seed, same bits
    assert [pt["Sigma"] for *_, pt in claim_grid(1)] != [pt["Sigma"] for *_, pt in claim_grid(0)]
    check_formula(RISK, RISK.example)  # the points of a seed are computed once per claim
    t0 = time.perf_counter()
    check_formula(RISK, RISK.example)
    assert time.perf_counter() - t0 < 2.0


# ------------------------------------------------------------------ --assume


def test_reduced_form_accepted_on_the_invariant_subspace_only(capsys):
    f = INVARIANT + " + s**2/2"
    v = check_formula(RISK, f, assume=("invariant-subspace",))
    assert v.accepted and v.n_points == 10, v.detail
    assert not check_formula(RISK, f).accepted
    assert cli(capsys, RISK.id, f, "invariant-subspace")[0] == 0
    code, out, _ = cli(capsys, RISK.id, f)
    assert code == 1 and out.startswith("DIFFERENT")


def test_printed_noiseless_form_needs_both_hypotheses(capsys):
    assert check_formula(RISK, INVARIANT, assume=("invariant-subspace", "noiseless")).accepted
    assert not check_formula(RISK, INVARIANT, assume=("invariant-subspace",)).accepted  # s > 0 points see s^2/2
    assert not check_formula(RISK, INVARIANT, assume=("noiseless",)).accepted  # u, a != 0 points
    assert cli(capsys, RISK.id, INVARIANT, "invariant-subspace", "noiseless")[0] == 0
    assert cli(capsys, RISK.id, INVARIANT, "invariant-subspace")[0] == 1


def test_unknown_hypothesis_is_bad_input(capsys):
    code, _, err = cli(capsys, RISK.id, RISK.example, "centred")
    assert code == 2 and "assume" in err and len(err.strip().splitlines()) == 1


def test_catalogue_sizes():
    assert len(RISK.wrong_examples) >= 10 and len(RISK.equivalents) >= 5
    assert dict(RISK.assumptions).keys() == {"invariant-subspace", "noiseless"}
    for cid in NEW:
        s = SPECS[cid]
        assert len(s.wrong_examples) >= 8 and len(s.equivalents) >= 5 and s.coverage, cid
        assert len(set(s.wrong_examples)) == len(s.wrong_examples) and s.example not in s.wrong_examples


# ------------------------------------------------------------------ the gradient and minimizer claims

PLANTED = {
    "icl-gradient": swap(SPECS["icl-gradient"].example, "*Sigma*(b*U11.T", "*Sigma*(b*U11"),
    "icl-gradient:b": SPECS["icl-gradient:b"].example + " + 1/10**15",
    "icl-minimizers": "(Sigma + I/10**6)**-1/b",
    "icl-minimizers:bayes-risk": "s**2/2 + b**2/10**10",
}


@pytest.mark.parametrize("cid", NEW)
def test_new_claim_example_accepted_and_planted_wrong_rejected(capsys, cid):
    spec = SPECS[cid]
    v = check_formula(spec, spec.example)
    assert v.accepted and v.n_points == 20 and {p.dim for p in spec.points(0)} == set(DIMS), v.detail
    assert cli(capsys, cid, spec.example)[0] == 0
    w = check_formula(spec, PLANTED[cid])
    assert not w.accepted and w.worst_error > 1e3 * spec.tolerance, w.detail
    assert cli(capsys, cid, PLANTED[cid])[0] == 1


@pytest.mark.parametrize("cid, formula, hyp", [
    ("icl-gradient", "b**2*Sigma**2*U11*Sigma - b*Sigma**2", ("invariant-subspace",)),  # -dA/dt, paper Sec. 5
    ("icl-gradient:b", "b*trace(U11.T*Sigma**2*U11*Sigma) - trace(U11.T*Sigma**2)", ("invariant-subspace",)),
    ("icl-minimizers", "trace(Sigma**-2)**(-1/4)*Sigma**-1", ("balanced",)),  # the paper's U_*
    ("icl-minimizers:bayes-risk", "0", ("noiseless",)),  # the paper's R* = 0
])
def test_conditional_forms(capsys, cid, formula, hyp):
    assert (formula, hyp) in tuple(SPECS[cid].conditional_examples)
    assert check_formula(SPECS[cid], formula, assume=hyp).accepted
    assert not check_formula(SPECS[cid], formula).accepted
    assert cli(capsys, cid, formula, *hyp)[0] == 0 and cli(capsys, cid, formula)[0] == 1


def test_the_reference_can_fail():
    """A reference shifted by 1e-15 (relative) keeps the true form from acceptance: the tolerance 1e-20 is meaningful,
    and a formula equal to the closed form that the definition contradicts puts the closed form itself in question."""
    spec = SPECS["icl-gradient"]
    shifted = dataclasses.replace(spec, id="shifted", points=lambda seed: tuple(
        dataclasses.replace(p, reference=p.reference * (1 + mp.mpf(10) ** -15)) for p in spec.points(seed)))
    v = check_formula(shifted, spec.example)
    assert not v.accepted and v.verdict == "UNDECIDED" and "closed form is in question" in v.detail


# ------------------------------------------------------------------ the references against the toolkit's others


@pytest.mark.parametrize("k", [1, 2, 3])
def test_task_moments_equal_the_full_quadrature(k):
    pt = random_point(k, np.random.default_rng(10 + k))
    with mp.workdps(45):
        full = definition_quadrature(pt, dps=45)
        mine = task_moments(pt["U"], pt["V"], pt["Sigma"], pt["s"], dps=45)["risk"]
        assert abs(full - mine) <= mp.mpf(10) ** -40 * max(1, abs(full))


@pytest.mark.parametrize("k", [4, 5])
def test_task_moments_equal_float64_quadrature_at_high_d(k):
    pt = random_point(k, np.random.default_rng(20 + k))
    U, V, S = (np.array(pt[n].tolist(), dtype=float) for n in ("U", "V", "Sigma"))
    ref = risk_definition_gh(U, V, S, float(pt["s"]))
    assert abs(float(task_moments(U, V, S, float(pt["s"]))["risk"]) - ref) <= 1e-12 * abs(ref)


@pytest.mark.parametrize("k", [1, 2, 4])
def test_gradient_reference_equals_float64_gradient_of_the_definition(k):
    pt = random_point(k, np.random.default_rng(30 + k))
    U, V, S = (np.array(pt[n].tolist(), dtype=float) for n in ("U", "V", "Sigma"))
    gU, gV = gradient_definition(U, V, S, float(pt["s"]))
    g = task_moments(U, V, S, float(pt["s"]), gradient=True)
    mine = np.array(g["gU"].tolist(), dtype=float), np.array(g["gV"].tolist(), dtype=float)
    scale = max(1.0, np.abs(gU).max(), np.abs(gV).max())
    assert np.abs(mine[0] - gU).max() <= 1e-11 * scale and np.abs(mine[1] - gV).max() <= 1e-11 * scale


def test_gradient_points_share_the_grid_of_the_risk_points():
    for block in ("U11", "b"):
        pts = gradient_claim_points(0, block)
        assert [(p.dim, p.cases) for p in pts] == [(p.dim, p.cases) for p in risk_claim_points(0)]
    with pytest.raises(ValueError, match="block"):
        gradient_claim_points(0, "V")


def test_minimizer_reference_is_a_minimizer_of_the_definition():
    """At the reference argmin the definition's gradient in U11 vanishes and R_inf = s^2/2 (float64, full rule)."""
    S = np.array([[1.5, 0.4], [0.4, 0.8]])
    U, V = np.zeros((3, 3)), np.zeros((3, 3))
    V[2, 2] = 0.7
    U11, risk = minimizer_U11(V, S, 0.3, with_risk=True)
    U[:2, :2] = np.array(U11.tolist(), dtype=float)
    gU, _ = gradient_definition(U, V, S, 0.3)
    assert np.abs(gU[:2, :2]).max() < 1e-12
    assert abs(risk_definition_gh(U, V, S, 0.3) - 0.045) < 1e-13 and abs(float(risk) - 0.045) < 1e-30
    with pytest.raises(ValueError, match="singular"):
        minimizer_U11(np.zeros((3, 3)), S, 0.3)


def test_minimizer_points():
    pts = PM.claim_points(0, "U11")
    assert {p.dim for p in pts} == set(DIMS)
    assert {c for p in pts for c in p.cases} == {"balanced", "noiseless"}
    for p in pts:
        if "balanced" in p.cases:
            with mp.workdps(40):
                Si = mpmath.inverse(p.values["Sigma"])
                b4 = sum((Si * Si)[i, i] for i in range(p.dim))
                assert abs(p.values["b"] ** 4 - b4) < mp.mpf(10) ** -35
    with pytest.raises(ValueError, match="what"):
        PM.claim_points(0, "V")


def test_task_moments_bad_input():
    U, V = bayes_point([[2.0]])
    with pytest.raises(ValueError, match="U, V"):
        task_moments(np.zeros((3, 3)), V, [[2.0]], 0.0)
    with mp.workdps(30):
        assert mp.nstr(task_moments(U, V, [[2.0]], 0.5)["risk"], 20) == "0.125"


def test_catalogue_helpers():
    with pytest.raises(ValueError, match="old"):
        swap("a + b", "c", "d")
    assert swap_symbols("trace(a*u.T) + a.T*Sigma*u", "a", "u") == "trace(u*a.T) + u.T*Sigma*a"
    with pytest.raises(ValueError, match="symbol"):
        swap_symbols("a + b", "a", "u")
    for cid in ("icl-risk-infinite",) + NEW:
        assert SPECS[cid].coverage.startswith("d = 1, 2, 3, 4, 5"), cid
