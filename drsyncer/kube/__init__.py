"""The only code that talks HTTP to a Kubernetes API server."""
