{{- define "nectar.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "nectar.labels" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{- define "nectar.selector" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "nectar.usersSecret" -}}
{{- default (printf "%s-users" (include "nectar.fullname" .)) .Values.existingSecret -}}
{{- end -}}

{{/* Capabilities the configured ports need: afpacket NET_RAW, tap NET_ADMIN; DPDK's
     af_packet and tap vdevs the same. */}}
{{- define "nectar.capabilities" -}}
{{- $caps := list -}}
{{- range .Values.dataplane.ports -}}
{{- if or (eq .driver "afpacket") (and (eq .driver "dpdk") (contains "net_af_packet" (default "" .devargs))) -}}
{{- $caps = append $caps "NET_RAW" -}}
{{- end -}}
{{- if or (eq .driver "tap") (and (eq .driver "dpdk") (contains "net_tap" (default "" .devargs))) -}}
{{- $caps = append $caps "NET_ADMIN" -}}
{{- end -}}
{{- end -}}
{{- $caps | uniq | sortAlpha | toJson -}}
{{- end -}}
