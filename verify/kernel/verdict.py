"""Verdicts: what a statement's evidence establishes, in a small vocabulary, instead of a pass count.

A statement declares its :class:`Finding` -- the outcome its derivations and checks are built to establish (the
statement holds; it holds under a hypothesis it names; it holds in a sharper form; its printed form contradicts the
evidence; it is false as written, with a witness) -- and :func:`verdict` computes the verdict from the records of a
run: the declared outcome when every derivation and check of the run passed, **not established** otherwise (naming
what failed).  A run that fails never reports the declared outcome.

>>> f = Finding("falsified as written", "fails at L = 1", form="d = 1, L = 1: left side 1, right side 0")
>>> verdict(f, [("derivation", True), ("witness", True)]).kind
'falsified as written'
>>> v = verdict(f, [("derivation", True), ("witness", False)])
>>> v.kind, v.failed
('not established', ('witness',))
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterable

__all__ = ["VERDICTS", "Finding", "Verdict", "verdict"]

VERDICTS = {
    "verified": "the statement holds as written: every derivation step and every check passed",
    "verified under hypotheses": "the statement holds under the hypotheses it states (named in the finding), and "
                                 "not without them",
    "sharpened": "the statement holds, and a stronger form holds too (the correct form is stated)",
    "contradicts the paper": "the evidence contradicts a claim of the paper as printed (the evidence is stated)",
    "falsified as written": "the statement as printed is false (a witness is stated); a repaired form may hold",
    "not established": "a derivation step or a check failed in this run: the declared outcome is not established",
}
"""The vocabulary of verdicts and what each means."""

DECLARABLE = tuple(k for k in VERDICTS if k != "not established")
"""The verdicts a statement may declare in its :class:`Finding`: every verdict but "not established"."""


@dataclass(frozen=True)
class Finding:
    """What a statement's evidence is built to establish: ``kind`` (one of :data:`DECLARABLE`), ``summary`` (one
    line of plain text: what was found), ``form`` (the witness, the correct form or the hypothesis, plain text;
    required for every kind but verified) and ``evidence`` (the names of the checks that carry the finding).

    >>> f = Finding("falsified as written", "the bound fails at L = 1", form="L = 1: left side 1, right side 0")
    >>> f.kind, f.evidence
    ('falsified as written', ())
    >>> Finding("sharpened", "a stronger form holds")
    Traceback (most recent call last):
    ...
    ValueError: form: a 'sharpened' finding states its witness, hypothesis or correct form
    """

    kind: str = "verified"
    summary: str = ""
    form: str = ""
    evidence: tuple = ()

    def __post_init__(self):
        if self.kind not in DECLARABLE:
            raise ValueError(f"kind: expected one of {', '.join(DECLARABLE)}, got {self.kind!r}")
        if self.kind != "verified" and not self.form.strip():
            raise ValueError(f"form: a {self.kind!r} finding states its witness, hypothesis or correct form")
        for text, what in ((self.summary, "summary"), (self.form, "form")):
            if "$" in text or "\\" in text:
                raise ValueError(f"{what}: plain text only (no LaTeX), got {text!r}")
        object.__setattr__(self, "evidence", tuple(self.evidence))


@dataclass(frozen=True)
class Verdict:
    """The verdict of one run: ``kind`` from :data:`VERDICTS`, the finding's summary and form, the names of the
    records that failed (empty unless not established), and how many records passed out of how many."""

    kind: str
    summary: str
    form: str = ""
    failed: tuple = ()
    passed: int = 0
    total: int = 0
    evidence: tuple = field(default_factory=tuple)

    @property
    def established(self) -> bool:
        return self.kind != "not established"

    def to_dict(self) -> dict:
        return {"verdict": self.kind, "summary": self.summary, "form": self.form, "failed": list(self.failed),
                "passed": self.passed, "total": self.total, "evidence": list(self.evidence)}


def verdict(finding: Finding, records: Iterable) -> Verdict:
    """The verdict of ``finding`` given the run's ``records``: :class:`verify.kernel.statement.Evidence` objects (or
    (name, passed) pairs), mutant records excluded.  Not established when a record failed or there is none."""
    pairs = []
    for r in records:
        if isinstance(r, tuple):
            pairs.append((str(r[0]), bool(r[1])))
        elif not getattr(r, "mutant", ""):
            pairs.append((r.name, bool(r.passed)))
    failed = tuple(name for name, ok in pairs if not ok)
    passed = len(pairs) - len(failed)
    if failed or not pairs:
        return Verdict("not established", finding.summary, finding.form, failed or ("no evidence was run",), passed,
                       len(pairs), finding.evidence)
    return Verdict(finding.kind, finding.summary, finding.form, (), passed, len(pairs), finding.evidence)
