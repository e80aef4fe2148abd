r"""Plain Unicode text from the LaTeX that statements carry: what every terminal reporter prints.

Statement summaries, evidence names, descriptions and derivations are written once, in LaTeX (``$\mathcal
R_\infty$``, ``\Sigma^{-1}``, ``\tfrac12``); the LaTeX appendix and the HTML page render that source, and the
terminal shows the same mathematics as plain Unicode: Greek letters, ``ᵀ``, ``Σ⁻¹``, ``½``, ``‖A‖``, ``→``.

:func:`plain` takes text with ``$...$`` math (or a bare formula, see ``math``) and returns text with no ``$`` and
no backslash: every command it knows becomes its symbol, an unknown one its name.  :func:`text_width` is the
number of terminal columns a string takes (combining accents take none).

>>> plain(r"gradient flow on $\mathcal R_\infty$")
'gradient flow on R∞'
>>> plain(r"V m + V \Gamma K^{T} Q z")
'V m + V Γ Kᵀ Q z'
>>> plain(r"$\tfrac12\,\mathrm{tr}\big((b\Sigma A - I)\Sigma(b\Sigma A - I)^\top\big) + \tfrac{s^2}{2}$")
'½ tr((bΣ A − I)Σ(bΣ A − I)ᵀ) + s²/2'
>>> plain(r"$\mathrm{tr}(\Sigma^{-2})^{-1/4}\Sigma^{-1}$")
'tr(Σ⁻²)^(−1/4)Σ⁻¹'
>>> plain(r"\begin{pmatrix}\Gamma^{-1} & 0\\ 0 & 0\end{pmatrix}")
'(Γ⁻¹, 0; 0, 0)'
"""

from __future__ import annotations

import re
import unicodedata

__all__ = ["plain", "plain_math", "text_width"]

_GREEK = {
    "alpha": "α", "beta": "β", "gamma": "γ", "delta": "δ", "epsilon": "ϵ", "varepsilon": "ε", "zeta": "ζ",
    "eta": "η", "theta": "θ", "vartheta": "ϑ", "iota": "ι", "kappa": "κ", "lambda": "λ", "mu": "μ", "nu": "ν",
    "xi": "ξ", "pi": "π", "varpi": "ϖ", "rho": "ρ", "varrho": "ϱ", "sigma": "σ", "varsigma": "ς", "tau": "τ",
    "upsilon": "υ", "phi": "ϕ", "varphi": "φ", "chi": "χ", "psi": "ψ", "omega": "ω",
    "Gamma": "Γ", "Delta": "Δ", "Theta": "Θ", "Lambda": "Λ", "Xi": "Ξ", "Pi": "Π", "Sigma": "Σ", "Upsilon": "Υ",
    "Phi": "Φ", "Psi": "Ψ", "Omega": "Ω",
}
_SYMBOLS = {
    "to": "→", "rightarrow": "→", "longrightarrow": "→", "mapsto": "↦", "longmapsto": "↦", "Rightarrow": "⇒",
    "Longrightarrow": "⇒", "implies": "⇒", "Leftrightarrow": "⇔", "iff": "⇔", "leftarrow": "←", "gets": "←",
    "le": "≤", "leq": "≤", "ge": "≥", "geq": "≥", "ne": "≠", "neq": "≠", "approx": "≈", "simeq": "≃", "sim": "∼",
    "cong": "≅", "equiv": "≡", "propto": "∝", "ll": "≪", "gg": "≫", "prec": "≺", "succ": "≻", "preceq": "⪯",
    "succeq": "⪰", "coloneqq": "≔", "infty": "∞", "partial": "∂", "nabla": "∇", "cdot": "·", "cdots": "⋯",
    "ldots": "…", "dots": "…", "vdots": "⋮", "ddots": "⋱", "times": "×", "otimes": "⊗", "oplus": "⊕", "pm": "±",
    "mp": "∓", "in": "∈", "notin": "∉", "ni": "∋", "subset": "⊂", "subseteq": "⊆", "supset": "⊃", "cup": "∪",
    "cap": "∩", "setminus": "∖", "forall": "∀", "exists": "∃", "neg": "¬", "land": "∧", "lor": "∨", "wedge": "∧",
    "vee": "∨", "langle": "⟨", "rangle": "⟩", "lceil": "⌈", "rceil": "⌉", "lfloor": "⌊", "rfloor": "⌋",
    "|": "‖", "Vert": "‖", "lVert": "‖", "rVert": "‖", "vert": "|", "lvert": "|", "rvert": "|", "mid": "|",
    "sum": "∑", "prod": "∏", "int": "∫", "oint": "∮", "top": "ᵀ", "intercal": "ᵀ", "star": "⋆", "ast": "∗",
    "circ": "∘", "ell": "ℓ", "hbar": "ℏ", "emptyset": "∅", "varnothing": "∅", "prime": "′", "surd": "√",
    "bullet": "•", "triangleright": "▹", "square": "□", "perp": "⊥", "parallel": "∥", "angle": "∠",
    "{": "{", "}": "}", "%": "%", "#": "#", "&": "&", "_": "_", "$": "＄", "lbrace": "{", "rbrace": "}",
    "Longleftrightarrow": "⟺", "longleftrightarrow": "⟷", "leftrightarrow": "↔", "uparrow": "↑",
    "downarrow": "↓", "hookrightarrow": "↪", "rightsquigarrow": "⇝", "aleph": "ℵ", "Re": "ℜ", "Im": "ℑ", "wp": "℘", "dagger": "†", "S": "§", "P": "¶", "checkmark": "✓",
}
_DROP = {"left", "right", "middle", "big", "Big", "bigg", "Bigg", "bigl", "bigr", "Bigl", "Bigr", "biggl", "biggr",
         "Biggl", "Biggr", "bigm", "Bigm", "displaystyle", "textstyle", "scriptstyle", "scriptscriptstyle", "limits",
         "nolimits", "nonumber", "notag", "allowbreak", "relax", "mathclose", "mathopen", "mathpunct", "mathinner",
         "mathrel", "mathbin", "mathord", "mathop", "noindent", "centering", "raggedright", "par", "newline",
         "small", "footnotesize", "normalsize", "large", "protect", "nobreak", "hfill", "vfill", "smallskip",
         "medskip", "bigskip"}
