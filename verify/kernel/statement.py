"""Statements, their evidence, and the registry.

A proof module (``proofs/<statement>.py``) builds one :class:`Statement` and exposes it as the module
attribute ``STATEMENT`` (or ``STATEMENTS``, a list).  The engine discovers statements through the
entry-point group ``softmax_verify.statements`` and never imports ``proofs`` by name: an entry point names
a module, or a package whose every public module is scanned at discovery time (this project registers the
package ``proofs``), so a statement is one file dropped into ``proofs/``.  Another package contributes
statements by registering its own module or package under the same group.

A statement carries
  * its closed form and hypotheses in LaTeX, in the paper's order,
  * derivations (:class:`verify.kernel.derivation.Derivation`), every step machine-checked,
  * evidence checks (:class:`Check`): each computes an :class:`Outcome` (a figure against a threshold)
    independently of the closed form,
  * optionally user-facing claim specs (:class:`verify.kernel.formula.ClaimSpec`) for ``verify claim``.

>>> at_least(31.2, 30, "digits").passed, at_most(6.0, 5, "|z|").passed
(True, False)
"""

from __future__ import annotations

import importlib
import math
import pkgutil
import time
from dataclasses import asdict, dataclass, field
from importlib import metadata
from typing import Any, Callable, Iterable, Sequence

import numpy as np

from verify.numerics.montecarlo import stream

__all__ = [
    "Outcome",
    "at_least",
    "at_most",
    "Check",
    "Mutant",
    "register_kind",
    "kinds",
    "Evidence",
    "Statement",
    "registry",
    "get_statement",
    "statements",
    "claim_specs",
    "run_check",
    "ENTRY_POINT_GROUP",
    "reset_registry",
]

ENTRY_POINT_GROUP = "softmax_verify.statements"

_KINDS: dict[str, str] = {}


def register_kind(name: str, description: str) -> None:
    """Open the registry of evidence kinds to a new kind (one engine constructor per kind, see
    :mod:`verify.kernel.evidence`).  Registering a known name again with the same description is a no-op."""
    if not isinstance(name, str) or not name or name != name.strip():
        raise ValueError(f"name: expected a non-empty kind name, got {name!r}")
    if name in _KINDS and _KINDS[name] != description:
        raise ValueError(f"name: kind {name!r} is already registered as {_KINDS[name]!r}")
    _KINDS[name] = description


def kinds() -> dict[str, str]:
    """The registered evidence kinds and what each one means."""
    return dict(_KINDS)


for _name, _doc in (
    ("symbolic", "a derivation: every step checked by SymPy"),
    ("quadrature", "agreement with high-precision quadrature of the definition"),
    ("float64", "agreement or bound in double precision against an independent computation"),
    ("certified", "Arb enclosures of the definition contain the subject and are narrow"),
    ("montecarlo", "z-test or rate of finite-L Monte Carlo estimates of the definition"),
    ("negative-control", "a wrong form is rejected by the same machinery"),
    ("rate", "a fitted exponent in L with its confidence interval"),
    ("audit", "a measurement of the paper's hypotheses or constants"),
):
    register_kind(_name, _doc)


@dataclass(frozen=True)
class Outcome:
    """A figure compared with a threshold: ``figure >= threshold`` or ``figure <= threshold``."""

    figure: float
    threshold: float
    relation: str  # ">=" or "<="
    unit: str = ""
    detail: str = ""

    def __post_init__(self):
        if self.relation not in (">=", "<="):
            raise ValueError(f"relation: expected '>=' or '<=', got {self.relation!r}")
        if isinstance(self.figure, float) and math.isnan(self.figure):
            raise ValueError("figure: a check produced NaN; refusing to judge it")

    @property
    def passed(self) -> bool:
        f = float(self.figure)
        return f >= self.threshold if self.relation == ">=" else f <= self.threshold


def at_least(figure: float, threshold: float, unit: str = "", detail: str = "") -> Outcome:
    """Pass when ``figure >= threshold`` (e.g. agreeing significant digits)."""
    return Outcome(float(figure), float(threshold), ">=", unit, detail)


def at_most(figure: float, threshold: float, unit: str = "", detail: str = "") -> Outcome:
    """Pass when ``figure <= threshold`` (e.g. |z| of a Monte Carlo comparison)."""
    return Outcome(float(figure), float(threshold), "<=", unit, detail)


@dataclass(frozen=True)
class Mutant:
    """A planted wrong subject (closed form or quantity) that a check must reject."""

    name: str
    subject: Any
    note: str = ""

    def __post_init__(self):
        if not isinstance(self.name, str) or not self.name.strip():
            raise ValueError(f"name: a mutant needs a name, got {self.name!r}")


