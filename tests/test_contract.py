"""The house contract every registered statement keeps (DESIGN.md, issue 6).

* every evidence check, and every assumption's check, declares at least one mutant (the pytest plugin runs
  each check on each mutant and fails when the check stays green);
* every derivation is one connected chain that declares the closed form it ends at;
* a proof module is one file of under ~400 lines that imports no other proof and no reporter;
* the engine never imports ``proofs``.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from verify.kernel.registry import registry

ROOT = Path(__file__).resolve().parents[1]
PROOF_FILES = sorted(p for p in (ROOT / "proofs").glob("*.py") if p.name != "__init__.py")
ENGINE_FILES = sorted((ROOT / "verify").rglob("*.py"))
MAX_PROOF_LINES = 420


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


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
            if node.module == "proofs":
                names |= {f"proofs.{a.name}" for a in node.names}
    return names


@pytest.mark.parametrize("path", PROOF_FILES, ids=lambda p: p.name)
def test_a_proof_module_is_small_and_stands_alone(path):
    lines = len(path.read_text().splitlines())
    assert lines <= MAX_PROOF_LINES, f"{path.name}: {lines} lines (split it by theorem)"
    bad = {m for m in _imports(path) if m.startswith("proofs") or m in ("verify.cli", "verify.kernel.runner", "verify.reports.latex",
                                                                         "verify.pytest_plugin")}
    assert not bad, f"{path.name} imports {sorted(bad)}"


def test_the_engine_never_imports_proofs():
    offenders = [p.relative_to(ROOT).as_posix() for p in ENGINE_FILES if any(m.startswith("proofs") for m in _imports(p))]
    assert not offenders, offenders
