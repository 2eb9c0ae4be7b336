"""Fixtures shared by every suite: Temporal servers and databases."""

pytest_plugins = ["tests.support.temporal", "tests.support.db"]