_SPACES = {",": " ", ":": " ", ";": " ", ">": " ", "!": "", " ": " ", "quad": "  ", "qquad": "   ",
           "enspace": " ", "thinspace": " ", "medspace": " ", "thickspace": " ", "space": " ", "hfil": " ",
           "hspace": " ", "vspace": "", "kern": "", "mkern": "", "hskip": " "}
_TEXTUAL = {"text", "textrm", "textit", "textbf", "textsf", "texttt", "textup", "textnormal", "emph", "mbox",
            "mathrm", "mathit", "mathbf", "mathsf", "mathtt", "mathnormal", "boldsymbol", "bm", "operatorname",
            "operatorname*", "mathcal", "mathscr", "mathfrak", "hbox", "fbox", "underline", "url", "nolinkurl"}
_BLACKBOARD = {"R": "ℝ", "N": "ℕ", "Z": "ℤ", "Q": "ℚ", "C": "ℂ"}
_WORDS = {"log", "ln", "exp", "det", "tr", "min", "max", "lim", "sup", "inf", "arg", "sin", "cos", "tan", "tanh",
          "sinh", "cosh", "argmin", "argmax", "rank", "diag", "dim", "ker", "deg", "Pr", "sgn", "sign", "vec",
          "liminf", "limsup", "gcd", "erf", "Var", "Cov", "cov", "mean"}
_ACCENTS = {"dot": "\u0307", "ddot": "\u0308", "hat": "\u0302", "widehat": "\u0302", "bar": "\u0304",
            "overline": "\u0305", "tilde": "\u0303", "widetilde": "\u0303", "vec": "\u20d7", "check": "\u030c",
            "breve": "\u0306", "acute": "\u0301", "grave": "\u0300", "mathring": "\u030a"}
_VULGAR = {("1", "2"): "½", ("1", "3"): "⅓", ("2", "3"): "⅔", ("1", "4"): "¼", ("3", "4"): "¾", ("1", "5"): "⅕",
           ("1", "6"): "⅙", ("1", "8"): "⅛"}
_SUP = dict(zip("0123456789+-−=()niTabcdefghjklmoprstuvwxyzABDEGHIJKLMNOPRUVWαβγδθφχ",
                "⁰¹²³⁴⁵⁶⁷⁸⁹⁺⁻⁻⁼⁽⁾ⁿⁱᵀᵃᵇᶜᵈᵉᶠᵍʰʲᵏˡᵐᵒᵖʳˢᵗᵘᵛʷˣʸᶻᴬᴮᴰᴱᴳᴴᴵᴶᴷᴸᴹᴺᴼᴾᴿᵁⱽᵂᵅᵝᵞᵟᶿᵠᵡ"))
