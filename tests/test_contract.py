"""The house contract every registered statement and every module keeps.

* every evidence check, and every assumption's check, declares at least one mutant (the pytest plugin runs each check
  on each mutant and fails when the check stays green);
* every derivation is one connected chain that declares the closed form it ends at;
* a proof module is named after the statement it holds (``proofs/<id with - as _>.py``) and owns its evidence: no
  module under ``verify/`` builds a Mutant or an evidence item (outside the kernel that defines them);
* the layer order of the package, written as import-linter contracts in ``pyproject.toml``, holds: a layer imports
  only layers below it, no import circles (function-level imports included), the engine never imports ``proofs``,
  no proof imports another proof or a study, report or interface.  The contract is shown to fail on a planted circle.
"""

from __future__ import annotations

import ast
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from verify.kernel.registry import registry

ROOT = Path(__file__).resolve().parents[1]
PROOF_FILES = sorted(p for p in (ROOT / "proofs").glob("*.py") if p.name != "__init__.py")
ENGINE_FILES = sorted((ROOT / "verify").rglob("*.py"))
EVIDENCE_CONSTRUCTORS = {"Mutant", "Check", "agreement", "enclosure", "z_test", "rate", "rejection", "bound",
                         "trajectory"}
KERNEL_DEFINITIONS = {ROOT / "verify" / "kernel" / "statement.py", ROOT / "verify" / "kernel" / "evidence.py"}


def _statements():
    return list(registry().values())


@pytest.mark.parametrize("st", _statements(), ids=lambda s: s.id)
def test_every_check_declares_a_mutant(st):
    bare = [c.name for c in st.checks if not c.mutants]
    bare += [f"assumption:{a.name}" for a in st.assumptions if not a.check.mutants]
    assert not bare, f"{st.id}: checks without a planted mutant: {bare}"


@pytest.mark.parametrize("st", _statements(), ids=lambda s: s.id)
def test_every_derivation_is_connected_and_declares_its_conclusion(st):
    for d in st.built_derivations():
        assert d.conclusion is not None, f"{st.id} / {d.name}: no conclusion declared"
        assert d.connected().passed, f"{st.id} / {d.name}: {d.connected().detail}"


@pytest.mark.parametrize("st", _statements(), ids=lambda s: s.id)
def test_a_proof_module_is_named_after_its_statement(st):
    path = ROOT / "proofs" / (st.id.replace("-", "_") + ".py")
    package = ROOT / "proofs" / st.id.replace("-", "_") / "__init__.py"
    assert path.exists() or package.exists(), f"{st.id}: expected proofs/{path.name} (or a package of that name)"


def _calls(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Call):
            f = node.func
            names.add(f.id if isinstance(f, ast.Name) else f.attr if isinstance(f, ast.Attribute) else "")
    return names


@pytest.mark.parametrize("path", [p for p in ENGINE_FILES if p not in KERNEL_DEFINITIONS],
                         ids=lambda p: p.relative_to(ROOT).as_posix())
def test_the_engine_builds_no_evidence(path):
    built = sorted(_calls(path) & EVIDENCE_CONSTRUCTORS)
    assert not built, f"{path.relative_to(ROOT)} builds {built}: a statement's evidence belongs in its proof module"


LINT_IMPORTS = [sys.executable, "-c", "from importlinter.cli import lint_imports_command; lint_imports_command()",
                "--no-cache"]


def test_the_layer_contract_holds():
    out = subprocess.run(LINT_IMPORTS + ["--config", str(ROOT / "pyproject.toml")],
                         cwd=ROOT, capture_output=True, text=True, timeout=120)
    if "No module named importlinter" in out.stderr:
        pytest.fail("import-linter is missing: pip install -e '.[test]'")
    assert out.returncode == 0 and "0 broken" in out.stdout, out.stdout[-3000:] + out.stderr[-2000:]


def test_the_layer_contract_fails_on_a_planted_circle(tmp_path):
    """A function-level import of the command line from the kernel runner is a circle the contract must see."""
    for name in ("verify", "proofs"):
        shutil.copytree(ROOT / name, tmp_path / name, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    runner = tmp_path / "verify" / "kernel" / "runner.py"
    runner.write_text(runner.read_text() + "\n\ndef _planted():\n    from verify.cli import main\n    return main\n")
    out = subprocess.run(LINT_IMPORTS + ["--config", str(tmp_path / "pyproject.toml")],
                         cwd=tmp_path, capture_output=True, text=True, timeout=120,
                         env={"PYTHONPATH": str(tmp_path), "PATH": "/usr/bin:/bin"})
    assert out.returncode != 0 and "BROKEN" in out.stdout, out.stdout[-2000:] + out.stderr[-2000:]
    assert "verify.kernel.runner -> verify.cli" in out.stdout
