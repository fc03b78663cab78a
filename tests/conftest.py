"""Shared fixtures: each lives in tests/fixtures/ and is registered here."""

pytest_plugins = [
    "tests.fixtures.children",  # a pytest-xdist worker ends with the pytest process controlling it
    "tests.fixtures.controlplane",  # before backends, which imports it
    "tests.fixtures.backends",
    "tests.fixtures.helm",
    "tests.fixtures.redis_server",
    "tests.fixtures.sim",
    "tests.fixtures.webhooks",
]
