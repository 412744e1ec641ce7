{{/* The processes of processes.yaml, as a list. */}}
{{- define "vlinders.processes" -}}
{{- $list := (.Files.Get "processes.yaml" | fromYaml).processes -}}
{{- if not $list }}{{ fail "processes.yaml lists no processes" }}{{ end -}}
{{- toYaml $list -}}
{{- end }}

{{- define "vlinders.fullname" -}}
{{- .Release.Name | trunc 40 | trimSuffix "-" -}}
{{- end }}

{{- define "vlinders.labels" -}}
app.kubernetes.io/name: vlinders
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | quote }}
{{- end }}

{{/* Selector labels of one component: (list $ "api"). */}}
{{- define "vlinders.selector" -}}
{{- $ := index . 0 -}}
app.kubernetes.io/name: vlinders
app.kubernetes.io/instance: {{ $.Release.Name }}
app.kubernetes.io/component: {{ index . 1 }}
{{- end }}

{{- define "vlinders.image" -}}
{{ printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) | quote }}
{{- end }}

{{- define "vlinders.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "vlinders.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end }}

{{/* The Secret every process reads: the External Secrets target, or the existing one. */}}
{{- define "vlinders.secretName" -}}
{{- if .Values.externalSecret.enabled -}}
{{- printf "%s-secrets" (include "vlinders.fullname" .) -}}
{{- else -}}
{{- required "existingSecret (or externalSecret.enabled) is required" .Values.existingSecret -}}
{{- end -}}
{{- end }}

{{- define "vlinders.env" -}}
envFrom:
  - configMapRef:
      name: {{ include "vlinders.fullname" . }}-config
  - secretRef:
      name: {{ include "vlinders.secretName" . }}
{{- end }}

{{/* Seconds a process drains on SIGTERM (config.SHUTDOWN_GRACE_MS, rounded up). */}}
{{- define "vlinders.drainSeconds" -}}
{{- $ms := int (default "10000" .Values.config.SHUTDOWN_GRACE_MS) -}}
{{- div (add $ms 999) 1000 -}}
{{- end }}

{{/* Pod-level settings shared by every process and job (the jobs, hooks that may run before the
  release's ServiceAccount exists, keep the namespace's default one). */}}
{{- define "vlinders.podCommon" -}}
automountServiceAccountToken: false
securityContext: {{- toYaml .Values.podSecurityContext | nindent 2 }}
{{- with .Values.imagePullSecrets }}
imagePullSecrets: {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .Values.nodeSelector }}
nodeSelector: {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .Values.tolerations }}
tolerations: {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .Values.affinity }}
affinity: {{- toYaml . | nindent 2 }}
{{- end }}
volumes:
  - name: tmp
    emptyDir: {}
  # The embedded mail folder and object store (MAIL_DIR, OBJECT_STORE_DIR) when no S3 bucket is set.
  - name: data
    emptyDir: {}
{{- end }}

{{/* Container-level settings shared by every process and job. */}}
{{- define "vlinders.containerCommon" -}}
image: {{ include "vlinders.image" . }}
imagePullPolicy: {{ .Values.image.pullPolicy }}
securityContext: {{- toYaml .Values.securityContext | nindent 2 }}
{{ include "vlinders.env" . }}
volumeMounts:
  - { name: tmp, mountPath: /tmp }
  - { name: data, mountPath: /app/.data }
{{- end }}
