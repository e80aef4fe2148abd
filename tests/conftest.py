"""Test configuration shared by the suite: the Hypothesis profiles.

``ci`` (loaded by default) is deterministic: ``derandomize=True`` derives every example from the test itself, no
example database is read or written, so the same commit draws the same examples on every machine and every
run; ``max_examples`` is modest (the property tests take a few seconds each) and ``deadline=None`` (a shared,
loaded machine must not turn a slow example into a failure).  ``dev`` explores: random examples, more of them,
the local database.  Choose with ``HYPOTHESIS_PROFILE=dev python -m pytest tests/test_properties.py``.
"""

from __future__ import annotations

import os

try:
    from hypothesis import HealthCheck, settings
except ImportError:  # the test extra is not installed: the tests that need Hypothesis fail at their import
    settings = None

if settings is not None:
    settings.register_profile(
        "ci",
        derandomize=True,
        database=None,
        max_examples=25,
        deadline=None,
        print_blob=True,
        suppress_health_check=[HealthCheck.too_slow],
    )
    settings.register_profile("dev", max_examples=200, deadline=None)
    settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))
