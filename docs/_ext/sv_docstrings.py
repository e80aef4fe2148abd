"""Docstrings as the package writes them -- plain text with ASCII/LaTeX-ish math, ``literals``, Sphinx roles,
``>>>`` examples, indented display formulas -- turned into safe reStructuredText before autodoc renders them.

* an indented block (a display formula) becomes a literal block; ``>>>`` examples stay doctest blocks;
* in running text, LaTeX-ish commands become Unicode (``\\Gamma`` -> Γ, ``\\|`` -> ‖, ``\\le`` -> ≤), and the
  characters reStructuredText would read as markup (``|x|``, ``e_{d+1}``, a lone ``*``) are escaped; literals,
  roles, ``*emphasis*`` and links are kept;
* a role naming an object by its bare name (``:func:`true_gradients```) resolves to the unique documented object
  of the package with that name (``missing-reference``); a name that resolves nowhere stays a warning.

The docstrings follow the numpydoc layout where they have sections (napoleon renders those).
"""

from __future__ import annotations

import re

from docutils import nodes
from sphinx.util.nodes import make_refnode

_GREEK = ("alpha beta gamma delta epsilon varepsilon zeta eta theta kappa lambda mu nu xi pi rho sigma tau phi "
          "varphi chi psi omega Gamma Delta Theta Lambda Xi Pi Sigma Phi Psi Omega").split()
_GREEK_CHARS = "αβγδϵεζηθκλμνξπρστϕφχψωΓΔΘΛΞΠΣΦΨΩ"
_COMMANDS = dict(zip(_GREEK, _GREEK_CHARS))
_COMMANDS.update({
    "infty": "∞", "le": "≤", "leq": "≤", "ge": "≥", "geq": "≥", "neq": "≠", "ne": "≠", "approx": "≈", "sim": "∼",
    "to": "→", "mapsto": "↦", "in": "∈", "notin": "∉", "subset": "⊂", "times": "×", "cdot": "·", "otimes": "⊗",
    "pm": "±", "mp": "∓", "sum": "Σ", "prod": "∏", "int": "∫", "partial": "∂", "nabla": "∇", "sqrt": "√",
    "star": "⋆", "top": "ᵀ", "succ": "≻", "succeq": "⪰", "preceq": "⪯", "langle": "⟨", "rangle": "⟩",
    "ldots": "…", "cdots": "⋯", "dots": "…", "forall": "∀", "exists": "∃", "iff": "⇔", "implies": "⇒",
    "delta": "δ", "ell": "ℓ", "hat": "^", "bar": "‾", "tilde": "~", "circ": "∘", "propto": "∝", "equiv": "≡",
    "mathcal": "", "mathbb": "", "mathrm": "", "operatorname": "", "text": "", "tfrac": "", "frac": "",
    "left": "", "right": "", "big": "", "Big": "", "quad": " ", "qquad": "  ", "dot": "", "max": "max",
    "min": "min", "log": "log", "exp": "exp", "tr": "tr", "det": "det", "diag": "diag", "sinh": "sinh",
    "tanh": "tanh", "ln": "ln", "lambda_": "λ",
})

_PROTECT = re.compile(
    r"``[\s\S]+?``"                              # inline literal (may span lines)
    r"|:[\w:.+-]+:`[^`]+`"                       # role
    r"|(?<![\w*\\])\*\*?(?=\S)[^*\n]*?(?<=[^\s\\])\*\*?(?![\w*])"  # emphasis / strong
    r"|`[^`]+`_{0,2}"                            # interpreted text, link
    r"|https?://\S+")


