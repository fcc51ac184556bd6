{{/*
The bundled NATS's security (security.enabled): TLS with a server certificate from the chart's CA,
one user per service certificate (`verify_and_map`) with exactly the permissions
lib/security/nats-permissions.ts gives its role, and routes over mutual TLS that only the NATS
servers' own certificate may open. The users come from files/nats-permissions.json, generated from
nats-permissions.ts (`npm run gen:chart-nats`; tests/helm checks it is current and that this block
equals natsSecurityConfig's output for the same names).
*/}}

{{/* Secret holding the NATS servers' certificate, key and the CA. */}}
{{- define "rivulet.nats.tlsSecretName" -}}
{{- printf "%s-tls" (include "rivulet.nats.fullname" . | trunc 59 | trimSuffix "-") -}}
{{- end -}}

{{/* Where the NATS pods mount it. */}}
{{- define "rivulet.nats.tlsDir" -}}/etc/nats-tls{{- end -}}

{{/* Number of servers of the bundled NATS. */}}
{{- define "rivulet.nats.servers" -}}
{{- $c := .Values.nats.config -}}
{{- ternary ($c.cluster.replicas | int) 1 $c.cluster.enabled -}}
{{- end -}}

{{/*
DNS names of the NATS servers' certificate (JSON list): the client Service (what the services dial),
the headless Service, every pod's name under it (the routes dial those), and localhost for
`kubectl port-forward` and tools run in the pod.
*/}}
{{- define "rivulet.nats.dnsNames" -}}
{{- $name := include "rivulet.nats.fullname" . -}}
{{- $headless := printf "%s-headless" $name -}}
{{- $ns := .Release.Namespace -}}
{{- $names := list -}}
{{- range $svc := list $name $headless -}}
{{- $names = concat $names (list $svc (printf "%s.%s" $svc $ns) (printf "%s.%s.svc" $svc $ns) (printf "%s.%s.svc.%s" $svc $ns $.Values.clusterDomain)) -}}
{{- end -}}
{{- range $i := until (include "rivulet.nats.servers" . | int) -}}
{{- $names = append $names (printf "%s-%d.%s.%s.svc.%s" $name $i $headless $ns $.Values.clusterDomain) -}}
{{- end -}}
{{- append $names "localhost" | toJson -}}
{{- end -}}

{{/* The bucket, stream and subject names the services use, as nats-permissions.ts's NatsResourceNames. */}}
{{- define "rivulet.nats.resourceNames" -}}
{{- $v := .Values -}}
{{- $sinkSubjects := list -}}
{{- range $s := splitList "," (toString $v.scheduler.config.sinkSubjects) -}}
{{- if trim $s -}}{{- $sinkSubjects = append $sinkSubjects (trim $s) -}}{{- end -}}
{{- end -}}
{{- dict
  "jobsBucket" $v.scheduler.config.jobsBucket
  "outputsStream" $v.scheduler.config.outputsStream
  "checkpointBucket" $v.config.checkpointBucket
  "lineageBucket" $v.lineage.config.kvBucket
  "walBucket" $v.receiver.config.walBucket
  "sinkStream" $v.scheduler.config.sinkStream
  "sinkSubjects" $sinkSubjects
  "sourceStreams" (default list $v.config.jetStreamSources)
  | toJson -}}
{{- end -}}

{{/* One allow list as natsSecurityConfig writes it. Arguments: (dict "entries" [...] "names" {...} "perms" {...}) */}}
{{- define "rivulet.nats.allowList" -}}
{{- $names := .names -}}
{{- $scalars := .perms.scalars -}}
{{- $lists := .perms.lists -}}
{{- $out := list -}}
{{- range $e := .entries -}}
{{- if kindIs "string" $e -}}
{{- $out = append $out $e -}}
{{- else -}}
{{- range $value := index $names $e.each -}}
{{- range $s := $e.subjects -}}
{{- $out = append $out (replace (index $lists $e.each) $value $s) -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- $quoted := list -}}
{{- range $s := $out -}}
{{- range $k, $p := $scalars -}}{{- $s = replace $p (index $names $k) $s -}}{{- end -}}
{{- $quoted = append $quoted ($s | quote) -}}
{{- end -}}
{{- printf "[%s]" (join ", " $quoted) -}}
{{- end -}}

{{/* One user line as natsSecurityConfig writes it. Arguments: (dict "user" ... "publish" [...] "publishDeny" [...] "subscribe" [...] "names" {...} "perms" {...}) */}}
{{- define "rivulet.nats.userLine" -}}
{{- $pub := printf "publish: { allow: %s" (include "rivulet.nats.allowList" (dict "entries" .publish "names" .names "perms" .perms)) -}}
{{- if .publishDeny -}}
{{- $pub = printf "%s, deny: %s" $pub (include "rivulet.nats.allowList" (dict "entries" .publishDeny "names" .names "perms" .perms)) -}}
{{- end -}}
{{- $pub = printf "%s }" $pub -}}
{{- printf "    { user: %s, permissions: { %s, subscribe: { allow: %s } } }" (.user | quote) $pub (include "rivulet.nats.allowList" (dict "entries" .subscribe "names" .names "perms" .perms)) -}}
{{- end -}}

