"""Shared pytest configuration: hypothesis profiles.

* ``default`` – modest ``max_examples`` so the whole suite stays fast on a 2-core machine;
  no per-example deadline (linear algebra timing is noisy when other jobs run); derandomized,
  so every run (and CI) checks the same examples and a failure always reproduces.
* ``ci`` – more examples, derandomized, for thorough checks:
  ``HYPOTHESIS_PROFILE=ci python -m pytest``.
* ``explore`` – randomized: new examples every run, to hunt for failures
  (``HYPOTHESIS_PROFILE=explore python -m pytest``).
"""
import os

from hypothesis import HealthCheck, settings

settings.register_profile(
    "default", max_examples=40, deadline=None, derandomize=True,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile(
    "explore", max_examples=100, deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile(
    "ci", max_examples=200, deadline=None, derandomize=True,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))
