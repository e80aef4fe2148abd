"""The registry: statements discovered through entry points.

The engine never imports ``proofs`` by name.  An entry point of the group ``softmax_verify.statements`` names a
module, or a package whose every public module is scanned at discovery time (this project registers the package
``proofs``), so a statement is one file dropped into ``proofs/``.  Another package contributes statements by
registering its own module or package under the same group.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import json
import os
import pkgutil
from dataclasses import asdict, dataclass
from importlib import metadata
from pathlib import Path
from typing import Iterable

from verify.kernel.statement import Statement

__all__ = ["ENTRY_POINT_GROUP", "registry", "get_statement", "statements", "claim_specs", "find_claim", "reset_registry",
           "CatalogueEntry", "catalogue"]

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
    global _REGISTRY, _CLAIMS
    _REGISTRY = None
    _CLAIMS = None
    _ALIASES.clear()


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


def _part(claim_id: str, statement_id: str) -> str:
    """What distinguishes a statement's extra claim: its id past the words it shares with the statement's id."""
    a, b = claim_id.split("-"), statement_id.split("-")
    k = 0
    while k < min(len(a), len(b)) and a[k] == b[k]:
        k += 1
    return "-".join(a[k:]) or claim_id


_CLAIMS: dict | None = None
_ALIASES: dict = {}


def claim_specs() -> dict:
    """Every user-checkable claim (``verify claim``), by id: a statement's first claim under the statement's id,
    its other claims under ``<statement id>:<part>`` (e.g. ``icl-gradient:b``)."""
    global _CLAIMS
    if _CLAIMS is None:
        import dataclasses

        out = {}
        for st in registry().values():
            for k, spec in enumerate(st.claims):
                cid = st.id if k == 0 else f"{st.id}:{_part(spec.id, st.id)}"
                if cid in out:
                    raise ValueError(f"claim id {cid!r} registered twice")
                _ALIASES[spec.id] = cid
                out[cid] = spec if spec.id == cid else dataclasses.replace(spec, id=cid)
        _CLAIMS = out
    return _CLAIMS


def find_claim(claim_id: str):
    """The claim ``claim_id`` (its id, or the name it was declared under); ``ValueError`` naming the known ids."""
    if not isinstance(claim_id, str):
        raise TypeError(f"claim id: expected a string, got {type(claim_id).__name__}")
    specs = claim_specs()
    cid = claim_id if claim_id in specs else _ALIASES.get(claim_id)
    if cid is None:
        raise ValueError(f"claim id: unknown {claim_id!r}; known: {', '.join(specs)}")
    return specs[cid]


def get_statement(statement_id: str) -> Statement:
    reg = registry()
    if not isinstance(statement_id, str):
        raise TypeError(f"statement id: expected a string, got {type(statement_id).__name__}")
    if statement_id not in reg:
        raise ValueError(f"statement id: unknown {statement_id!r}; known: {', '.join(reg)}")
    return reg[statement_id]


# ---------------------------------------------------------------------------------------------------------
# the catalogue: what ``verify list`` prints, without building the statements


@dataclass(frozen=True)
class CatalogueEntry:
    """What a listing shows of a statement: its id, the paper's number, its declared verdict and its summary."""

    id: str
    number: str
    verdict: str
    summary: str

    @classmethod
    def of(cls, st: Statement) -> "CatalogueEntry":
        return cls(st.id, st.number, st.finding.kind, st.summary)


def _source_files() -> list[Path]:
    """The Python files that define the statements and the kernel (located without importing them)."""
    roots = [Path(__file__).resolve().parents[1]]
    for ep in metadata.entry_points(group=ENTRY_POINT_GROUP):
        spec = importlib.util.find_spec(ep.value.split(":")[0])
        if spec is None:
            continue
        roots += [Path(p) for p in (spec.submodule_search_locations or [])] or ([Path(spec.origin)] if spec.origin else [])
    files: set[Path] = set()
    for r in roots:
        files.update(r.rglob("*.py") if r.is_dir() else [r])
    return sorted(files)


def _catalogue_key() -> str:
    """A hash of every statement-defining source file and of the library versions: a cached catalogue is used only
    when it was written from exactly these sources."""
    h = hashlib.sha256()
    for lib in ("softmax-verify", "sympy"):
        try:
            h.update(metadata.version(lib).encode())
        except metadata.PackageNotFoundError:
            pass
    for f in _source_files():
        h.update(str(f).encode())
        h.update(f.read_bytes())
    return h.hexdigest()[:24]


def _cache_dir() -> Path | None:
    """``$SOFTMAX_VERIFY_CACHE`` (``off`` disables caching), else ``$XDG_CACHE_HOME/softmax-verify`` or
    ``~/.cache/softmax-verify``."""
    env = os.environ.get("SOFTMAX_VERIFY_CACHE")
    if env is not None:
        return None if env.lower() in ("", "0", "off", "no") else Path(env)
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "softmax-verify"


def catalogue(ids: Iterable[str] | None = None) -> list[CatalogueEntry]:
    """One :class:`CatalogueEntry` per statement (all, or those named by ``ids``), in the paper's order.

    Building the statements costs seconds (their SymPy derivations are constructed at import); the catalogue is
    therefore kept in a small JSON file of the user's cache directory, keyed by a hash of every source file that
    defines a statement, and rebuilt from the registry whenever one of them changed.  The registry itself stays the
    one source of truth: a cached entry is the registry's entry for exactly the sources hashed."""
    ids = list(dict.fromkeys(ids or []))
    if _REGISTRY is None:
        directory = _cache_dir()
        path = directory / f"catalogue-{_catalogue_key()}.json" if directory is not None else None
        if path is not None and path.exists():
            try:
                entries = [CatalogueEntry(**e) for e in json.loads(path.read_text())]
            except (ValueError, TypeError):
                entries = []
            known = {e.id: e for e in entries}
            if entries and all(i in known for i in ids):
                return [known[i] for i in ids] if ids else entries
        entries = [CatalogueEntry.of(st) for st in registry().values()]
        if path is not None:
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
                for old in path.parent.glob("catalogue-*.json"):
                    old.unlink()
                path.write_text(json.dumps([asdict(e) for e in entries]))
            except OSError:  # a read-only home: list without caching
                pass
    return [CatalogueEntry.of(st) for st in statements(ids)]
