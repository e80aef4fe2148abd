"""The machine-generated mutants of the Gaussian-family closed forms (``verify.kernel.mutate.mutation_campaign``):
every mutant the exact decision does not prove equal to the closed form turns a check red.  The two statements whose
evidence integrates ODEs or mixtures for each mutant (minutes) run with ``--verify-slow``."""

from __future__ import annotations

import pytest

from proofs import attention_dynamics, gaussian_mixture_limit, linear_limit, pushforward_law, sharp_exponent
from verify.kernel.mutate import mutation_campaign

FAST = {
    "linear-limit": (linear_limit.COMPANION, 31, 1),
    "pushforward-law (covariance)": (pushforward_law.STATEMENT, 45, 3),
    "pushforward-law (mean)": (pushforward_law.MEAN_VIEW, 29, 1),
    "sharp-exponent (large-s branch)": (sharp_exponent.STATEMENT, 26, 0),
}
SLOW = {
    "gaussian-mixture-limit": (gaussian_mixture_limit.MIXTURE, 201, 6),
    "attention-dynamics (dGamma/dt)": (attention_dynamics.STATEMENT, 52, 4),
    "attention-dynamics (dm/dt)": (attention_dynamics.MEAN_VIEW, 29, 1),
}


def _campaign(statement, generated, equivalent):
    report = mutation_campaign(statement)
    survivors = [(r["mutant"], r["green"]) for r in report["mutants"] if r["status"] == "survived"]
    assert not survivors, survivors
    assert report["generated"] == generated and report["equivalent"] == equivalent, report
    assert report["killed"] == generated - equivalent


@pytest.mark.parametrize("name", list(FAST))
def test_every_generated_mutant_is_killed_or_proved_equivalent(name):
    _campaign(*FAST[name])


@pytest.mark.parametrize("name", list(SLOW))
def test_every_generated_mutant_is_killed_or_proved_equivalent_slow(name, request):
    if not request.config.getoption("--verify-slow"):
        pytest.skip("a few minutes: run with --verify-slow")
    _campaign(*SLOW[name])


def test_each_statement_declares_its_closed_form_and_its_checks_adapt_it():
    for st in (linear_limit.COMPANION, pushforward_law.STATEMENT, attention_dynamics.STATEMENT,
               gaussian_mixture_limit.MIXTURE, sharp_exponent.STATEMENT):
        assert st.closed_form is not None and st.domains, st.id
        names = {s.name for s in st.closed_form.free_symbols if hasattr(s, "name")}
        assert names - {"d"} <= set(st.domains), (st.id, names - set(st.domains))
        assert any(c.adapter is not None for c in st.checks), st.id
