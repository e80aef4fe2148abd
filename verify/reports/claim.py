"""The verdict of ``verify claim`` for people, and the counterexample file a user can reload.

:func:`format_verdict` prints EQUAL (proved) / DIFFERENT / UNDECIDED with how it was decided (the degree bound and
the failure probability of the proof, or the certified counterexample and its exact point), then the numeric line
of evidence: the formula against the definition at the claim's reference points, as a table when the formula is not
EQUAL.  :func:`counterexample_document` is the JSON a user saves with ``--save-counterexample`` and reloads with
``--at``.
"""

from __future__ import annotations

import textwrap
from fractions import Fraction

__all__ = ["format_verdict", "counterexample_document", "format_point"]

HEADLINE = {"EQUAL": "EQUAL (proved)", "DIFFERENT": "DIFFERENT", "UNDECIDED": "UNDECIDED"}


def format_point(values: dict) -> list[str]:
    """The symbols of an exact point, one per line: integers and rationals as written (1/3), matrices row by row."""
    lines = []
    for name in sorted(values):
        v = values[name]
        if isinstance(v, Fraction):
            lines.append(f"{name} = {v}")
        elif all(len(row) == 1 for row in v):  # a column
            lines.append(f"{name} = ({', '.join(str(row[0]) for row in v)})ᵀ")
        else:
            rows = ["[" + ", ".join(str(x) for x in row) + "]" for row in v]
            lines.append(f"{name} = [{', '.join(rows)}]")
    return lines


def format_verdict(verdict, width: int = 100) -> str:
    """The verdict as a few lines of text (the table of reference points when the formula is not EQUAL)."""
    out = [f"{HEADLINE.get(verdict.verdict, verdict.verdict)}: {verdict.claim_id}: {verdict.formula}"]
    under = f" (under {', '.join(verdict.assumed)})" if verdict.assumed else ""
    d = verdict.decision

    def wrap(text, indent="  "):
        out.extend(textwrap.wrap(text, width, initial_indent=indent, subsequent_indent=indent + "  "))

    if d is not None:
        if verdict.verdict == "EQUAL":
            wrap(f"proved{under} by {d.method}: f - g vanishes exactly at {d.points} random points over d = "
                 f"{d.dims[0]}..{d.dims[-1]}; numerator degree <= {d.degree}; probability of a false EQUAL <= "
                 f"{d.failure_probability:.1g}")
        elif d.counterexample is not None:
            cx = d.counterexample
            wrap(f"counterexample{under} at d = {cx.dim}: entry {tuple(cx.entry)} of formula - closed form is "
                 f"{cx.difference}, which excludes 0 (Arb, {cx.bits} bits); the exact point:")
            for line in format_point(cx.values):
                wrap(line, "    ")
        else:
            wrap(f"{d.method}: {d.detail}")
    agree = "agrees" if verdict.numeric_agrees else "differs"
    wrap(f"against the definition at {verdict.n_points} reference points{under}: the formula {agree} (largest relative "
         f"difference {verdict.worst_error:.3g}, at d = {verdict.worst_dim}; tolerance {verdict.tolerance:.0e})")
    if verdict.verdict != "EQUAL" and verdict.rows:
        header = ("point", "d", "cases", "formula", "definition", "rel. difference")
        rows = [(str(r.index), str(r.dim), ",".join(r.cases) or "-", r.value, r.reference, f"{r.difference:.3g}")
                for r in verdict.rows]
        widths = [max(len(h), *(len(row[i]) for row in rows)) for i, h in enumerate(header)]
        out.append("    " + "  ".join(h.ljust(w) for h, w in zip(header, widths)).rstrip())
        for row in rows:
            out.append("    " + "  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip())
    for hint in verdict.hints:
        wrap(f"hint: the formula is proved EQUAL with {hint}")
    return "\n".join(out)


def counterexample_document(verdict) -> dict:
    """The JSON of a DIFFERENT verdict's counterexample, with the claim and the formula it refutes."""
    d = verdict.decision
    if d is None or d.counterexample is None:
        raise ValueError("counterexample: the verdict has none (it is not a certified DIFFERENT)")
    return {"claim": verdict.claim_id, "formula": verdict.formula, **d.counterexample.to_json()}
