"""The Celery app, its thin tasks, and the worker and beat processes (probes, metrics, entry points)."""
