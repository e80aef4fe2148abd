"""What every study shares for its outputs: the output directory and matplotlib figures.

* :func:`output_dir` -- the directory of ``-o DIR``: created with its parents; a file of that name, or a directory
  that cannot be written, is a ``ValueError`` naming ``-o/--output``;
* :func:`pyplot` -- matplotlib's pyplot on the non-interactive Agg backend (no display needed);
* :func:`save` -- a figure written as PNG and closed.

>>> import tempfile, pathlib
>>> with tempfile.TemporaryDirectory() as tmp:
...     out = output_dir(pathlib.Path(tmp) / "a" / "b")
...     plt = pyplot()
...     fig, ax = plt.subplots()
...     _ = ax.plot([0, 1], [1, 0], label="a line")
...     path = save(fig, out / "line.png")
...     (path.name, path.stat().st_size > 0, out.is_dir())
('line.png', True, True)
"""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["legend_beside", "output_dir", "pyplot", "save"]


def output_dir(directory) -> Path:
    """The output directory of ``-o DIR``, created with its parents when missing."""
    if isinstance(directory, bool) or not isinstance(directory, (str, os.PathLike)) or not str(directory):
        raise TypeError(f"-o/--output: expected a directory path, got {directory!r}")
    out = Path(directory)
    if out.exists() and not out.is_dir():
        raise ValueError(f"-o/--output: {str(out)!r} exists and is not a directory")
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ValueError(f"-o/--output: cannot create {str(out)!r}: {exc.strerror or exc}") from None
    if not os.access(out, os.W_OK):
        raise ValueError(f"-o/--output: directory {str(out)!r} is not writable")
    return out


def pyplot():
    """matplotlib.pyplot on the Agg backend."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def legend_beside(ax, handles=None, fontsize: float = 7.5):
    """The legend of ``ax`` to the right of the axes, off the data (``handles``: the entries, default all labelled
    lines); :func:`save`'s tight bounding box keeps it in the image."""
    kwargs = {} if handles is None else {"handles": handles}
    return ax.legend(**kwargs, fontsize=fontsize, loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0)


def save(fig, path, dpi: int = 110) -> Path:
    """Write ``fig`` to ``path`` (PNG, tight bounding box) and close it."""
    path = Path(path)
    fig.savefig(path, dpi=dpi, bbox_inches="tight")
    import matplotlib.pyplot as plt

    plt.close(fig)
    return path
