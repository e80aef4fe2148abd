"""Math on the site as MathML, converted at build time by latex2mathml: no script, no network, rendered natively by
the browser.

Sphinx's math nodes (MyST ``$...$``/``$$...$$``, the ``math`` role and directive, LaTeX outputs of the executed
notebooks) go through :func:`mathml`; the generated statement pages call the same function.  A LaTeX command the
converter leaves unconverted is a build warning (an error under ``-W``), never silently shown as source.
"""

from __future__ import annotations

import html
import re

from docutils import nodes
from latex2mathml.converter import convert
from sphinx.util import logging

logger = logging.getLogger(__name__)

# Commands latex2mathml does not know, rewritten to ones it does.
_REWRITES = (
    (re.compile(r"\\arg(?![A-Za-z])"), r"\\operatorname{arg}"),
    (re.compile(r"\\[Bb]igg?[lr]?(?![A-Za-z])"), ""),  # \big\| and friends: the delimiter alone
    (re.compile(r"\\!"), ""),
)


def _alphabet(upper: int, lower: int | None = None, digits: int | None = None, exceptions: str = "") -> dict:
    table = {chr(65 + k): chr(upper + k) for k in range(26)}
    if lower is not None:
        table.update({chr(97 + k): chr(lower + k) for k in range(26)})
    if digits is not None:
        table.update({chr(48 + k): chr(digits + k) for k in range(10)})
    for pair in exceptions.split():
        table[pair[0]] = pair[1]
    return table


# MathML Core (what Chromium renders) ignores mathvariant other than "normal": styled letters are written with the
# Unicode mathematical alphanumeric symbols instead (the holes of those blocks are the Letterlike Symbols).
_VARIANTS = {
    "script": _alphabet(0x1D49C, 0x1D4B6, None, "Bℬ Eℰ Fℱ Hℋ Iℐ Lℒ Mℳ Rℛ eℯ gℊ oℴ"),
    "double-struck": _alphabet(0x1D538, 0x1D552, 0x1D7D8, "Cℂ Hℍ Nℕ Pℙ Qℚ Rℝ Zℤ"),
    "fraktur": _alphabet(0x1D504, 0x1D51E, None, "Cℭ Hℌ Iℑ Rℜ Zℨ"),
    "bold": _alphabet(0x1D400, 0x1D41A, 0x1D7CE),
    "sans-serif": _alphabet(0x1D5A0, 0x1D5BA, 0x1D7E2),
    "monospace": _alphabet(0x1D670, 0x1D68A, 0x1D7F6),
}
_VARIANT_TAG = re.compile(r'<(mi|mn|mtext)([^>]*?) mathvariant="([a-z-]+)"([^>]*)>([^<]*)</\1>')


def _letters(match: re.Match) -> str:
    tag, before, variant, after, text = match.groups()
    table = _VARIANTS.get(variant)
    if table is None:
        return match.group(0)
    styled = "".join(table.get(c, c) for c in html.unescape(text))
    return f"<{tag}{before}{after}>{html.escape(styled, quote=False)}</{tag}>"


class UnsupportedMath(ValueError):
    """A formula the converter cannot render faithfully."""


def unconverted(markup: str) -> list[str]:
    """LaTeX commands left as text in ``markup`` (what the converter did not understand)."""
    text = html.unescape(re.sub(r"<[^>]*>", " ", markup))
    return sorted(set(re.findall(r"\\(?:[A-Za-z]+|[^A-Za-z\s])", text)))


def mathml(tex: str, display: bool = False) -> str:
    r"""``tex`` as one MathML ``<math>`` element (``display="block"`` when ``display``).

    >>> mathml("a^2")
    '<math xmlns="http://www.w3.org/1998/Math/MathML" display="inline"><mrow><msup><mi>a</mi><mn>2</mn></msup></mrow></math>'
    """
    source = tex.strip()
    for pattern, repl in _REWRITES:
        source = pattern.sub(repl, source)
    try:
        out = convert(source, display="block" if display else "inline")
    except Exception as exc:  # noqa: BLE001 - the converter raises many types; all mean "cannot render"
        raise UnsupportedMath(f"cannot convert {tex!r} to MathML ({type(exc).__name__}: {exc})") from None
    left = unconverted(out)
    if left:
        raise UnsupportedMath(f"LaTeX command(s) {', '.join(left)} not converted in {tex!r}")
    return _VARIANT_TAG.sub(_letters, out)


def _fallback(node, tex: str, exc: Exception) -> str:
    logger.warning(str(exc), location=node, type="softmax_verify", subtype="math")
    return f'<code class="sv-math-error">{html.escape(tex)}</code>'


def _visit_math(self, node) -> None:
    tex = node.astext()
    try:
        out = mathml(tex)
    except UnsupportedMath as exc:
        out = _fallback(node, tex, exc)
    self.body.append(self.starttag(node, "span", "", CLASS="math") + out + "</span>")
    raise nodes.SkipNode


def _visit_displaymath(self, node) -> None:
    self.body.append(self.starttag(node, "div", CLASS="math"))
    if node.get("number"):
        from sphinx.util.math import get_node_equation_number

        self.body.append(f'<span class="eqno">({get_node_equation_number(self, node)})</span>')
    parts = [p for p in node.astext().split("\n\n") if p.strip()]
    for part in parts:
        tex = part if (r"\\" not in part or r"\begin" in part) else r"\begin{gathered}" + part + r"\end{gathered}"
        try:
            self.body.append(mathml(tex, display=True))
        except UnsupportedMath as exc:
            self.body.append(_fallback(node, part, exc))
    self.body.append("</div>\n")
    raise nodes.SkipNode


def setup(app):
    app.add_html_math_renderer("mathml", inline_renderers=(_visit_math, None),
                               block_renderers=(_visit_displaymath, None))
    return {"parallel_read_safe": True, "parallel_write_safe": True}