_SUP.update({"ᵀ": "ᵀ", "*": "*", "⋆": "*", "∗": "*", "′": "′", "'": "′"})
_SUB = dict(zip("0123456789+-−=()aehijklmnoprstuvxβγρφχ", "₀₁₂₃₄₅₆₇₈₉₊₋₋₌₍₎ₐₑₕᵢⱼₖₗₘₙₒₚᵣₛₜᵤᵥₓᵦᵧᵨᵩᵪ"))
_SUB.update({"*": "*", "⋆": "*", "∗": "*"})
_ENVS_MATRIX = {"pmatrix": "()", "bmatrix": "[]", "Bmatrix": "{}", "vmatrix": "||", "Vmatrix": "‖‖", "matrix": "",
                "smallmatrix": "", "array": ""}

_TOKEN = re.compile(r"\\[A-Za-z]+\*?|\\.|\s+|[^\\\s]", re.S)


def text_width(text: str) -> int:
    """Terminal columns of ``text``: combining marks take none, East Asian wide characters two."""
    width = 0
    for ch in text:
        if unicodedata.combining(ch):
            continue
        width += 2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1
    return width


class _Math:
    """A small recursive reader of TeX math tokens that writes Unicode."""

    def __init__(self, tex: str):
        self.toks = _TOKEN.findall(tex)
        self.i = 0

    def peek(self):
        return self.toks[self.i] if self.i < len(self.toks) else None

    def take(self):
        t = self.peek()
        self.i += 1
        return t

    def skip_space(self):
        while self.peek() is not None and self.peek().isspace():
            self.i += 1

    def group(self, until: str = "}") -> str:
        """Tokens up to the matching ``until`` (the opening brace already taken), converted."""
        return self.run(stop=until)

    def raw_group(self) -> str:
        """The raw text of a brace group (environment names, \\text contents)."""
        self.skip_space()
        if self.peek() != "{":
            return self.take() or ""
        self.take()
        depth, out = 1, []
        while self.peek() is not None:
            t = self.take()
            if t == "{":
                depth += 1
            elif t == "}":
                depth -= 1
                if depth == 0:
                    break
            out.append(t)
        return "".join(out)

    def optional(self) -> str | None:
        """A ``[...]`` optional argument, converted, or None."""
        self.skip_space()
        if self.peek() != "[":
            return None
        self.take()
        return self.run(stop="]")

    def arg(self) -> str:
        """One argument: a brace group or a single token, converted."""
        self.skip_space()
        t = self.peek()
        if t is None:
            return ""
        if t == "{":
            self.take()
            return self.group()
        self.take()
        return self.one(t)

    def raw_arg(self) -> str:
        """One argument as raw TeX: a brace group's text, or a single token (``\\tfrac12``)."""
        self.skip_space()
        if self.peek() == "{":
            return self.raw_group()
        return self.take() or ""

    def run(self, stop: str | None = None) -> str:
        out: list[str] = []
        while self.peek() is not None:
            t = self.peek()
            if stop is not None and t == stop:
                self.take()
                break
            if t == r"\end":
                break
            self.take()
            if t in ("^", "_"):
                base = out[-1].strip() if out else ""
                piece = self.script(t, out)
                out.append(piece)
                nxt = self.peek()
                if (piece[:1] in "^_" and not piece.endswith(")") or base in _WORDS or base in "∑∏∫") and nxt and (nxt[0].isalpha() or nxt[:2].lstrip("\\")[:1].isalpha() and nxt.startswith("\\") and nxt[1:] not in _DROP and nxt[1:] not in _SPACES):
                    out.append(" ")  # E_w E_x, not E_wE_x
            else:
                out.append(self.one(t))
        return "".join(out)

    def script(self, kind: str, out: list[str]) -> str:
        body = self.arg().strip()
        table = _SUP if kind == "^" else _SUB
        if not body:
            return ""
        if kind == "^" and body in ("ᵀ", "T", "⊤"):
            return "ᵀ"
        if body in ("*", "⋆", "∗"):
            return "*"
        if body == "′":
            return "′"
        if kind == "_" and body == "∞":
            return "∞"  # R∞, θ∞: no subscript infinity exists
        if kind == "_" and body == "#":
            return "#"  # the pushforward T_# mu
        letters = sum(c.isalpha() for c in body)
        if len(body) <= 6 and letters <= 1 and all(c in table for c in body):
            return "".join(table[c] for c in body)
        mark = "^" if kind == "^" else "_"
        if re.fullmatch(r"[A-Za-z0-9α-ωΑ-Ω′∞]+", body):
            return mark + body
        return f"{mark}({body})"

    def one(self, t: str) -> str:
        if t == "{":
            return self.group()
        if t == "}":
            return ""
        if t.isspace():
            return " "
        if t == "~":
            return " "
        if t == "&":
            return ", "
        if t == "-":
            return "−"
        if t == "'":
            return "′"
        if not t.startswith("\\"):
            return t
        name = t[1:]
        if name == "\\":
            if self.peek() == "[":  # a row skip \\[2pt], not a bracket that starts the next row
                close = self.toks.index("]", self.i) if "]" in self.toks[self.i:] else -1
                if close > 0 and re.fullmatch(r"\s*-?[\d.]+\s*(pt|em|ex|mm|cm|bp)\s*", "".join(self.toks[self.i + 1:close])):
                    self.i = close + 1
            return "; "
        if name in _GREEK:
            return _GREEK[name]
        if name in _SPACES:
            if name in ("hspace", "vspace", "kern", "mkern", "hskip"):
                self.raw_group()
            return _SPACES[name]
        if name in _DROP:
            if name in ("left", "right", "middle") and self.peek() == ".":
                self.take()
            return ""
        if name in ("frac", "tfrac", "dfrac", "cfrac"):
            a, b = self.raw_arg(), self.raw_arg()
            if (a.strip("{}"), b.strip("{}")) in _VULGAR:
                return _VULGAR[(a.strip("{}"), b.strip("{}"))]
            num, den = _Math(a).run().strip(), _Math(b).run().strip()
            return f"{_paren(num)}/{_paren(den)}" + self._gap()
        if name == "binom":
            a, b = self.arg(), self.arg()
            return f"C({a.strip()}, {b.strip()})"
        if name == "sqrt":
            index = self.optional()
            body = self.arg().strip()
            root = {"3": "∛", "4": "∜"}.get((index or "").strip(), "√" if not index else f"{index.strip()}√")
            return root + (body if _atomic(body) else f"({body})")
        if name in _ACCENTS:
            body = self.arg()
            if not body:
                return ""
            return body + _ACCENTS[name] if len(body) == 1 else f"{body}{_ACCENTS[name]}"
        if name == "mathbb":
            body = self.arg()
            return "".join(_BLACKBOARD.get(c, c) for c in body)
        if name in ("mathbbm", "mathds"):
            body = self.arg()
            return "𝟙" if body == "1" else body
        if name in _TEXTUAL or name in ("mathcal", "mathscr", "mathfrak"):
            if name in ("url", "nolinkurl"):
                return self.raw_group()
            if name in ("text", "textrm", "textit", "textbf", "textsf", "texttt", "textup", "textnormal", "emph",
                        "mbox", "hbox", "fbox"):
                return plain(self.raw_group(), math=False)
            body = self.arg()
            return body + self._gap() if body in _WORDS else body
        if name in ("underbrace", "overbrace"):
            body = self.arg()
            if self.peek() in ("_", "^"):
                self.take()
                self.arg()
            return body
        if name in ("xrightarrow", "xleftarrow", "xmapsto", "xlongrightarrow"):
            below = self.optional()
            above = self.arg().strip()
            label = ", ".join(x.strip() for x in (above, below) if x and x.strip())
            arrow = {"xleftarrow": "←", "xmapsto": "↦"}.get(name, "→")
            return f"{arrow}[{label}]" if label else arrow
        if name in ("begin", "end"):
            env = self.raw_group()
            if name == "end":
                return ""
            return self.environment(env)
        if name in ("overset", "underset", "stackrel"):
            label, base = self.arg().strip(), self.arg().strip()
            return f"{base}[{label}]"
        if name in ("not",):
            nxt = self.arg()
            return {"=": "≠", "∈": "∉", "⊂": "⊄"}.get(nxt, "¬" + nxt)
        if name in ("label", "ref", "eqref", "cite", "tag"):
            body = self.raw_group()
            return "" if name == "label" else f"({body})"
        if name in ("color", "textcolor"):
            self.raw_group()
            return "" if name == "color" else self.arg()
        if name in _WORDS:
            return name + self._gap()
        if name in _SYMBOLS:
            return _SYMBOLS[name]
        if len(name) == 1 and not name.isalpha():
            return name
        return name  # an unknown command: its name, never a backslash

    def _gap(self) -> str:
        """A space after an operator name (log, tr) when a symbol follows directly: ``\\log\\pi`` is log π."""
        nxt = self.peek()
        if not nxt:
            return ""
        if nxt[0].isalpha():
            return " "
        name = nxt[1:]
        if nxt.startswith("\\") and name[:1].isalpha() and name not in _DROP and name not in _SPACES:
            return " "
        return ""

    def environment(self, env: str) -> str:
        env = env.strip()
        if env == "array":
            self.raw_group()  # the column spec
        body = self.run()
        # the \end{env} token is next: consume it and its name
        if self.peek() == r"\end":
            self.take()
            self.raw_group()
        body = re.sub(r"(,\s*)+(;|$)", r"\2", body.strip())
        if env in _ENVS_MATRIX:
            delims = _ENVS_MATRIX[env]
            rows = [r.strip().strip(",").strip() for r in body.split(";")]
            inner = "; ".join(r for r in rows if r)
            return f"{delims[0]}{inner}{delims[1]}" if delims else f"[{inner}]"
        if env == "cases":
            rows = [r.strip().strip(",").strip() for r in body.split(";")]
            return "{ " + "; ".join(r for r in rows if r) + " }"
        return body



