"""Event webhooks: CloudEvents about Replications POSTed to configured endpoints (docs/webhooks.md).

`events` builds the events (pure), `signing` the signature header (pure), `endpoints` which endpoint
gets which event (pure), `delivery` sends one event to one endpoint. The Celery task that retries a
delivery lives in workers/webhooks.py.
"""
