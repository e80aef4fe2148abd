"""``verify selftest``: the quick selftest runs in the default suite, and it can fail.

The default run keeps well under a minute as the catalogue grows: the API judges the whole catalogue (every
example, rewriting, wrong and conditional formula of every claim: 237 formulas, ~14 s of CPU in 2026-11); the
command line judges a sample, the example and one wrong formula per claim and one small claim's whole catalogue
through ``verify selftest``.  (Every example, rewriting and wrong formula of every claim also goes through
``verify claim`` in ``tests/test_formula.py::test_registered_claims_exit_codes``.)  Should the API half outgrow
the minute, ``QUICK_SAMPLE`` keeps per claim the example, the conditional forms and that many rewritings and wrong
formulas spread over the lists.  The whole catalogue through API and CLI is ``test_full_catalogue``
(``--verify-slow``) and ``verify selftest``.
"""

from __future__ import annotations

import dataclasses
import json

import pytest

from verify.kernel import registry

from verify.studies import selftest
from verify.cli import main

QUICK_SAMPLE = None  # the whole catalogue through the API; an int k samples k rewritings and k wrong forms per claim
CHEAP_STATEMENTS = ("linear-limit", "zfb-minimizer")


def _cheap_claim(specs) -> str:
    return "icl-minimizers:bayes-risk" if "icl-minimizers:bayes-risk" in specs else min(specs, key=lambda c: len(specs[c].wrong_examples))


def test_quick_selftest_api_every_claim():
    specs = registry.claim_specs()
    records = selftest.run_claim_catalogue(sample=QUICK_SAMPLE)
    summary = selftest.summarise_claims(records)
    assert not summary["failures"], summary["failures"]
    assert summary["rejection_rate"] == 1.0 and summary["acceptance_rate"] == 1.0
    assert set(summary["per_claim"]) == set(specs)
    for cid, c in summary["per_claim"].items():  # every claim has a wrong form rejected and a true one accepted
        assert c["mutants"] >= 1 and c["rewritings"] >= 1, cid


def test_quick_selftest_cli_exit_codes_on_a_sample(capsys):
    specs = registry.claim_specs()
    for cid, spec in specs.items():
        assert main(selftest.claim_argv(cid, spec.example, 0)) == 0, cid
        if spec.wrong_examples:
            assert main(selftest.claim_argv(cid, spec.wrong_examples[0], 0)) == 1, cid
    capsys.readouterr()
    code = main(["selftest", _cheap_claim(specs), "--json"])
    doc = json.loads(capsys.readouterr().out)
    assert code == 0 and doc["ok"], doc["claims"]["failures"]
    for rec in doc["claim_records"]:
        assert rec["cli_exit"] == (0 if rec["expected"] == "accept" else 1), rec


def test_the_command_line_half_judges_the_exit_status_it_is_given():
    """``exit_code`` is the command line handed in by the caller: a command line that accepts every formula makes
    every wrong formula a failure; without ``exit_code`` only the API is judged."""
    cid = _cheap_claim(registry.claim_specs())
    calls = []
    records = selftest.run_claim_catalogue([cid], sample=1, exit_code=lambda argv: calls.append(argv) or 0)
    assert calls and all(argv[:2] == ["claim", cid] and argv[2].startswith("--formula=") for argv in calls)
    wrong = [r for r in records if r.expected == "reject"]
    assert wrong and all(r.cli_exit == 0 and not r.ok for r in wrong)
    assert all(r.ok for r in records if r.expected == "accept")
    assert all(r.cli_exit is None for r in selftest.run_claim_catalogue([cid], sample=1))
    with pytest.raises(TypeError, match="exit_code"):
        selftest.run_claim_catalogue([cid], exit_code="verify claim")


def test_two_seed_sweep_of_cheap_statements():
    out = selftest.run_seed_sweep(range(2), ids=CHEAP_STATEMENTS)
    assert out and all(s.failures == 0 and s.seeds == 2 for s in out), [s.to_dict() for s in out if s.failures]
    summary = selftest.summarise_seeds(out, 2)
    assert summary["failures"] == 0 and summary["cells"] == 2 * len(out)


@pytest.mark.slow
def test_full_catalogue(request, capsys):
    if not request.config.getoption("--verify-slow"):
        pytest.skip("the whole catalogue through API and CLI: run with --verify-slow")
    code = main(["selftest", "--json"])
    doc = json.loads(capsys.readouterr().out)
    assert code == 0 and doc["ok"], doc["claims"]["failures"]
    assert doc["claims"]["rejection_rate"] == 1.0 and doc["claims"]["acceptance_rate"] == 1.0


def test_selftest_goes_red_when_a_wrong_formula_is_listed_as_a_rewriting(monkeypatch):
    specs = registry.claim_specs()
    cid, spec = next(iter(specs.items()))
    planted = dataclasses.replace(spec, wrong_examples=(spec.example,))  # the true form listed as a mutant
    monkeypatch.setattr(selftest, "claim_specs", lambda: {**specs, cid: planted})
    records = selftest.run_claim_catalogue([cid], sample=1)
    summary = selftest.summarise_claims(records)
    assert summary["rejection_rate"] < 1.0
    assert [(f["formula"], f["expected"]) for f in summary["failures"]] == [(spec.example, "reject")]