_SCRIPTS = "′ᵀ⁻⁰¹²³⁴⁵⁶⁷⁸⁹ⁿⁱ₀₁₂₃₄₅₆₇₈₉ₐₑₕᵢⱼₖₗₘₙₒₚᵣₛₜᵤᵥₓ*∞\u0300-\u036f"


def _atomic(s: str) -> bool:
    """A term that needs no parentheses around it: a number, one symbol with its scripts and accents, a
    parenthesised group or a norm."""
    if re.fullmatch(r"\d+(?:\.\d+)?", s) or re.fullmatch(rf"√?[^\W\d_][{_SCRIPTS}]*(?:_\w+)?[{_SCRIPTS}]*", s):
        return True
    core = s.rstrip(_SCRIPTS.replace("\u0300-\u036f", ""))
    if core.startswith(("(", "√(")) and core.endswith(")") and _balanced_outer(core.lstrip("√")):
        return True
    return bool(re.fullmatch(r"‖[^‖]*‖[{_SCRIPTS}]*".replace("{_SCRIPTS}", _SCRIPTS), s))


def _balanced_outer(s: str) -> bool:
    depth = 0
    for k, c in enumerate(s):
        depth += c == "("
        depth -= c == ")"
        if depth == 0 and k < len(s) - 1:
            return False
    return True


