"""The Celery app and its thin sync, health-check and reporting tasks."""
