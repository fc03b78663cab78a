"""Shared fixtures: each lives in tests/fixtures/ and is registered here."""

pytest_plugins = [
    "tests.fixtures.backends",
    "tests.fixtures.controlplane",
    "tests.fixtures.helm",
    "tests.fixtures.redis_server",
    "tests.fixtures.sim",
]
