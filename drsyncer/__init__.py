"""drsyncer: keep disaster-recovery Kubernetes clusters in step with a source cluster."""

__version__ = "0.1.0"
