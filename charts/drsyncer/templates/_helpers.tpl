{{/* Names, labels and the pieces every drsyncer container shares. */}}

{{- define "drsyncer.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "drsyncer.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{/* Object name of one component: <fullname>-<component>, kept within 63 characters. */}}
{{- define "drsyncer.componentName" -}}
{{- printf "%s-%s" (include "drsyncer.fullname" .root | trunc (int (sub 62 (len .component))) | trimSuffix "-") .component }}
{{- end }}

{{- define "drsyncer.selectorLabels" -}}
app.kubernetes.io/name: {{ include "drsyncer.name" .root }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end }}

{{- define "drsyncer.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .root.Chart.Name .root.Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{ include "drsyncer.selectorLabels" . }}
app.kubernetes.io/version: {{ .root.Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .root.Release.Service }}
app.kubernetes.io/part-of: drsyncer
{{- with .root.Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{- define "drsyncer.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "drsyncer.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "drsyncer.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}

{{/* The Secret and key holding DRSYNCER_REDIS_URL. */}}
{{- define "drsyncer.redisUrlSecret" -}}
{{- if .Values.redis.bundled }}
{{- default (include "drsyncer.componentName" (dict "root" . "component" "redis")) .Values.redis.auth.existingSecret }}
{{- else }}
{{- default (include "drsyncer.componentName" (dict "root" . "component" "redis-url")) .Values.redis.external.existingSecret }}
{{- end }}
{{- end }}

{{- define "drsyncer.redisUrlKey" -}}
{{- if and .Values.redis.bundled .Values.redis.auth.existingSecret }}
{{- .Values.redis.auth.existingSecretUrlKey }}
{{- else if and (not .Values.redis.bundled) .Values.redis.external.existingSecret }}
{{- .Values.redis.external.existingSecretKey }}
{{- else }}url{{ end }}
{{- end }}

{{/* The Secret and key holding the bundled Redis password. */}}
{{- define "drsyncer.redisPasswordSecret" -}}
{{- default (include "drsyncer.componentName" (dict "root" . "component" "redis")) .Values.redis.auth.existingSecret }}
{{- end }}

{{- define "drsyncer.redisPasswordKey" -}}
{{- if .Values.redis.auth.existingSecret }}{{ .Values.redis.auth.existingSecretPasswordKey }}{{ else }}password{{ end }}
{{- end }}

{{- define "drsyncer.redisHost" -}}
{{- printf "%s.%s.svc" (include "drsyncer.componentName" (dict "root" . "component" "redis")) .Release.Namespace }}
{{- end }}

{{/* DRSYNCER_TASK_EVENTS of workers and beat: task events only pay off while Flower reads them. */}}
{{- define "drsyncer.taskEventsEnv" -}}
- name: DRSYNCER_TASK_EVENTS
  value: {{ and .Values.flower.enabled .Values.flower.taskEvents | quote }}
{{- end }}

{{/* Environment every drsyncer process reads (docs/configuration.md). */}}
{{- define "drsyncer.env" -}}
- name: DRSYNCER_REDIS_URL
  valueFrom:
    secretKeyRef:
      name: {{ include "drsyncer.redisUrlSecret" . }}
      key: {{ include "drsyncer.redisUrlKey" . }}
- name: DRSYNCER_WATCH_NAMESPACE
  value: {{ .Values.config.watchNamespace | quote }}
- name: DRSYNCER_LOG_FORMAT
  value: {{ .Values.config.logFormat | quote }}
- name: DRSYNCER_LOG_LEVEL
  value: {{ .Values.config.logLevel | quote }}
- name: DRSYNCER_REDBEAT_KEY_PREFIX
  value: {{ .Values.config.redbeatKeyPrefix | quote }}
- name: DRSYNCER_TASK_TIME_LIMIT
  value: {{ .Values.config.taskTimeLimitSeconds | quote }}
- name: DRSYNCER_VISIBILITY_TIMEOUT
  value: {{ .Values.config.visibilityTimeoutSeconds | quote }}
{{- with .Values.config.webhooks }}
- name: DRSYNCER_WEBHOOKS
  value: {{ toJson . | quote }}
{{- end }}
- name: POD_NAMESPACE
  valueFrom:
    fieldRef:
      fieldPath: metadata.namespace
{{- with .Values.execPlugins.allowed }}
- name: DRSYNCER_EXEC_PLUGINS
  value: {{ join "," . | quote }}
- name: DRSYNCER_EXEC_PLUGIN_TIMEOUT
  value: {{ $.Values.execPlugins.timeoutSeconds | quote }}
{{- /* plugins keep caches under HOME (gke-gcloud-auth-plugin, kubelogin); the root filesystem is read-only */}}
- name: HOME
  value: /tmp
{{- end }}
{{- with .Values.config.extraEnv }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{/* Volumes of every drsyncer container: a writable /tmp on the read-only root filesystem
(heartbeat files, metrics of prefork children) and the CA of an external TLS Redis. */}}
{{- define "drsyncer.volumes" -}}
- name: tmp
  emptyDir:
    medium: Memory
    sizeLimit: {{ .Values.tmpSizeLimit }}
{{- if and (not .Values.redis.bundled) .Values.redis.external.caSecret.name }}
- name: redis-ca
  secret:
    secretName: {{ .Values.redis.external.caSecret.name }}
    items:
      - key: {{ .Values.redis.external.caSecret.key }}
        path: ca.crt
{{- end }}
{{- end }}

{{- define "drsyncer.volumeMounts" -}}
- name: tmp
  mountPath: /tmp
{{- if and (not .Values.redis.bundled) .Values.redis.external.caSecret.name }}
- name: redis-ca
  mountPath: /etc/drsyncer/redis-ca
  readOnly: true
{{- end }}
{{- end }}

{{/* Pod-level settings shared by the drsyncer Deployments: .root and .component (values key).
Only the watcher and the workers talk to the controller cluster: beat and Flower get no API token,
so the Secrets the service account may read (every RemoteCluster's kubeconfig) stay out of them. */}}
{{- define "drsyncer.podCommon" -}}
{{- $values := index .root.Values .component -}}
serviceAccountName: {{ include "drsyncer.serviceAccountName" .root }}
automountServiceAccountToken: {{ and .root.Values.serviceAccount.automountServiceAccountToken (has .component (list "watcher" "workers")) }}
securityContext:
  {{- toYaml .root.Values.podSecurityContext | nindent 2 }}
{{- with .root.Values.imagePullSecrets }}
imagePullSecrets:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with $values.nodeSelector }}
nodeSelector:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with $values.tolerations }}
tolerations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with $values.affinity }}
affinity:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end }}

{{/* What drsyncer does with its own kinds: read and watch them, write their status, add and
remove its cleanup finalizer, drop the sync-now annotation; and record Events on them (a repeat is
counted on the Event already there: read, then patched). */}}
{{- define "drsyncer.crRules" -}}
{{- /* exactly what the watcher and the workers use: tests/integration/rbac checks each rule on a real
API server. Finalizers are set with a patch of the object, so no `/finalizers` rule is needed */}}
- apiGroups: ["dr-syncer.io"]
  resources: ["remoteclusters"]
  verbs: ["get", "list", "watch"]
- apiGroups: ["dr-syncer.io"]
  resources: ["replications", "namespacemappings"]
  verbs: ["get", "list", "watch", "patch"]
- apiGroups: ["dr-syncer.io"]
  resources: ["remoteclusters/status", "replications/status", "namespacemappings/status"]
  verbs: ["patch"]
- apiGroups: [""]
  resources: ["events"]
  verbs: ["create", "get", "patch"]
{{- end }}
