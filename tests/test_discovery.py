"""A statement is one file: discovery through the entry-point group, packages scanned at discovery time.

The README's "Adding a statement" example is extracted and run here, installed as a tiny third-party
package (a temporary directory with its own ``*.dist-info/entry_points.txt``), so the suite never writes
into ``proofs/``.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import pytest

from verify.kernel import registry
from verify.cli import main

README = Path(__file__).resolve().parents[1] / "README.md"


def _readme_example() -> str:
    text = README.read_text()
    block = re.search(r"<!-- adding-a-statement:begin -->\s*```python\n(.*?)```\s*<!-- adding-a-statement:end -->",
                      text, re.S)
    assert block, "README: the 'Adding a statement' example is missing its markers"
    return block.group(1)


@pytest.fixture
def third_party(tmp_path, monkeypatch):
    """A package ``extra_statements`` registered under softmax_verify.statements from a temporary directory."""
    pkg = tmp_path / "extra_statements"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    dist = tmp_path / "extra_statements-0.1.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: extra-statements\nVersion: 0.1\n")
    (dist / "entry_points.txt").write_text("[softmax_verify.statements]\nextra = extra_statements\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    registry.reset_registry()
    yield pkg
    for name in [n for n in sys.modules if n == "extra_statements" or n.startswith("extra_statements.")]:
        del sys.modules[name]
    registry.reset_registry()


def test_the_readme_example_runs_as_a_third_party_statement(third_party, capsys):
    (third_party / "example_second_moment.py").write_text(_readme_example())
    assert "example-second-moment" in registry.registry()
    assert "gaussian-limit" in registry.registry(), "the project's own statements are still there"
    assert main(["list"]) == 0 and "example-second-moment" in capsys.readouterr().out
    assert main(["run", "example-second-moment", "--json"]) == 0
    records = json.loads(capsys.readouterr().out)
    assert [(r["name"], r["passed"]) for r in records] == [("second moment", True), ("quadrature", True),
                                                           ("verdict", True)]
    assert records[-1]["kind"] == "verdict" and records[-1]["verdict"] == "verified"
    assert main(["run", "example-second-moment", "--mutants", "--json"]) == 0
    (mut,) = json.loads(capsys.readouterr().out)
    assert mut["mutant"] == "m^2 - gamma" and mut["caught"] is True


def test_a_module_dropped_into_a_registered_package_appears_without_reinstalling(third_party):
    (third_party / "example_second_moment.py").write_text(_readme_example())
    assert "example-second-moment" in registry.registry()
    second = _readme_example().replace('"example-second-moment"', '"example-dropped-in"')
    (third_party / "dropped_in.py").write_text(second)
    registry.reset_registry()
    assert {"example-second-moment", "example-dropped-in"} <= set(registry.registry())


def test_a_wrong_example_is_caught(third_party, capsys):
    """The example's check can fail: with the closed form m^2 - gamma the run exits 1."""
    wrong = _readme_example().replace("CLOSED_FORM = m**2 + gamma", "CLOSED_FORM = m**2 - gamma")
    (third_party / "wrong_example.py").write_text(wrong)
    assert main(["run", "example-second-moment"]) == 1
    assert "FAIL" in capsys.readouterr().out


def test_duplicate_ids_and_non_statements_are_refused(third_party):
    (third_party / "a.py").write_text(_readme_example())
    (third_party / "b.py").write_text(_readme_example())
    with pytest.raises(ValueError, match="registered twice"):
        registry.registry()
    registry.reset_registry()
    (third_party / "b.py").write_text("STATEMENT = 42\n")
    sys.modules.pop("extra_statements.b", None)
    with pytest.raises(TypeError, match="Statement"):
        registry.registry()


def test_modules_without_a_statement_and_private_modules_are_skipped(third_party):
    (third_party / "helpers_only.py").write_text("X = 1\n")
    (third_party / "_private.py").write_text("raise RuntimeError('never imported')\n")
    ids = set(registry.registry())
    assert "gaussian-limit" in ids
