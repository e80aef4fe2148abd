"""Every JSON record says how to reproduce it: package version, git commit (from a checkout), seed, library
versions and the exact command; the HTML report shows them in a footer."""

from __future__ import annotations

import json

import pytest

from verify.cli import main

KEYS = {"package", "version", "git_commit", "git_dirty", "seed", "versions", "command"}


def _json(capsys, *argv):
    assert main(list(argv)) in (0, 1)
    return json.loads(capsys.readouterr().out)


def test_run_records_each_carry_the_command_and_seed(capsys):
    docs = _json(capsys, "run", "linear-limit", "--json", "--seed", "3", "--no-derivations")
    assert docs and all(KEYS <= set(d["provenance"]) for d in docs)
    p = docs[0]["provenance"]
    assert p["seed"] == 3 and p["command"] == "verify run linear-limit --json --seed 3 --no-derivations"
    assert {"python", "numpy", "sympy", "mpmath", "flint"} <= set(p["versions"])
    assert p["version"].count(".") >= 2


def test_mutant_records_carry_provenance(capsys):
    docs = _json(capsys, "run", "linear-limit", "--mutants", "--json")
    assert docs and all(d["provenance"]["command"] == "verify run linear-limit --mutants --json" for d in docs)


def test_claim_record_carries_provenance(capsys):
    doc = _json(capsys, "claim", "linear-limit", "--formula", "V*m + V*Gamma*K.T*Q*z", "--json", "--seed", "1")
    assert doc["provenance"]["seed"] == 1 and doc["provenance"]["command"].startswith("verify claim linear-limit")


def test_study_record_carries_provenance(capsys, tmp_path):
    doc = _json(capsys, "mixture", "--json", "-o", str(tmp_path / "m"))
    assert doc["provenance"]["command"].startswith("verify mixture --json")
    saved = json.loads((tmp_path / "m" / "mixture.json").read_text())
    assert saved["provenance"] == doc["provenance"]


def test_report_footer_shows_each_inputs_provenance():
    from verify._provenance import provenance
    from verify.reports.html import ReportInputs, render_html

    records = [{"id": "linear-limit", "name": "n", "kind": "symbolic", "passed": True, "figure": 1.0,
                "threshold": 1.0, "relation": ">=", "unit": "", "seconds": 0.0, "provenance": provenance(7, ["verify", "run", "--json", "--seed", "7"])}]
    page = render_html(ReportInputs(records=records, audit={"provenance": None}))
    footer = page[page.index('<footer id="provenance">'):]
    assert "seed 7" in footer and "verify run --json --seed 7" in footer
    assert "audit</b>: no provenance recorded" in footer
    assert "this page" in footer


@pytest.mark.parametrize("bad", ["-v", "--seed"])
def test_provenance_command_has_no_machine_path(bad, monkeypatch):
    from verify._provenance import provenance

    monkeypatch.setattr("sys.argv", ["/usr/local/bin/verify", "run", bad])
    assert provenance()["command"] == f"verify run {bad}"
    monkeypatch.setattr("sys.argv", ["/opt/env/bin/pytest", "-q"])
    assert provenance()["command"] == "pytest -q"
