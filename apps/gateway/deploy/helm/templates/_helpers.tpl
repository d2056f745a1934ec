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
{{- if has .Values.kernels.clusterRole (list "cluster-admin" "admin" "edit" "view") }}
{{- fail (printf "gp-gateway: kernels.clusterRole %q is a built-in role (applying the chart would overwrite it): name the kernels' own role, e.g. kernel-controller" .Values.kernels.clusterRole) }}
{{- end }}
{{- if eq .Values.kernels.serviceAccount "default" }}
{{- fail "gp-gateway: kernels.serviceAccount \"default\" would grant the kernel role to every pod of the namespace that names no service account: use another name, e.g. kernel, or \"\" for none" }}
{{- end }}
{{- $reserved := include "gp-gateway.reservedEnv" . | splitList " " }}
{{- range $name, $value := .Values.extraConfig }}
{{- if has $name $reserved }}
{{- fail (printf "gp-gateway: extraConfig.%s is set by the chart from its own values: remove it (see values.yaml)" $name) }}
{{- end }}
{{- if regexMatch "(?i)TOKEN|KEY|PASSWORD|SECRET" $name }}
{{- fail (printf "gp-gateway: extraConfig.%s looks like a secret, and the ConfigMap is not the place for one: put it in a Secret" $name) }}
{{- end }}
{{- end }}
{{- if and .Values.tls.enabled (eq .Values.tls.secretName "") }}
{{- fail "gp-gateway: tls.enabled is true but tls.secretName is empty: name a Secret of type kubernetes.io/tls (tls.crt, tls.key; ca.crt with tls.clientCA)" }}
{{- end }}
{{- if and .Values.tls.clientCA (not .Values.tls.enabled) }}
{{- fail "gp-gateway: tls.clientCA is true but tls.enabled is false: client certificates need TLS" }}
{{- end }}
{{- if and .Values.kernelImagePuller.enabled (eq (len .Values.kernelImagePuller.images) 0) }}
{{- fail "gp-gateway: kernelImagePuller.enabled is true but kernelImagePuller.images is empty: list the kernel images to pull" }}
{{- end }}
{{- end }}

{{- /* Variables the chart sets itself (configmap.yaml, deployment.yaml): extraConfig may not override them. */}}
{{- define "gp-gateway.reservedEnv" -}}
GP_APP_NAME GP_NAMESPACE GP_SHARED_NAMESPACE GP_KERNEL_CLUSTER_ROLE GP_RESPONSE_IP GP_RESPONSE_PORT GP_GATEWAY_IP GP_GATEWAY_PORT GP_GATEWAY_TOKEN GP_GATEWAY_STATE_FILE GP_GATEWAY_KERNEL_STORE GP_GATEWAY_METRICS_PORT GP_GATEWAY_LOG_FORMAT GP_GATEWAY_ALLOWED_ENV GP_GATEWAY_CULL_IDLE_TIMEOUT GP_GATEWAY_CULL_INTERVAL GP_GATEWAY_CULL_CONNECTED GP_GATEWAY_CULL_BUSY GP_GATEWAY_MAX_KERNELS GP_GATEWAY_MAX_KERNELS_PER_USER GP_GATEWAY_CERTFILE GP_GATEWAY_KEYFILE GP_GATEWAY_CLIENT_CA
{{- end }}