def test_sample_spreads_over_the_catalogue():
    assert selftest._spread(range(10), 3) == [0, 4, 9] and selftest._spread(range(2), 3) == [0, 1]
    full, quick = selftest.catalogue(), selftest.catalogue(sample=2)
    assert set(quick) <= set(full) and len(quick) < len(full)
    with pytest.raises(ValueError, match="sample"):
        selftest.catalogue(sample=-1)


def _toy(monkeypatch):
    from verify.kernel.statement import Mutant, Statement
    from verify.kernel.evidence import bound

    flaky = bound("flaky", None, lambda p, s: p["u"], lambda rng: [{"u": float(rng.random())}], threshold=0.7,
                  mutants=[Mutant("m", None)])
    steady = bound("steady", None, lambda p, s: 0.0, [{}], threshold=0.7, mutants=[Mutant("m", None)])
    drawn = bound("drawn", None, lambda p, s: 0.0, lambda rng: [{"u": rng.random()}], threshold=0.7,
                  mutants=[Mutant("m", None)])
    toy = Statement("toy", "0", "toy", "toy", "test", "x", checks=[flaky, steady, drawn])
    monkeypatch.setattr(selftest, "get_statement", lambda sid: toy)


def test_seed_sweep_counts_failures_per_check(monkeypatch):
    """A check that fails at some seeds is reported with those seeds; a check that never fails reports 0."""
    _toy(monkeypatch)
    out = {s.name: s for s in selftest.run_seed_sweep(range(40), ids=["toy"])}
    assert out["steady"].failures == 0 and out["steady"].seeds == 40
    assert 0 < out["flaky"].failures < 40 and len(out["flaky"].failed_seeds) == out["flaky"].failures
    assert out["flaky"].worst_figure > 0.7 and out["flaky"].evaluations == 40
    assert 0 < selftest.Z_FALSE_ALARM < 1e-6


def test_seed_independent_checks_are_evaluated_twice(monkeypatch):
    """Only a check that never touches its generator (and agrees with itself) is run once per probe seed."""
    _toy(monkeypatch)
    out = {s.name: s for s in selftest.run_seed_sweep(range(6), ids=["toy"])}
    assert out["steady"].seed_independent and out["steady"].evaluations == 2 and out["steady"].seeds == 6
    assert not out["drawn"].seed_independent and out["drawn"].evaluations == 6  # drew, though its figure is constant
    assert not out["flaky"].seed_independent
    full = {s.name: s for s in selftest.run_seed_sweep(range(6), ids=["toy"], probe=False)}
    assert full["steady"].evaluations == 6 and full["steady"].worst_figure == out["steady"].worst_figure


def test_largest_z_counts_only_z_tests():
    """Rejections report |z| >= 5 as their figure: never mistaken for a false alarm or the largest |z|."""
    z = selftest.SeedSummary("a", "mc", "montecarlo", 3, 0, (), 2.5, 1, "|z|", "<=", 5.0, 3, False, 0.0, 2.5)
    rej = selftest.SeedSummary("a", "rej", "negative-control", 3, 0, (), 1e4, 0, "|z|", ">=", 5.0, 3, False, 0.0, 2e4)
    s = selftest.summarise_seeds([z, rej], 3)
    assert s["largest_abs_z"] == 2.5 and s["z_test_cells"] == 3 and rej.false_alarm_rate == 0.0
    refused = selftest.SeedSummary("b", "mc", "montecarlo", 3, 1, (2,), float("inf"), 2, "|z|", "<=", 5.0, 3, False,
                                   0.0, 3.8)  # an underpowered cell reports inf
    s = selftest.summarise_seeds([z, refused], 3)
    assert s["largest_abs_z"] == float("inf") and s["largest_finite_abs_z"] == 3.8 and s["failures"] == 1


def test_bad_sweep_arguments(capsys):
    with pytest.raises(ValueError, match="seeds"):
        selftest.run_seed_sweep([-1], ids=["zfb-minimizer"])
    with pytest.raises(ValueError, match="workers"):
        selftest.run_seed_sweep([0], ids=["zfb-minimizer"], workers=0)
    assert main(["selftest", "--sweep", "zfb-minimizer"]) == 2
    assert main(["selftest", "--full", "--sweep", "nope"]) == 2
    capsys.readouterr()


def test_sweep_log_resumes_an_interrupted_sweep(monkeypatch, tmp_path):
    """Cells in the log are not run again, and the resumed sweep reports the same as an uninterrupted one."""
    _toy(monkeypatch)
    log = tmp_path / "cells.jsonl"
    whole = selftest.run_seed_sweep(range(5), ids=["toy"], log=log)
    lines = log.read_text().splitlines()
    assert len(lines) == 2 + 2 * 5  # steady: the two probe seeds only
    log.write_text("\n".join(lines[:7]) + "\n" + lines[7][:20])  # interrupted mid-line
    calls = []
    real = selftest._cell
    monkeypatch.setattr(selftest, "_cell", lambda c: calls.append(c) or real(c))
    resumed = selftest.run_seed_sweep(range(5), ids=["toy"], log=log)
    assert len(calls) == len(lines) - 7
    strip = [{k: v for k, v in s.to_dict().items() if k != "seconds"} for s in whole]
    assert strip == [{k: v for k, v in s.to_dict().items() if k != "seconds"} for s in resumed]
