"""A Kubernetes API simulator: several clusters over real HTTP, with fault injection."""
