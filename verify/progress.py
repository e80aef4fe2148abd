"""Progress display of the long commands (``verify run``, ``latex --pdf``, ``audit``, ``selftest``, ``train``,
``report``): a tqdm bar on stderr when stderr is a terminal, plain log lines otherwise, nothing with --quiet.

The engine reports progress through a callback taking one string; messages of the form ``"[k/n] what"``
move the bar to k of n (the rest is its postfix), any other message becomes the bar's description.  Nothing
is ever written to stdout, so ``--json`` output stays clean.

>>> import io
>>> log = io.StringIO()
>>> p = Progress(stream=log, bar=False)
>>> p("[1/2] gaussian-limit :: quadrature: pass (0.10s)")
>>> p.close()
>>> log.getvalue()
'[1/2] gaussian-limit :: quadrature: pass (0.10s)\\n'
>>> q = Progress(quiet=True, stream=log)
>>> q("anything"); q.close()
>>> log.getvalue().count("\\n")
1
"""

from __future__ import annotations

import re
import sys

__all__ = ["Progress"]

_STEP = re.compile(r"^\[(\d+)/(\d+)\]\s*(.*)$", re.S)


class Progress:
    """A progress callback.  ``quiet``: silent.  ``bar`` (default: ``stream.isatty()``): a tqdm bar;
    otherwise ``lines`` (default True) prints each message as one line on ``stream`` (stderr)."""

    def __init__(self, *, quiet: bool = False, stream=None, bar: bool | None = None, lines: bool = True,
                 desc: str = ""):
        self.stream = sys.stderr if stream is None else stream
        self.quiet = bool(quiet)
        if bar is None:
            bar = hasattr(self.stream, "isatty") and self.stream.isatty()
        self.bar = bool(bar) and not self.quiet
        self.lines = bool(lines) and not self.quiet and not self.bar
        self.desc = desc
        self._tqdm = None

    def _ensure(self):
        if self._tqdm is None:
            import shutil

            from tqdm import tqdm

            # the size once, with a fallback: a terminal of unknown size (0 x 0) would hide the bar
            size = shutil.get_terminal_size((100, 24))
            self._tqdm = tqdm(total=None, desc=self.desc, file=self.stream, ncols=size.columns or 100,
                              nrows=size.lines or 24, leave=False,
                              bar_format="{desc}{percentage:3.0f}%|{bar}| {n_fmt}/{total_fmt} [{elapsed}<{remaining}]"
                                         "{postfix}")
        return self._tqdm

    def __call__(self, message: str) -> None:
        if self.quiet:
            return
        if self.lines:
            print(message, file=self.stream, flush=True)
            return
        if not self.bar:
            return
        t = self._ensure()
        m = _STEP.match(message)
        if m:
            k, n, what = int(m.group(1)), int(m.group(2)), m.group(3)
            if t.total != n:
                t.reset(total=n)
            t.n = k
            t.set_description_str("", refresh=False)  # a status ("loading ...") ends when the steps begin
            t.set_postfix_str(what[:50], refresh=False)
            t.refresh()
        else:
            t.set_description_str(message[:60] + " ", refresh=True)

    def close(self) -> None:
        if self._tqdm is not None:
            self._tqdm.close()
            self._tqdm = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False
