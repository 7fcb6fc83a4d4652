{{/* Names follow upstream's chart, so that `helm upgrade` from it keeps the same objects. */}}
{{- define "ss.name" -}}
{{- .Values.nameOverride | default .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "ss.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else if contains (include "ss.name" .) .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name (include "ss.name" .) | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "ss.namespace" -}}
{{- .Values.namespaceOverride | default .Values.namespace | default .Release.Namespace -}}
{{- end -}}

{{- define "ss.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- .Values.serviceAccount.name | default (include "ss.fullname" .) -}}
{{- else -}}
{{- .Values.serviceAccount.name | default "default" -}}
{{- end -}}
{{- end -}}

{{/* The Deployment's selector: upstream chart's, which a Deployment can never change. */}}
{{- define "ss.selectorLabels" -}}
app.kubernetes.io/name: {{ include "ss.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "ss.labels" -}}
{{ include "ss.selectorLabels" . }}
app.kubernetes.io/part-of: sealed-secrets
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- with .Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{/* metadata.labels and annotations; `extra` holds more labels. */}}
{{- define "ss.meta" -}}
labels:
  {{- include "ss.labels" .ctx | nindent 2 }}
  {{- with .extra }}
  {{- toYaml . | nindent 2 }}
  {{- end }}
{{- $annotations := merge (dict) (.annotations | default dict) .ctx.Values.commonAnnotations }}
{{- with $annotations }}
annotations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end -}}

{{/* "--old-gc-behavior" (or "=true") among the arguments: the controller deletes Secrets. */}}
{{- define "ss.oldGcBehavior" -}}
{{- range (concat .Values.args .Values.commandArgs) -}}
{{- if regexMatch "^--old-gc-behavior(=true)?$" (toString .) -}}true{{- end -}}
{{- end -}}
{{- end -}}

{{/* "k=v,k2=v2" from a map of strings, for --privatekey-annotations/labels. */}}
{{- define "ss.keyValues" -}}
{{- $pairs := list -}}
{{- range $k, $v := . -}}
{{- $pairs = append $pairs (printf "%s=%s" $k $v) -}}
{{- end -}}
{{- join "," $pairs -}}
{{- end -}}