def _text(s: str) -> str:
    """One stretch of running text without protected spans, made safe."""
    def command(m):
        name = m.group(1)
        return _COMMANDS.get(name, name)

    s = s.replace("\\|", "‖").replace("\\{", "{").replace("\\}", "}")
    for accent, mark in (("dot", "\u0307"), ("hat", "\u0302"), ("bar", "\u0304"), ("tilde", "\u0303")):
        s = re.sub(rf"\\{accent}\s*\{{([^{{}}])\}}|\\{accent}\s+([A-Za-z])|\\{accent}(\\[A-Za-z]+)",
                   lambda m: (m.group(1) or m.group(2) or m.group(3)) + mark, s)
    s = re.sub(r"\\[,;!: ]", " ", s)
    s = re.sub(r"\\([A-Za-z]+)", command, s)
    s = s.replace("\\", "\\\\")
    s = s.replace("|", "\\|").replace("*", "\\*").replace("`", "\\`")
    s = re.sub(r"_(?=\W|$)", r"\\_", s)
    return s


_END_OK = set(" \t-.,:;!?\\/'\")]}>")


def _line(line: str) -> str:
    out, pos = [], 0
    for m in _PROTECT.finditer(line):
        out.append(_text(line[pos:m.start()]))
        out.append(m.group(0))
        if m.end() < len(line) and line[m.end()] not in _END_OK:
            out.append("\\ ")  # markup must end before a letter or an opening bracket: an escaped space
        pos = m.end()
    out.append(_text(line[pos:]))
    return "".join(out)


_TABLE_RULE = re.compile(r"^\s*=+(\s+=+)+\s*$")
_BULLET = re.compile(r"^(\s*)([*+-]|\d+[.)]|\(\d+\))\s+")
_FIELD = re.compile(r"^(\s*:[\w\s.,*-]+:)(\s|$)")
_UNDERLINE = re.compile(r"^\s*([-=~^])\1{2,}\s*$")


def _table(block: list[str]) -> list[str]:
    """A simple table as a bullet list: the first column in bold lead, the rest escaped like running text."""
    rows: list[list[str]] = []
    rules = 0
    for ln in block:
        if _TABLE_RULE.match(ln):
            rules += 1
            continue
        if rules == 1:
            continue  # the header row
        if ln[:1].isspace() and rows:
            rows[-1][1] += " " + ln.strip()
        else:
            first, _, rest = ln.strip().partition("  ")
            rows.append([first, rest.strip()])
    out = []
    for first, rest in rows:
        out += _para([f"* {first} -- {rest}"])
    return [""] + out + [""]


def _para(lines: list[str]) -> list[str]:
    """Lines of running text (bullets and field markers kept), escaped as one string so that literals and roles
    may span lines."""
    if not lines:
        return []
    heads, bodies = [], []
    for ln in lines:
        m = _BULLET.match(ln) or _FIELD.match(ln)
        head = m.group(0) if m else " " * _indent(ln)
        heads.append(head)
        bodies.append(ln[len(head):] if m else ln.strip())
    joined = _line("\n".join(bodies)).split("\n")
    return [h + b.lstrip() for h, b in zip(heads, joined)]


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip())