{{/*
The `tls` and `authorization` blocks of the bundled NATS, exactly as natsSecurityConfig writes them
(lib/security/nats-permissions.ts), then nats.extraUsers (e.g. a producer of a JetStream source).
*/}}
{{- define "rivulet.nats.securityConfig" -}}
{{- $perms := .Files.Get "files/nats-permissions.json" | fromJson -}}
{{- if not $perms.users -}}{{- fail "files/nats-permissions.json is missing or empty: run `npm run build && npm run gen:chart-nats`" -}}{{- end -}}
{{- $names := include "rivulet.nats.resourceNames" . | fromJson -}}
{{- $dir := include "rivulet.nats.tlsDir" . -}}
tls {
  cert_file: {{ printf "%s/tls.crt" $dir | quote }}
  key_file: {{ printf "%s/tls.key" $dir | quote }}
  ca_file: {{ printf "%s/ca.crt" $dir | quote }}
  verify_and_map: true
}
authorization {
  users = [
{{- range $u := $perms.users }}
{{ include "rivulet.nats.userLine" (merge (dict "names" $names "perms" $perms) $u) }}
{{- end }}
{{- range $u := $.Values.nats.extraUsers }}
{{ include "rivulet.nats.userLine" (dict "user" $u.user "publish" $u.permissions.publish.allow "publishDeny" $u.permissions.publish.deny "subscribe" $u.permissions.subscribe.allow "names" $names "perms" (dict "scalars" (dict) "lists" (dict))) }}
{{- end }}
  ]
}
{{- end -}}

{{/* The route user: the subject of the NATS servers' certificate (files/nats-permissions.json). */}}
{{- define "rivulet.nats.routeUser" -}}
{{- (.Files.Get "files/nats-permissions.json" | fromJson).routeUser -}}
{{- end -}}

{{/* The bundled NATS's nats.conf. */}}
{{- define "rivulet.nats.conf" -}}
{{- $n := .Values.nats -}}
{{- $c := $n.config -}}
{{- $name := include "rivulet.nats.fullname" . -}}
{{- $headless := printf "%s-headless" $name -}}
{{- $replicas := include "rivulet.nats.servers" . | int -}}
{{- $dir := include "rivulet.nats.tlsDir" . -}}
# Each server's name is its pod's ($SERVER_NAME from the downward API): JetStream needs unique names.
server_name: $SERVER_NAME
port: {{ $c.nats.port }}
http_port: {{ $c.monitor.port }}
pid_file: /var/run/nats/nats.pid
lame_duck_duration: {{ $n.lameDuckDuration }}
lame_duck_grace_period: 10s
max_payload: {{ include "rivulet.quantityBytes" $c.maxPayload }}
jetstream {
  store_dir: /data
  max_memory_store: {{ include "rivulet.quantityBytes" $c.jetstream.memoryStore }}
  max_file_store: {{ include "rivulet.quantityBytes" $c.jetstream.fileStore.size }}
}
{{- if .Values.security.enabled }}
# Clients: TLS only, a certificate from the chart's CA mapped to a user (generated from
# lib/security/nats-permissions.ts). The monitoring port (probes) stays plain HTTP inside the pod network.
{{ include "rivulet.nats.securityConfig" . }}
{{- end }}
{{- if $c.cluster.enabled }}
cluster {
  name: {{ $name }}
  port: {{ $c.cluster.port }}
  routes: [
    {{- range $i := until $replicas }}
    nats://{{ $name }}-{{ $i }}.{{ $headless }}.{{ $.Release.Namespace }}.svc.{{ $.Values.clusterDomain }}:{{ $c.cluster.port }}
    {{- end }}
  ]
  connect_retries: 120
  {{- if .Values.security.enabled }}
  # Routes: mutual TLS, and only the servers' own certificate may open one — a route may use every
  # subject of every account, so a service's certificate (same CA) must not pass as a server.
  tls {
    cert_file: {{ printf "%s/tls.crt" $dir | quote }}
    key_file: {{ printf "%s/tls.key" $dir | quote }}
    ca_file: {{ printf "%s/ca.crt" $dir | quote }}
    verify_and_map: true
  }
  authorization { user: {{ include "rivulet.nats.routeUser" . | quote }} }
  {{- end }}
}
{{- end }}
{{- end -}}

{{/* A PostgreSQL sink connection's environment variable: RIVULET_SINK_ + the name upper-cased, other characters as `_` (lib/sinks/spec.ts). */}}
{{- define "rivulet.sinkConnectionEnv" -}}
{{- printf "RIVULET_SINK_%s" (regexReplaceAll "[^A-Z0-9_]" (upper .) "_") -}}
{{- end -}}

{{/* The scheduler's sink options' variables (services/scheduler/config.ts; tests/helm checks the list), which a connection name must not shadow. */}}
{{- define "rivulet.schedulerSinkOptionEnvs" -}}
{{- $out := list -}}
{{- range $o := list "sinkSubjects" "sinkStream" "sinkStreamMaxBytes" "sinkDuplicateWindow" "sinkRetryTimeout" "sinkRetryBackoff" "sinkRetryMaxBackoff" "sinkRequestTimeout" "sinkChunkRecords" "sinkMaxConnections" -}}
{{- $out = append $out (include "rivulet.envName" $o) -}}
{{- end -}}
{{- toJson $out -}}
{{- end -}}
