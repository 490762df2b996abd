{{/*
Names and labels, Kyverno-style: <chart>.name, <chart>.fullname, <chart>.chart, <chart>.labels,
<chart>.selectorLabels. Every object carries the app.kubernetes.io/* labels.
*/}}

{{/* The chart name, or nameOverride. */}}
{{- define "netpol-guard.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
The release-qualified name used for every object. Truncated to 52 characters so that the longest
suffix added below ("-selfsigned", "-default-deny") still fits in a 63-character name.
*/}}
{{- define "netpol-guard.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 52 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 52 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 52 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{/* "name-version" for the helm.sh/chart label. */}}
{{- define "netpol-guard.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Labels of every object. */}}
{{- define "netpol-guard.labels" -}}
helm.sh/chart: {{ include "netpol-guard.chart" . }}
{{ include "netpol-guard.selectorLabels" . }}
{{- if .Chart.AppVersion }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
{{- end }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: netpol-guard
{{- with .Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{/* Labels that select the webhook's pods (immutable once installed: keep them few). */}}
{{- define "netpol-guard.selectorLabels" -}}
app.kubernetes.io/name: {{ include "netpol-guard.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: webhook
{{- end }}

{{/* The ServiceAccount the server runs as. */}}
{{- define "netpol-guard.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "netpol-guard.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- required "serviceAccount.name is required when serviceAccount.create is false" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/* The Service the API server calls; the serving certificate's SANs are built from it. */}}
{{- define "netpol-guard.serviceName" -}}
{{- include "netpol-guard.fullname" . }}
{{- end }}

{{/* The DNS names of the Service: the serving certificate must carry exactly these. */}}
{{- define "netpol-guard.serviceDNSNames" -}}
{{- $svc := include "netpol-guard.serviceName" . -}}
{{- list (printf "%s.%s.svc" $svc .Release.Namespace) (printf "%s.%s.svc.%s" $svc .Release.Namespace .Values.clusterDomain) | toJson }}
{{- end }}

{{/* The Secret holding tls.crt, tls.key and ca.crt (written by Helm or by cert-manager). */}}
{{- define "netpol-guard.tlsSecretName" -}}
{{- printf "%s-tls" (include "netpol-guard.fullname" .) }}
{{- end }}

{{/* The ConfigMap holding the policy document: the chart's own, or an external one (GitOps). */}}
{{- define "netpol-guard.policyConfigMapName" -}}
{{- if .Values.policyConfigMap.create }}
{{- printf "%s-policy" (include "netpol-guard.fullname" .) }}
{{- else }}
{{- required "policyConfigMap.name is required when policyConfigMap.create is false (the ConfigMap your GitOps tool manages)" .Values.policyConfigMap.name }}
{{- end }}
{{- end }}

{{/* The container image reference; a digest wins over a tag. */}}
{{- define "netpol-guard.image" -}}
{{- if .Values.image.digest }}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}
{{- end }}

{{/*
Fixed facts of the server (webhook/cli/serve.py and the Dockerfile): the HTTPS port, the one
admission path, the mount points named in the serve flags.
*/}}
{{- define "netpol-guard.containerPort" -}}8443{{- end }}
{{- define "netpol-guard.webhookPath" -}}/validate{{- end }}
{{- define "netpol-guard.tlsMountPath" -}}/tls{{- end }}
{{- define "netpol-guard.policyMountPath" -}}/etc/netpol-guard{{- end }}
{{- define "netpol-guard.clientCAMountPath" -}}/client-ca{{- end }}

{{/* The label the server and the policy webhook recognise the policy ConfigMap by. */}}
{{- define "netpol-guard.policyLabelKey" -}}netpol-guard.io/policy{{- end }}

{{/*
matchConditions are GA from Kubernetes 1.30; older API servers get the same webhooks without them
(they were beta before and may be switched off).
*/}}
{{- define "netpol-guard.supportsMatchConditions" -}}
{{- if semverCompare ">=1.30.0-0" .Capabilities.KubeVersion.Version }}true{{- end }}
{{- end }}

{{/* lifecycle.preStop.sleep is on by default from Kubernetes 1.30 (PodLifecycleSleepAction). */}}
{{- define "netpol-guard.supportsSleepAction" -}}
{{- if semverCompare ">=1.30.0-0" .Capabilities.KubeVersion.Version }}true{{- end }}
{{- end }}

{{/*
Namespaces no webhook is ever called for, by their immutable kubernetes.io/metadata.name label:
the control plane's own, the release namespace (so the webhook can always be repaired), and the
user's extra names.
*/}}
{{- define "netpol-guard.excludedNamespaces" -}}
{{- $names := list "kube-system" "kube-node-lease" .Release.Namespace }}
{{- range .Values.webhooks.excludedNamespaces }}
{{- $names = append $names . }}
{{- end }}
{{- $names | uniq | toJson }}
{{- end }}

{{/*
The policy document as rendered into the ConfigMap: values.policy, plus the release namespace in
defaultDeny.exemptions.namespaces when policyConfigMap.exemptReleaseNamespace is on (the packaged
default names "netpol-guard"; a release installed elsewhere must be exempt as well).
*/}}
{{- define "netpol-guard.policyDocument" -}}
{{- $policy := deepCopy .Values.policy }}
{{- if .Values.policyConfigMap.exemptReleaseNamespace }}
{{- $defaultDeny := get $policy "defaultDeny" | default dict }}
{{- $exemptions := get $defaultDeny "exemptions" | default dict }}
{{- $namespaces := get $exemptions "namespaces" | default list }}
{{- if not (has .Release.Namespace $namespaces) }}
{{- $namespaces = append $namespaces .Release.Namespace }}
{{- end }}
{{- $_ := set $exemptions "namespaces" $namespaces }}
{{- $_ := set $defaultDeny "exemptions" $exemptions }}
{{- $_ := set $policy "defaultDeny" $defaultDeny }}
{{- end }}
{{- toYaml $policy }}
{{- end }}
