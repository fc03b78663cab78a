{{/* The alert rules of the PrometheusRule (its spec). Only metrics drsyncer exports, and `up`. */}}
{{- define "drsyncer.ruleGroups" -}}
{{- $ns := printf "namespace=%q" .Release.Namespace }}
{{- $rule := .Values.metrics.prometheusRule }}
{{- $workerPods := printf "pod=~%q" (printf "%s-.+" (include "drsyncer.componentName" (dict "root" . "component" "worker"))) }}
{{- $watcherPods := printf "pod=~%q" (printf "%s-.+" (include "drsyncer.componentName" (dict "root" . "component" "watcher"))) }}
groups:
  - name: drsyncer.rules
    rules:
      - alert: DrSyncerSyncFailing
        # a series that appears at 1 (the first failure of a worker pod) has no increase(); the
        # `unless ... offset` part counts such fresh series at their full value
        expr: sum by (namespace, replication) ((dr_syncer_sync_runs_total{ {{- $ns }}, phase="Failed"} unless dr_syncer_sync_runs_total{ {{- $ns }}, phase="Failed"} offset 30m) + 0 or increase(dr_syncer_sync_runs_total{ {{- $ns }}, phase="Failed"}[30m])) > 0
        labels:
          severity: critical
        annotations:
          summary: "Sync runs of {{`{{ $labels.replication }}`}} are failing"
          description: "{{`{{ $labels.replication }}`}} had {{`{{ $value | humanize }}`}} failed runs in the last 30 minutes; its status.lastError and Events say why."
      - alert: DrSyncerSyncPartiallyFailing
        expr: sum by (namespace, replication) ((dr_syncer_sync_runs_total{ {{- $ns }}, phase="PartiallyFailed"} unless dr_syncer_sync_runs_total{ {{- $ns }}, phase="PartiallyFailed"} offset 30m) + 0 or increase(dr_syncer_sync_runs_total{ {{- $ns }}, phase="PartiallyFailed"}[30m])) > 0
        for: 30m
        labels:
          severity: warning
        annotations:
          summary: "Sync runs of {{`{{ $labels.replication }}`}} leave objects unsynced"
          description: "Some objects or destinations of {{`{{ $labels.replication }}`}} failed in recent runs; see its status.targets and status.errorCategories."
      - alert: DrSyncerNoRecentSuccessfulSync
        # the watcher's copy of status.lastSuccessfulSyncTime outlives worker restarts
        expr: time() - max by (namespace, replication) (dr_syncer_last_success_timestamp_seconds{ {{- $ns }}} or dr_syncer_replication_last_success_timestamp_seconds{ {{- $ns }}}) > {{ mul $rule.scheduleIntervalSeconds $rule.missedSchedules }}
        for: 5m
        labels:
          severity: critical
        annotations:
          summary: "{{`{{ $labels.replication }}`}} has not synced successfully for {{ $rule.missedSchedules }} schedule intervals"
          description: "The last successful sync of {{`{{ $labels.replication }}`}} was {{`{{ $value | humanizeDuration }}`}} ago; the DR copies are going stale."
      - alert: DrSyncerReplicationInvalid
        expr: max by (namespace, replication) (dr_syncer_replication_invalid{ {{- $ns }}}) == 1
        for: 5m
        labels:
          severity: critical
        annotations:
          summary: "{{`{{ $labels.replication }}`}} has an invalid spec and is not synced"
          description: "The watcher refuses the spec of {{`{{ $labels.replication }}`}} (condition InvalidSpec); nothing is scheduled until it is fixed. kubectl describe repl, or drsyncer status, names the fields."
      - alert: DrSyncerReplicationNeverSynced
        expr: max by (namespace, replication) (dr_syncer_replication_awaiting_first_sync{ {{- $ns }}}) == 1
        for: {{ mul $rule.scheduleIntervalSeconds $rule.missedSchedules }}s
        labels:
          severity: warning
        annotations:
          summary: "{{`{{ $labels.replication }}`}} has never finished a sync"
          description: "{{`{{ $labels.replication }}`}} is valid and scheduled but no run has finished since it was created ({{ $rule.missedSchedules }} schedule intervals); check the workers, its source namespaces (a selector matching nothing) and drsyncer status."
      - alert: DrSyncerRemoteClusterUnhealthy
        expr: max by (namespace, cluster) (dr_syncer_remote_cluster_healthy{ {{- $ns }}}) == 0
        for: 5m
        labels:
          severity: critical
        annotations:
          summary: "Remote cluster {{`{{ $labels.cluster }}`}} is unhealthy"
          description: "drsyncer cannot reach or authenticate to {{`{{ $labels.cluster }}`}}; see RemoteCluster status.message."
      - alert: DrSyncerQueueBacklogGrowing
        expr: (max by (namespace, queue) (dr_syncer_tasks_queued{ {{- $ns }}}) > {{ $rule.queueBacklogThreshold }}) and (max by (namespace, queue) (deriv(dr_syncer_tasks_queued{ {{- $ns }}}[15m])) > 0)
        for: 15m
        labels:
          severity: warning
        annotations:
          summary: "Tasks pile up in queue {{`{{ $labels.queue }}`}}"
          description: "{{`{{ $value }}`}} tasks wait in {{`{{ $labels.queue }}`}} and the number keeps growing: add workers or lower the schedule frequency."
      - alert: DrSyncerWorkersDown
        expr: (sum(up{ {{- $ns }}, {{ $workerPods }}}) == 0) or absent(up{ {{- $ns }}, {{ $workerPods }}})
        for: 5m
        labels:
          severity: critical
        annotations:
          summary: "No drsyncer worker is up"
          description: "No worker pod of {{ .Release.Name }} answers its metrics endpoint; nothing is being synced."
      - alert: DrSyncerWatcherNoLeader
        expr: (sum(dr_syncer_watcher_leader{ {{- $ns }}, {{ $watcherPods }}}) < 1) or absent(dr_syncer_watcher_leader{ {{- $ns }}, {{ $watcherPods }}})
        for: 5m
        labels:
          severity: critical
        annotations:
          summary: "No drsyncer watcher holds the Lease"
          description: "Schedules of {{ .Release.Name }} are not being kept up to date while no watcher leads."
      - alert: DrSyncerApiThrottled
        expr: sum by (namespace, cluster) (rate(dr_syncer_api_throttled_total{ {{- $ns }}}[10m])) > 0.5
        for: 15m
        labels:
          severity: warning
        annotations:
          summary: "The API server of {{`{{ $labels.cluster }}`}} throttles drsyncer"
          description: "More than one 429 answer every two seconds from {{`{{ $labels.cluster }}`}}; lower spec.rateLimit of its RemoteCluster."
{{- end }}