def _paren(s: str) -> str:
    return s if _atomic(s) else f"({s})"


def _tidy(s: str) -> str:
    s = re.sub(r"[ \t]+", " ", s)
    s = re.sub(r" ([,;.)\]⟩])", r"\1", s)
    s = re.sub(r"([(\[⟨]) ", r"\1", s)
    s = re.sub(r"(?:,\s*)+;", ";", s)
    s = re.sub(r";(?:\s*;)+", ";", s)
    return s.strip()


def plain_math(tex: str) -> str:
    """A bare TeX formula (no ``$``) as plain Unicode text.

    >>> plain_math(r"\\hat\\mu_L")
    'μ̂_L'
    >>> plain_math(r"\\sqrt{1 + 4/s^2}")
    '√(1 + 4/s²)'
    """
    return _tidy(_Math(str(tex)).run()).replace("\\", "")


_TEXT_COMMANDS = re.compile(r"\\(textit|textbf|emph|texttt|textrm|textsf|mbox|text|underline|url)\{([^{}]*)\}")


def plain(text, math: bool | None = None) -> str:
    r"""``text`` as plain Unicode: ``$...$`` (and ``\(...\)``) pieces through :func:`plain_math`, the prose
    around them with its TeX escapes resolved.  ``math=True`` reads the whole string as a formula;
    ``math=None`` (default) does so only when it has no ``$`` and looks like TeX (a backslash command or a
    braced script).  The result has no ``$`` and no backslash.

    >>> plain("R_inf(U, V) in closed form; 50\\% of it")
    'R_inf(U, V) in closed form; 50% of it'
    >>> plain(r"$\|A\|_F^2 - b^2$ is conserved")
    '‖A‖_F² − b² is conserved'
    """
    text = "" if text is None else str(text)
    if math is None or "$" in text:
        math = "$" not in text and bool(re.search(r"\\[A-Za-z]", text))
    if math:
        return plain_math(text)
    text = text.replace(r"\(", "$").replace(r"\)", "$")
    if text.count("$") % 2:
        text = text.replace("$", "")
    pieces = re.split(r"(\$[^$]*\$)", text)
    out = []
    for piece in pieces:
        if len(piece) >= 2 and piece.startswith("$") and piece.endswith("$"):
            out.append(plain_math(piece[1:-1]))
            continue
        p = _TEXT_COMMANDS.sub(lambda m: m.group(2), piece)
        p = p.replace("---", "—").replace("--", "–").replace("``", "“").replace("''", "”")
        p = re.sub(r"\\([%&#_{}$])", lambda m: "＄" if m.group(1) == "$" else m.group(1), p)
        p = p.replace("~", " ")
        p = re.sub(r"(?<=\S)[_^]\{[^{}$]*\}", lambda m: _Math(m.group(0)).run(), p)  # ASCII math: Sigma^{-1}
        if "\\" in p:  # commands in prose (\ldots, \Sigma): read them as math
            p = re.sub(r"\\[A-Za-z]+\*?(?:\{[^{}]*\})?|\\.", lambda m: _Math(m.group(0)).run(), p)
        out.append(p)
    return re.sub(r"[ \t]{2,}", " ", "".join(out)).replace("\\", "").strip()


