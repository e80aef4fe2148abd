"""``verify claim zfb-minimizer`` / ``zfb-error``: the references are right (cross-checked against the engine and against a
Monte Carlo of the trained LSA), independent of the closed form, and the claims can fail."""

from __future__ import annotations

import dataclasses
from fractions import Fraction

import numpy as np
import pytest

import proofs.zfb_linear as ZL
import proofs.zfb_minimizer as ZM
from verify.icl import zfb_references as zr
from verify.kernel.registry import claim_specs
from verify.cli import main
from verify.kernel.claim import check_formula
from verify.icl.zfb import lsa_error_conditional_mc, lsa_trained_minimizer, zfb_error, zfb_gamma

SPECS = claim_specs()
GAMMA, ERROR = SPECS["zfb-minimizer"], SPECS["zfb-linear"]


def _float(M):
    return np.array([[float(x) for x in row] for row in M])


def test_references_agree_with_the_engine_closed_forms():
    """Cross-check (the claim itself never sees zfb_gamma/zfb_error): exact references vs the float64 closed forms."""
    rng = np.random.default_rng(3)
    for d in (1, 2, 5):
        Lam = zr.rational_lambda(d, rng)
        G = _float(zr.gamma_reference(Lam, 7))
        assert np.max(np.abs(G - zfb_gamma(_float(Lam), 7))) <= 1e-13 * np.max(np.abs(G))
        ref = float(zr.error_reference(Lam, 7, 3, Fraction(1, 2), Fraction(3, 4)))
        assert abs(ref - zfb_error(_float(Lam), 7, 3, 0.5, 0.75)) <= 1e-13 * ref


def test_error_reference_agrees_with_a_monte_carlo_of_the_trained_lsa():
    """The definition by simulation: LSA forward pass at the Gamma-free trained minimizer, d = 2, N = 3, M = 2, noisy."""
    Lam = zr.rational_lambda(2, np.random.default_rng(4))
    ref = float(zr.error_reference(Lam, 3, 2, Fraction(1, 2), Fraction(1, 4)))
    est = lsa_error_conditional_mc(_float(Lam), *lsa_trained_minimizer(_float(Lam), 3), 2, 200_000,
                                   np.random.default_rng(5), noise_std=0.5, target_noise_std=0.25)
    assert abs(est.z(ref)) <= 5
    assert abs(est.z(1.02 * ref)) > 5  # and the simulation resolves 2%


def test_points_cover_every_claimed_case():
    pts = ZL.error_claim_points(0)
    assert sorted({p.dim for p in pts}) == [1, 2, 3, 4, 5]
    for d in range(1, 6):
        cases = {p.cases for p in pts if p.dim == d}
        assert cases == {frozenset(), frozenset({"noiseless"}), frozenset({"equal-lengths"}),
                         frozenset({"noiseless", "equal-lengths"})}
    for p in pts:
        assert (p.values["s"] == 0 and p.values["t"] == 0) == ("noiseless" in p.cases)
        assert (p.values["M"] == p.values["N"]) == ("equal-lengths" in p.cases)
        L = p.values["Lambda"]  # generic: no zero entry
        assert all(L[i, j] != 0 for i in range(p.dim) for j in range(p.dim))
    assert sorted({p.dim for p in ZM.gamma_claim_points(0)}) == [1, 2, 3, 4, 5]


def test_the_planted_wrong_forms_are_rejected():
    for f in ("(1 + 2/N)*Lambda + trace(Lambda)/N*I", "Lambda"):
        assert not check_formula(GAMMA, f).accepted
    assert check_formula(GAMMA, GAMMA.example).accepted
    for f in ERROR.wrong_examples[:4]:  # 2/N in Gamma, Gamma = Lambda, dropped tr(Lambda)/M, noise without 1/M
        assert not check_formula(ERROR, f).accepted


def test_catalogue_sizes():
    for spec in (GAMMA, ERROR):
        assert len(spec.wrong_examples) >= 8 and len(spec.equivalents) >= 5


def test_conditional_forms_need_their_hypotheses(capsys):
    noiseless = ERROR.conditional_examples[0][0]
    assert check_formula(ERROR, noiseless, assume=("noiseless",)).accepted
    assert not check_formula(ERROR, noiseless).accepted
    assert main(["claim", "zfb-linear", "--formula", noiseless, "--assume", "noiseless"]) == 0
    assert main(["claim", "zfb-linear", "--formula", noiseless]) == 1
    assert main(["claim", "zfb-linear", "--formula", noiseless, "--assume", "centred"]) == 2
    capsys.readouterr()


def test_d5_points_are_needed():
    """A term vanishing at d <= 4 is caught by the numeric line only because the points reach d = 5; the exact
    decision refutes it at d = 5 whatever the reference points."""
    form = GAMMA.wrong_examples[-1]
    assert not check_formula(GAMMA, form).accepted
    low = dataclasses.replace(GAMMA, id="zfb-gamma-low", points=lambda seed: [p for p in ZM.gamma_claim_points(seed)
                                                                              if p.dim <= 4])
    v = check_formula(low, form, with_hints=False)
    assert v.numeric_agrees and v.verdict == "DIFFERENT" and v.decision.counterexample.dim >= 5


@pytest.mark.parametrize("spec", [GAMMA, ERROR], ids=lambda s: s.id)
def test_a_wrong_reference_rejects_the_true_form(spec, monkeypatch):
    """The reference can fail: fourth moments missing one Isserlis pairing (E x^4 = 2 instead of 3 at d = 1) move it."""
    real = zr.fourth_moments

    def wrong(Lam):
        m4 = real(Lam)
        return lambda a, b, c, e: m4(a, b, c, e) * (Fraction(2, 3) if a == b == c == e else 1)

    monkeypatch.setattr(zr, "fourth_moments", wrong)
    planted = dataclasses.replace(spec, id=spec.id + "-planted")  # not the cached points of the true spec
    assert not check_formula(planted, spec.example, seed=1).accepted


def test_cli_exit_codes(capsys):
    assert main(["claim", "zfb-minimizer", "--formula", GAMMA.example]) == 0
    assert main(["claim", "zfb-minimizer", "--formula", "(1 + 2/N)*Lambda + trace(Lambda)/N*I"]) == 1
    assert main(["claim", "zfb-minimizer", "--formula", "Lambda/(N - N)"]) == 2
    assert main(["claim", "zfb-linear", "--formula", "trace(Lambda) + x"]) == 2
    capsys.readouterr()