@dataclass(frozen=True)
class Check:
    """One evidence item of a statement, built by a constructor of :mod:`verify.kernel.evidence`.

    ``run(rng, subject)`` receives a generator derived from the master seed and the check's name, and the
    subject under test (``subject``, or a mutant's), and returns an :class:`Outcome`.  ``kind`` is a
    registered kind (:func:`kinds`).  ``mutants`` are the wrong subjects the check must reject.  ``slow``
    checks run only when asked for (``verify run --slow``, ``pytest --run-slow``).
    """

    name: str
    kind: str
    run: Callable[[np.random.Generator, Any], Outcome]
    description: str = ""
    slow: bool = False
    subject: Any = None
    mutants: tuple = ()

    def __post_init__(self):
        if self.kind not in _KINDS:
            raise ValueError(f"kind: expected one of {tuple(_KINDS)}, got {self.kind!r}")
        object.__setattr__(self, "mutants", tuple(self.mutants))
        for m in self.mutants:
            if not isinstance(m, Mutant):
                raise TypeError(f"mutants: expected Mutant objects, got {type(m).__name__}")
        names = [m.name for m in self.mutants]
        if len(set(names)) != len(names):
            raise ValueError(f"mutants: duplicate names in {names}")

    def mutant_named(self, name: str) -> Mutant:
        for m in self.mutants:
            if m.name == name:
                return m
        raise ValueError(f"mutant: check {self.name!r} has no mutant {name!r}; known: {[m.name for m in self.mutants]}")

    def outcome(self, rng: np.random.Generator, mutant: str | None = None) -> Outcome:
        """Run on the true subject, or on the mutant named ``mutant``."""
        subject = self.subject if mutant is None else self.mutant_named(mutant).subject
        return self.run(rng, subject)


@dataclass(frozen=True)
class Evidence:
    """The record of one evidence item as run: what ``verify run --json`` prints."""

    id: str
    name: str
    kind: str
    passed: bool
    figure: float
    threshold: float
    relation: str
    unit: str
    seconds: float
    detail: str = ""
    mutant: str = ""
    """Empty for a run on the true subject; otherwise the planted mutant (then ``passed`` means *not caught*)."""

    @property
    def caught(self) -> bool:
        """For a mutant run: the check went red on the mutant, as it must."""
        return bool(self.mutant) and not self.passed

    def to_dict(self) -> dict:
        d = asdict(self)
        if not self.mutant:
            del d["mutant"]
        else:
            d["caught"] = self.caught
        for k in ("figure", "threshold"):
            if isinstance(d[k], float) and math.isinf(d[k]):
                d[k] = "inf" if d[k] > 0 else "-inf"
        return d


@dataclass
class Statement:
    """A statement of the paper (or of a result it leans on), with everything that checks it."""

    id: str
    number: str
    title: str
    summary: str
    source: str
    statement_tex: str
    hypotheses_tex: Sequence[str] = ()
    derivations: Callable[[], list] = lambda: []
    checks: Sequence[Check] = ()
    claims: Sequence = ()
    status: str = "verified"
    notes_tex: Sequence[str] = ()
    order: float = 0.0
    _built: tuple | None = field(default=None, init=False, repr=False, compare=False)

    def built_derivations(self) -> tuple:
        """The statement's derivations, built once per process (SymPy construction can take a moment)."""
        if self._built is None:
            self._built = tuple(self.derivations())
        return self._built

    @property
    def assumptions(self) -> tuple:
        """The named assumptions the derivations use (each carries its own check), in order of first use."""
        seen: dict = {}
        for d in self.built_derivations():
            for a in getattr(d, "assumptions", ()):
                seen.setdefault(a.name, a)
        return tuple(seen.values())

    def check_named(self, name: str) -> Check:
        for c in self.checks:
            if c.name == name:
                return c
        raise ValueError(f"check: {self.id} has no check named {name!r}")


def run_check(statement: Statement, check: Check, seed: int = 0, mutant: str | None = None) -> Evidence:
    """Run one check (on its subject, or on the mutant named ``mutant``) with its own reproducible stream.

    The mutant run draws the same stream as the true run, so the two see the same points and samples."""
    rng = stream(seed, statement.id, check.name)
    t0 = time.perf_counter()
    try:
        out = check.outcome(rng, mutant)
    except (ValueError, TypeError, ArithmeticError, np.linalg.LinAlgError) as exc:
        # A check that cannot compute its figure has failed; say why instead of hiding it.
        out = Outcome(math.inf, 0.0, "<=", "", f"error: {type(exc).__name__}: {exc}")
    seconds = time.perf_counter() - t0
    return Evidence(
        id=statement.id,
        name=check.name,
        kind=check.kind,
        passed=out.passed,
        figure=out.figure,
        threshold=out.threshold,
        relation=out.relation,
        unit=out.unit,
        seconds=seconds,
        detail=out.detail,
        mutant=mutant or "",
    )


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
