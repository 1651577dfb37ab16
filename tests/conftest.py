"""Shared pytest configuration: hypothesis profiles.

* ``default`` – modest ``max_examples`` so the whole suite stays fast on a 2-core machine;
  no per-example deadline (linear algebra timing is noisy when other jobs run).
* ``ci`` – more examples, derandomized (the same examples every run), for thorough checks:
  ``HYPOTHESIS_PROFILE=ci python -m pytest``.
"""
import os

from hypothesis import HealthCheck, settings

settings.register_profile(
    "default", max_examples=40, deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile(
    "ci", max_examples=200, deadline=None, derandomize=True,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))
