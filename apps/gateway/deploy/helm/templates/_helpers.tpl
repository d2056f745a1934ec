{{- /* Name of every object of the release, GP_APP_NAME: fullnameOverride or the release name. */}}
{{- define "gp-gateway.fullname" -}}
{{- default .Release.Name .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- end }}

{{- /* The labels manifests.ts gives the gateway's objects (its Deployment selects on them). */}}
{{- define "gp-gateway.labels" -}}
app: {{ include "gp-gateway.fullname" . }}
component: gateway
{{- end }}

{{- define "gp-gateway.image" -}}
{{- printf "%s:%s" .Values.image.repository .Values.image.tag -}}
{{- end }}

{{- define "gp-gateway.tokenSecretName" -}}
{{- default (printf "%s-token" (include "gp-gateway.fullname" .)) .Values.tokenSecretName -}}
{{- end }}

{{- /* Checks across values that the schema cannot express; each failure names the values. */}}
{{- define "gp-gateway.validate" -}}
{{- if eq (int .Values.responsePort) (int .Values.service.port) }}
{{- fail (printf "gp-gateway: responsePort %d must differ from service.port %d (the HTTP port)" (int .Values.responsePort) (int .Values.service.port)) }}
{{- end }}
{{- if and (has "shared" .Values.namespaceModes) (has .Release.Namespace .Values.byoNamespaces) }}
{{- fail (printf "gp-gateway: byoNamespaces lists the release namespace %q, which shared mode already covers: remove it" .Release.Namespace) }}
{{- end }}
{{- if and .Values.kernelImagePuller.enabled (eq (len .Values.kernelImagePuller.images) 0) }}
{{- fail "gp-gateway: kernelImagePuller.enabled is true but kernelImagePuller.images is empty: list the kernel images to pull" }}
{{- end }}
{{- end }}