def to_rst(lines: list[str]) -> list[str]:
    """The docstring ``lines`` (dedented by autodoc) as safe reStructuredText."""
    out: list[str] = []
    i, n = 0, len(lines)
    while i < n:
        if not lines[i].strip():
            out.append("")
            i += 1
            continue
        j = i
        while j < n and lines[j].strip():
            j += 1
        block = lines[i:j]
        first = block[0]
        if first.lstrip().startswith(">>>") or first.lstrip().startswith(".. "):
            k = j  # a doctest or a directive: verbatim, with its indented continuation
            while k < n and (not lines[k].strip() or _indent(lines[k]) > _indent(first)) and \
                    not (lines[k].strip() and lines[k].lstrip().startswith(">>>")):
                if not lines[k].strip() and (k + 1 >= n or _indent(lines[k + 1]) <= _indent(first)):
                    break
                k += 1
            out += lines[i:k] if first.lstrip().startswith(".. ") else block
            i = k if first.lstrip().startswith(".. ") else j
            continue
        if len(block) == 2 and _UNDERLINE.match(block[1]):
            out += block  # a numpydoc section title
            i = j
            continue
        if any(_TABLE_RULE.match(b) for b in block):
            out += _table(block)
            i = j
            continue
        base = _indent(first)
        listy = bool(_BULLET.match(first)) or bool(_FIELD.match(first))
        if base > 0 and not listy and (not out or not out[-1].strip() or out[-1].strip() == "::"):
            # an indented block after a paragraph: a display formula -> literal block
            if out and out[-1].strip() != "::":
                out += ["::", ""]
            elif not out:
                out += ["::", ""]
            out += [ln if ln.startswith("    ") else "    " + ln for ln in block]
            i = j
            continue
        k, para, last_bullet = 0, [], None
        while k < len(block):
            ln = block[k]
            m = _BULLET.match(ln) or _FIELD.match(ln)
            if (k > 0 and _indent(ln) > base and not listy and not m):
                # deeper lines inside a paragraph: end the paragraph, show them as a literal block
                out += _para(para) + ["", "::", ""]
                para = []
                while k < len(block) and _indent(block[k]) > base:
                    out.append("    " + block[k])
                    k += 1
                out.append("")
                continue
            if m and _BULLET.match(ln):
                if last_bullet is not None and _indent(ln) != last_bullet:
                    out += _para(para) + [""]  # a nested (or un-nested) list needs a blank line before it
                    para = []
                last_bullet = _indent(ln)
            para.append(ln)
            k += 1
        out += _para(para)
        i = j
    return out


def _process(app, what, name, obj, options, lines):
    new = to_rst(list(lines))
    if what in ("attribute", "data", "property") and new and re.search(r"(?<!:):(?!:)", new[0]):
        new[:0] = ["..", ""]  # napoleon would read "text: more" on an attribute's first line as a type
    lines[:] = new


def _resolve(app, env, node, contnode):
    """A bare or partly qualified Python name: the unique documented object of the package ending with it."""
    if node.get("refdomain") != "py":
        return None
    target = node.get("reftarget", "").lstrip(".~")
    if not target:
        return None
    domain = env.get_domain("py")
    objtypes = {"func": ("function", "method"), "class": ("class", "exception"), "meth": ("method",),
                "attr": ("attribute", "property"), "data": ("data", "attribute"), "mod": ("module",),
                "obj": None, "exc": ("exception", "class")}.get(node.get("reftype"))
    hits = []
    for fullname, entry in domain.objects.items():
        if not fullname.startswith("verify.") or entry.aliased:
            continue
        if fullname == target or fullname.endswith("." + target):
            if objtypes is None or entry.objtype in objtypes:
                hits.append((fullname, entry))
    if not hits and "." in target:  # a name re-exported by a package: verify.symbolic.explicit_at
        package, _, last = target.rpartition(".")
        hits = [(f, e) for f, e in domain.objects.items() if f.startswith(package + ".") and f.endswith("." + last)
                and not e.aliased and (objtypes is None or e.objtype in objtypes)]
    if not hits:
        if target.rsplit(".", 1)[-1].startswith("_"):
            return contnode  # a private helper named in running text: shown as code, not linked
        return None
    module = node.get("py:module") or ""
    cls = node.get("py:class") or ""
    if len(hits) > 1:  # the nearest: the referring class, module, then package
        for prefix in (f"{module}.{cls}." if cls else None, f"{module}.", module.rsplit(".", 1)[0] + "."):
            near = [h for h in hits if prefix and h[0].startswith(prefix)]
            if len(near) == 1:
                hits = near
                break
    if len(hits) != 1:
        return None
    fullname, entry = hits[0]
    return make_refnode(app.builder, node["refdoc"], entry.docname, entry.node_id, contnode, fullname)


def setup(app):
    app.connect("autodoc-process-docstring", _process, priority=100)  # before napoleon
    app.connect("missing-reference", _resolve)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
