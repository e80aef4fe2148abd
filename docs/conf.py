"""Sphinx configuration of the softmax-verify documentation site.

Build (from the repository root; warnings are errors, every cross-reference must resolve):

    sphinx-build -M html docs docs/_build -W -n --keep-going

The statement pages, the findings, the API page and the tutorial notebook are generated from the registry at the
start of the build (``_ext/sv_pages.py``); math is MathML converted at build time (``_ext/sv_mathml.py``), so the
site needs no script and no network to read.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE / "_ext"))
# the executed pages' kernels import the transcript helper (_ext/sv_shell.py) and this checkout's package
os.environ["PYTHONPATH"] = os.pathsep.join([str(HERE / "_ext"), str(HERE.parent), os.environ.get("PYTHONPATH", "")])

import verify  # noqa: E402

project = "softmax-verify"
author = "the softmax-verify authors"
copyright = "the softmax-verify authors, MIT licence"
release = verify.__version__
version = release

extensions = [
    "myst_nb",
    "sphinx.ext.autodoc",
    "sphinx.ext.napoleon",
    "sv_docstrings",
    "sv_mathml",
    "sv_pages",
]

exclude_patterns = ["_build", "_ext", "jupyter_execute", "**.ipynb_checkpoints", "statements/graph-home.html"]
source_suffix = {".md": "myst-nb", ".ipynb": "myst-nb"}
root_doc = "index"

# MyST: $...$ and $$...$$ math, ::: fences, definition lists, heading anchors for links into sections
myst_enable_extensions = ["dollarmath", "amsmath", "colon_fence", "deflist"]
myst_heading_anchors = 3
myst_update_mathjax = False  # math is MathML here: no MathJax classes

# myst-nb: every notebook (the tutorial, the executed how-to pages) runs at build time; an error fails the build
nb_execution_mode = os.environ.get("SV_DOCS_EXECUTE", "force")  # "off" only to draft the prose quickly
nb_execution_timeout = 300
nb_execution_raise_on_error = True
nb_execution_show_tb = True
nb_merge_streams = True
nb_render_markdown_format = "myst"  # Markdown outputs (the verdict table) with tables

# math as MathML (no script, no network)
html_math_renderer = "mathml"

# autodoc: docstrings in numpydoc layout (napoleon), signatures without type annotations (they are in the text)
autodoc_typehints = "none"
autodoc_member_order = "bysource"
add_module_names = False  # each API section names its module once
autodoc_inherit_docstrings = False  # a method's own docstring or none (not the base class's, e.g. pytest's)
autodoc_default_options = {"exclude-members": "__init__, __new__"}
napoleon_google_docstring = False
napoleon_numpy_docstring = True

# nitpicky: every reference into verify.* must resolve.  No intersphinx (no network at build time), so names of
# the standard library and of third-party packages are not linked.
nitpicky = True
nitpick_ignore_regex = [
    (r"py:.*", r"(numpy|np|sympy|sp|mpmath|mp|flint|scipy|dask|distributed|matplotlib|argparse|pathlib|typing"
               r"|collections|dataclasses|fractions|ast)(\..*)?"),
    (r"py:class", r"(int|float|str|bool|dict|list|tuple|set|callable|object|None|Callable|Sequence|Mapping|Any"
                  r"|Iterable|optional|array_like|ndarray|array|Path|Generator|SeedSequence|mpf|arb)"),
]

html_theme = "furo"
html_title = f"softmax-verify {release}"
html_static_path = ["_static"]
html_css_files = ["softmax-verify.css"]
html_show_sourcelink = False
html_copy_source = False
html_last_updated_fmt = None

sv_seed = 0  # the seed of the evidence shown on the statement pages
