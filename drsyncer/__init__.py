"""drsyncer: keep disaster-recovery Kubernetes clusters in step with a source cluster."""

# The release version, written here only: the package metadata reads it (pyproject.toml), `drsyncer
# version` prints it, and the chart's version and appVersion (the image tag) must equal it, which
# tests/unit/test_version.py checks. docs/releasing.md says when which part goes up.
__version__ = "0.1.0"
