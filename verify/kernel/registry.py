"""The registry: statements discovered through entry points.

The engine never imports ``proofs`` by name.  An entry point of the group ``softmax_verify.statements`` names a
module, or a package whose every public module is scanned at discovery time (this project registers the package
``proofs``), so a statement is one file dropped into ``proofs/``.  Another package contributes statements by
registering its own module or package under the same group.
"""

from __future__ import annotations

import importlib
import pkgutil
from importlib import metadata
from typing import Iterable

from verify.kernel.statement import Statement

__all__ = ["ENTRY_POINT_GROUP", "registry", "get_statement", "statements", "claim_specs", "reset_registry"]

ENTRY_POINT_GROUP = "softmax_verify.statements"

_REGISTRY: dict[str, Statement] | None = None


def _statement_modules(obj) -> list:
    """A module registered by entry point, or -- for a package -- every module in it (found on disk at
    discovery time, so a module dropped into the package appears without reinstalling)."""
    if not hasattr(obj, "__path__"):
        return [obj]
    mods = []
    for info in sorted(pkgutil.iter_modules(obj.__path__), key=lambda i: i.name):
        if not info.name.startswith("_"):
            mods.append(importlib.import_module(f"{obj.__name__}.{info.name}"))
    return mods


def _statements_of(module) -> list:
    items = getattr(module, "STATEMENTS", None)
    if items is None:
        items = [module.STATEMENT] if hasattr(module, "STATEMENT") else []
    for st in items:
        if not isinstance(st, Statement):
            raise TypeError(f"{module.__name__}: STATEMENT(S) must hold Statement objects, got {type(st).__name__}")
    return list(items)


def _discover() -> dict[str, Statement]:
    """Statements of every module (or package of modules) under the entry-point group."""
    found: dict[str, Statement] = {}
    for ep in sorted(metadata.entry_points(group=ENTRY_POINT_GROUP), key=lambda e: e.name):
        for module in _statement_modules(ep.load()):
            for st in _statements_of(module):
                if st.id in found and found[st.id] is not st:
                    raise ValueError(f"statement id {st.id!r} registered twice")
                found[st.id] = st
    return dict(sorted(found.items(), key=lambda kv: (kv[1].order, kv[0])))


def reset_registry() -> None:
    """Forget the discovered statements (the next :func:`registry` call discovers them again)."""
    global _REGISTRY
    _REGISTRY = None


def registry() -> dict[str, Statement]:
    """All registered statements, by id, in the paper's order."""
    global _REGISTRY
    if _REGISTRY is None:
        _REGISTRY = _discover()
    return _REGISTRY


def statements(ids: Iterable[str] | None = None) -> list[Statement]:
    """The statements named by ``ids`` (all when empty), or ``ValueError`` naming the unknown one."""
    reg = registry()
    ids = list(dict.fromkeys(ids or []))  # a repeated id runs once
    if not ids:
        return list(reg.values())
    return [get_statement(i) for i in ids]


def claim_specs() -> dict:
    """Every user-checkable claim (``verify claim``), by id."""
    return {c.id: c for st in registry().values() for c in st.claims}


def get_statement(statement_id: str) -> Statement:
    reg = registry()
    if not isinstance(statement_id, str):
        raise TypeError(f"statement id: expected a string, got {type(statement_id).__name__}")
    if statement_id not in reg:
        raise ValueError(f"statement id: unknown {statement_id!r}; known: {', '.join(reg)}")
    return reg[statement_id]
