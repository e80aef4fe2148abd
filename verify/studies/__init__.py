"""Studies: experiments that measure what the statements only check.

Every study module (``audit``, ``train``, ``dynamics``, ``mixture``, ``selftest``) keeps one protocol:

* ``run(*, quick=False, seed=0, progress=None, ...) -> dict`` -- the result, JSON-serialisable (numbers, lists,
  strings), with the study's findings under ``"findings"``;
* ``ok(result) -> bool`` -- whether the study's own consistency checks held (the CLI's exit status);
* ``summary(result) -> str`` -- the terminal text, headline findings first;
* ``write(result, directory) -> list[pathlib.Path]`` -- the files written under an :func:`figures.output_dir`
  (the JSON record, tables, PNG figures by :mod:`verify.studies.figures`).

A reporter reads these results; it never runs a study.
"""