# ---------------------------------------------------------------------------------------------------------
# what a derivation derives

_TOP_RELATION = re.compile(r"\s*(=|\\simeq|\\le|\\ge|\\approx|\\propto)\s*")


def _head(tex: str) -> str:
    """The left side of ``tex`` up to its first top-level relation (outside braces and brackets)."""
    depth = 0
    for k, ch in enumerate(tex):
        if ch in "{([":
            depth += 1
        elif ch in "})]":
            depth -= 1
        elif depth == 0:
            if ch == "," and tex[:k].strip() and not tex[:k].endswith("\\"):  # "F(x), k = c": the object is what precedes the comma
                return tex[:k].strip()
            m = _TOP_RELATION.match(tex, k)
            if m and m.start(1) == k or (m and tex[k].isspace() and m.group(1)):
                if tex[:k].rstrip().endswith("\\"):
                    continue
                return tex[:k].strip()
    return tex.strip()


def relation_tex(symbol: str) -> str:
    r"""The LaTeX sign a step is shown with: a transformation step (``maps``, declared with ``\Rightarrow``)
    is a map, not an implication between expressions, so it is set as ``\longmapsto``."""
    symbol = (symbol or "=").strip()
    return r"\longmapsto" if symbol in (r"\Rightarrow", r"\implies", r"\Longrightarrow") else symbol


def derived_tex(derivation, max_chars: int = 160) -> str:
    r"""What a derivation derives, as one LaTeX formula: the left side of its start, the chain's relation (``=``
    when every step is an equality, else the last other sign, a transformation as ``\longmapsto``) and its end
    (the declared conclusion, else the last step's right side; an explicit closed form too long to read is named
    instead of written out).

    >>> import sympy as sp
    >>> from verify.kernel.derivation import Derivation
    >>> x = sp.Symbol("x")
    >>> d = Derivation("square", (x + 1)**2, start_tex="(x + 1)^2", conclusion=x**2 + 2*x + 1)
    >>> plain(derived_tex(d.step(x**2 + 2*x + 1, "expand")), math=True)
    '(x + 1)² = x² + 2 x + 1'
    """
    import sympy as sp

    steps = list(getattr(derivation, "steps", ()))
    start_tex = getattr(derivation, "start_tex", None)
    if start_tex is None:
        start = getattr(derivation, "start", None)
        start_tex = sp.latex(start) if start is not None else ""
    head = _head(start_tex) if start_tex else ""
    end = getattr(derivation, "conclusion_tex", None)
    last_tex = steps[-1].rhs_tex if steps else None
    if last_tex and (end is None or len(end.strip()) <= 3):  # "0" says less than "\nabla R = 0"
        end = last_tex
    if end is None:
        last = getattr(derivation, "conclusion", None)
        if last is None and steps:
            last = steps[-1].rhs
        end = sp.latex(last) if last is not None else ""
        if len(end) > max_chars:
            end = r"\text{the closed form, entry by entry}"
    signs = [relation_tex(getattr(s.relation, "symbol", "=")) for s in steps]
    others = [s for s in signs if s != "="]
    sign = others[-1] if others else "="
    if len(head) > max_chars:
        head = ""
    return f"{head} {sign} {end}".strip() if head else end
