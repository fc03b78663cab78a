"""The watcher's Prometheus metrics (prefix `dr_syncer_`)."""

from __future__ import annotations

from prometheus_client import Counter, Gauge

LEADER = Gauge("dr_syncer_watcher_leader", "1 while this watcher replica holds the Lease, else 0")
ENTRIES = Gauge("dr_syncer_schedule_entries", "Schedule entries (Replication, source namespace) in redbeat")
RECONCILES = Counter("dr_syncer_watcher_reconciles", "Reconciles of the schedule with the Replications")
RECONCILE_ERRORS = Counter("dr_syncer_watcher_reconcile_errors",
                           "Objects or schedule writes a reconcile could not handle")
TRIGGERED = Counter("dr_syncer_watcher_triggered_runs", "Runs sent outside the schedule", ["trigger"])
