{{/*
Names, labels, addresses and the configuration → environment mapping shared by every template.
The RIVULET_* naming rule is the one of lib/config: option `fooBar` ⇔ env `RIVULET_FOO_BAR`.
*/}}

{{- define "rivulet.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "rivulet.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/* Name of one component's resources: <fullname>-<component>. Arguments: (dict "ctx" $ "component" "receiver") */}}
{{- define "rivulet.componentName" -}}
{{- printf "%s-%s" (include "rivulet.fullname" .ctx | trunc 50 | trimSuffix "-") .component -}}
{{- end -}}

{{- define "rivulet.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Labels of every resource. Argument: the root context. */}}
{{- define "rivulet.labels" -}}
helm.sh/chart: {{ include "rivulet.chart" . }}
app.kubernetes.io/name: {{ include "rivulet.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: rivulet
{{- with .Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{/* Selector labels of one component. Arguments: (dict "ctx" $ "component" "receiver") */}}
{{- define "rivulet.selectorLabels" -}}
app.kubernetes.io/name: {{ include "rivulet.name" .ctx }}
app.kubernetes.io/instance: {{ .ctx.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{/* Labels of one component's resources. Arguments: (dict "ctx" $ "component" "receiver") */}}
{{- define "rivulet.componentLabels" -}}
{{ include "rivulet.labels" .ctx }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{/* metadata.annotations from commonAnnotations, if any. Argument: the root context. */}}
{{- define "rivulet.annotations" -}}
{{- with .Values.commonAnnotations }}
annotations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end -}}

{{- define "rivulet.image" -}}
{{- $repo := .Values.image.repository -}}
{{- if .Values.image.registry -}}
{{- $repo = printf "%s/%s" .Values.image.registry $repo -}}
{{- end -}}
{{- if .Values.image.digest -}}
{{- printf "%s@%s" $repo .Values.image.digest -}}
{{- else -}}
{{- printf "%s:%s" $repo (default .Chart.AppVersion .Values.image.tag | toString) -}}
{{- end -}}
{{- end -}}

{{- define "rivulet.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "rivulet.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{/* In-cluster address (host:port) of a component's Service. Arguments: (dict "ctx" $ "component" "scheduler") */}}
{{- define "rivulet.serviceAddress" -}}
{{- $values := index .ctx.Values .component -}}
{{- printf "%s.%s.svc.%s:%d" (include "rivulet.componentName" .) .ctx.Release.Namespace .ctx.Values.clusterDomain (int $values.service.port) -}}
{{- end -}}

{{/* "true" when the chart deploys its own NATS (templates/nats.yaml): nats.enabled and no externalNats.url. */}}
{{- define "rivulet.nats.bundled" -}}
{{- if and .Values.nats.enabled (not .Values.externalNats.url) -}}true{{- end -}}
{{- end -}}

{{/* A Kubernetes binary quantity ("256Mi", "10Gi") in bytes, for the NATS configuration (whose "M" is 10^6). */}}
{{- define "rivulet.quantityBytes" -}}
{{- $num := regexFind "^[0-9]+" . -}}
{{- $unit := trimPrefix $num . -}}
{{- $scale := dict "Ki" 1024 "Mi" 1048576 "Gi" 1073741824 "Ti" 1099511627776 -}}
{{- if or (not $num) (not (hasKey $scale $unit)) -}}
{{- fail (printf "invalid size %q (expected e.g. 256Mi, 10Gi)" .) -}}
{{- end -}}
{{- mul (int64 $num) (get $scale $unit) -}}
{{- end -}}

{{/* Name of the bundled NATS's Service and StatefulSet: <release>-nats. */}}
{{- define "rivulet.nats.fullname" -}}
{{- if .Values.nats.fullnameOverride -}}
{{- .Values.nats.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default "nats" .Values.nats.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/*
The NATS URL every service connects to: externalNats.url, or the bundled NATS's Service — tls://
with security on (the services present their certificates; the server's names the Service).
*/}}
{{- define "rivulet.natsUrl" -}}
{{- if include "rivulet.nats.bundled" . -}}
{{- $port := 4222 -}}
{{- with .Values.nats.config -}}{{- with .nats -}}{{- with .port -}}{{- $port = . -}}{{- end -}}{{- end -}}{{- end -}}
{{- printf "%s://%s.%s.svc.%s:%d" (ternary "tls" "nats" .Values.security.enabled) (include "rivulet.nats.fullname" .) .Release.Namespace .Values.clusterDomain (int $port) -}}
{{- else -}}
{{- .Values.externalNats.url -}}
{{- end -}}
{{- end -}}

{{/* Environment variable name of a service option: fooBar → RIVULET_FOO_BAR (lib/config envName). */}}
{{- define "rivulet.envName" -}}
{{- printf "RIVULET_%s" (regexReplaceAll "([a-z0-9])([A-Z])" . "${1}_${2}" | upper) -}}
{{- end -}}

{{/* A value as an env string; YAML numbers arrive as float64 and must not print as 1e+07. */}}
{{- define "rivulet.envValue" -}}
{{- if kindIs "float64" . -}}
{{- if eq (floor .) . -}}{{- printf "%.0f" . -}}{{- else -}}{{- toString . -}}{{- end -}}
{{- else -}}
{{- toString . -}}
{{- end -}}
{{- end -}}

{{/* A duration ("200ms", "1s", "2m", "1h" or a number of ms) in milliseconds, as lib/config parses it. */}}
{{- define "rivulet.durationMs" -}}
{{- $v := include "rivulet.envValue" . | trim -}}
{{- $num := regexFind "^[0-9]+(\\.[0-9]+)?" $v -}}
{{- $unit := trimPrefix $num $v | lower -}}
{{- $scale := dict "" 1 "ms" 1 "s" 1000 "m" 60000 "h" 3600000 -}}
{{- if or (not $num) (not (hasKey $scale $unit)) -}}
{{- fail (printf "invalid duration %q (expected e.g. 200ms, 1s, 2m)" $v) -}}
{{- end -}}
{{- mulf (float64 $num) (get $scale $unit) | floor | int64 -}}
{{- end -}}

{{/* The executor count the other checks compare against: the HPA's floor when autoscaling. */}}
{{- define "rivulet.executorFloor" -}}
{{- if .Values.executor.autoscaling.enabled -}}
{{- .Values.executor.autoscaling.minReplicas | int -}}
{{- else -}}
{{- .Values.executor.replicaCount | int -}}
{{- end -}}
{{- end -}}

{{/*
The receiver's block interval in ms: config.blockInterval, or when it is empty the interval
`rivulet up` derives (cli/commands/up.ts defaultBlockInterval) for the total slots, taken as
rivulet.executorFloor × executor.config.slots (the HPA's floor when autoscaling): blocks per
batch the fewest multiple of the total slots whose interval divides the batch interval and lies
in 50ms–200ms; when no multiple fits, the fewest at least the slots (≤ 200ms); else the most
there may be (50ms blocks, or one per batch for a batch interval under 50ms).
*/}}
{{- define "rivulet.blockIntervalMs" -}}
{{- $v := .Values -}}
{{- if not (eq (include "rivulet.envValue" $v.config.blockInterval) "") -}}
{{- include "rivulet.durationMs" $v.config.blockInterval -}}
{{- else -}}
{{- $batch := include "rivulet.durationMs" $v.config.batchInterval | int -}}
{{- $slots := mul (include "rivulet.executorFloor" . | int) ($v.executor.config.slots | int) | int -}}
{{- $slots = max $slots 1 | int -}}
{{- $shortest := min 50 $batch | int -}}
{{- $picked := 0 -}}
{{- $atLeastSlots := 0 -}}
{{- $most := 1 -}}
{{- range $i := until (max 1 (div $batch (max $shortest 1)) | int) -}}
{{- $n := add1 $i | int -}}
{{- if eq (mod $batch $n) 0 -}}
{{- $most = $n -}}
{{- if le (div $batch $n) 200 -}}
{{- if and (eq $picked 0) (eq (mod $n $slots) 0) -}}{{- $picked = $n -}}{{- end -}}
{{- if and (eq $atLeastSlots 0) (ge $n $slots) -}}{{- $atLeastSlots = $n -}}{{- end -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- div $batch (ternary $picked (ternary $atLeastSlots $most (gt $atLeastSlots 0)) (gt $picked 0)) -}}
{{- end -}}
{{- end -}}

{{/*
Security (issue 13, README "Deploy with Helm" → Security). Every service gets its role's
certificate (CN = role) and the cluster CA in one Secret per role, mounted read-only at
/etc/rivulet/tls; the same layout (tls.crt, tls.key, ca.crt) whether the chart generated it on
install or cert-manager issued it. The scheduler, receiver and lineage also get the bootstrap admin
token. With a tls:// NATS URL the services present the same certificate to NATS (one NATS user per
role): an external NATS set up with docs/nats-security.conf, or the bundled one (_nats.tpl).
*/}}

{{/* Roles with a certificate: the services, in the order the templates render them. */}}
{{- define "rivulet.security.roles" -}}
{{- list "receiver" "scheduler" "lineage" "executor" | toJson -}}
{{- end -}}

{{/* Secret holding one role's certificate, key and CA. Arguments: (dict "ctx" $ "component" "receiver") */}}
{{- define "rivulet.security.tlsSecretName" -}}
{{- printf "%s-tls" (include "rivulet.componentName" .) -}}
{{- end -}}

{{/* Secret holding the CA the chart generated (certificate and key); only without cert-manager. */}}
{{- define "rivulet.security.caSecretName" -}}
{{- printf "%s-ca" (include "rivulet.fullname" . | trunc 50 | trimSuffix "-") -}}
{{- end -}}

{{/* Secret and key of the bootstrap admin token: the chart's, or security.adminToken.existingSecret. */}}
{{- define "rivulet.security.adminTokenSecretName" -}}
{{- default (printf "%s-admin-token" (include "rivulet.fullname" . | trunc 50 | trimSuffix "-")) .Values.security.adminToken.existingSecret -}}
{{- end -}}

{{- define "rivulet.security.adminTokenSecretKey" -}}
{{- ternary .Values.security.adminToken.existingSecretKey "token" (ne .Values.security.adminToken.existingSecret "") -}}
{{- end -}}

{{/*
DNS names of one role's certificate: its Service's names (executors have no Service and are dialled
by pod IP, so theirs are nominal). Rivulet checks the role in the CN, not the name; the names are for
other TLS tooling.
Arguments: (dict "ctx" $ "component" "receiver"). Output: a JSON list.
*/}}
{{- define "rivulet.security.dnsNames" -}}
{{- $name := include "rivulet.componentName" . -}}
{{- $ns := .ctx.Release.Namespace -}}
{{- list $name (printf "%s.%s" $name $ns) (printf "%s.%s.svc" $name $ns) (printf "%s.%s.svc.%s" $name $ns .ctx.Values.clusterDomain) | toJson -}}
{{- end -}}

{{/* Does this component read the bootstrap admin token? (The services that authenticate users.) */}}
{{- define "rivulet.security.readsAdminToken" -}}
{{- if has .component (list "scheduler" "receiver" "lineage") -}}true{{- end -}}
{{- end -}}

{{- /* Where the pods find their security material. */ -}}
{{- define "rivulet.security.tlsDir" -}}/etc/rivulet/tls{{- end -}}
{{- define "rivulet.security.tokenDir" -}}/etc/rivulet/admin-token{{- end -}}

{{/*
The probe of a service: the native Kubernetes `grpc` probe when security is off; with security on an
`exec` probe, because the kubelet's grpc probe speaks only plaintext and the services only TLS. It
asks grpc.health.v1 Check on the container's own port over TLS (CA from RIVULET_TLS_CA_FILE) and
passes on SERVING only, as the grpc probe does; with @grpc/grpc-js alone (no proto loading) so a probe
costs one short-lived `node`. Arguments: (dict "ctx" $ "component" "receiver" "timeoutSeconds" 2)
*/}}
{{- define "rivulet.probeAction" -}}
{{- $values := index .ctx.Values .component -}}
{{- if .ctx.Values.security.enabled -}}
{{- $script := printf `const grpc = require('@grpc/grpc-js');
const ca = require('fs').readFileSync(process.env.RIVULET_TLS_CA_FILE);
const creds = grpc.credentials.createSsl(ca, null, null, { checkServerIdentity: () => undefined });
const Health = grpc.makeGenericClientConstructor({ check: { path: '/grpc.health.v1.Health/Check', requestStream: false, responseStream: false, requestSerialize: () => Buffer.alloc(0), responseDeserialize: (b) => b } }, 'Health');
const client = new Health('127.0.0.1:' + process.env.RIVULET_PORT, creds, { 'grpc.ssl_target_name_override': 'rivulet' });
client.check({}, { deadline: Date.now() + %d }, (err, res) => {
  if (err) { console.error('health check failed: ' + err.message); process.exit(1); }
  if (res.length === 2 && res[0] === 8 && res[1] === 1) process.exit(0);
  console.error('not SERVING'); process.exit(1);
});` (mul (.timeoutSeconds | int) 1000) -}}
{{- dict "exec" (dict "command" (list "node" "-e" $script)) | toYaml -}}
{{- else -}}
{{- dict "grpc" (dict "port" ($values.port | int)) | toYaml -}}
{{- end -}}
{{- end -}}

{{/*
Refuse impossible combinations of values with one message listing every problem.
values.schema.json checks each value alone; this checks how they fit together.
*/}}
{{- define "rivulet.validateValues" -}}
{{- $errors := list -}}
{{- $v := .Values -}}
{{- /* NATS: externalNats.url, else the bundled one (unless turned off). */ -}}
{{- if and (not $v.nats.enabled) (not $v.externalNats.url) -}}
{{- $errors = append $errors "no NATS: set externalNats.url to an existing NATS server with JetStream, or leave nats.enabled=true to deploy one" -}}
{{- end -}}
{{- if include "rivulet.nats.bundled" . -}}
{{- $js := false -}}
{{- with $v.nats.config -}}{{- with .jetstream -}}{{- $js = .enabled -}}{{- end -}}{{- end -}}
{{- if not $js -}}
{{- $errors = append $errors "nats.config.jetstream.enabled must be true: the lineage service keeps its state in JetStream KV" -}}
{{- end -}}
{{- /* natsReplicas copies need as many JetStream servers: the bundled chart's cluster. */ -}}
{{- $replicas := int $v.config.natsReplicas -}}
{{- if gt $replicas 1 -}}
{{- $cluster := false -}}{{- $servers := 1 -}}
{{- with $v.nats.config -}}{{- with .cluster -}}{{- $cluster = .enabled -}}{{- $servers = int (default 1 .replicas) -}}{{- end -}}{{- end -}}
{{- if not $cluster -}}
{{- $errors = append $errors (printf "config.natsReplicas=%d needs a NATS cluster: set nats.config.cluster.enabled=true with nats.config.cluster.replicas>=%d, or config.natsReplicas=1 for a single NATS server" $replicas $replicas) -}}
{{- else if lt $servers $replicas -}}
{{- $errors = append $errors (printf "config.natsReplicas=%d exceeds nats.config.cluster.replicas=%d: JetStream cannot keep more copies than it has servers" $replicas $servers) -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- /* Intervals. */ -}}
{{- $batch := include "rivulet.durationMs" $v.config.batchInterval | int64 -}}
{{- $block := include "rivulet.blockIntervalMs" . | int64 -}}
{{- if or (lt $batch 100) (gt $batch 10000) -}}
{{- $errors = append $errors (printf "config.batchInterval=%s: must be between 100ms and 10s" (include "rivulet.envValue" $v.config.batchInterval)) -}}
{{- end -}}
{{- if le $block 0 -}}
{{- $errors = append $errors "config.blockInterval must be greater than 0" -}}
{{- else if ne (mod $batch $block) 0 -}}
{{- $errors = append $errors (printf "config.batchInterval=%s is not a multiple of config.blockInterval=%s" (include "rivulet.envValue" $v.config.batchInterval) (include "rivulet.envValue" $v.config.blockInterval)) -}}
{{- end -}}
{{- $hb := include "rivulet.durationMs" $v.config.heartbeatInterval | int64 -}}
{{- $timeout := include "rivulet.durationMs" $v.receiver.config.executorTimeout | int64 -}}
{{- if le $timeout $hb -}}
{{- $errors = append $errors (printf "receiver.config.executorTimeout=%s must be longer than config.heartbeatInterval=%s, or the receiver finds no live executor" (include "rivulet.envValue" $v.receiver.config.executorTimeout) (include "rivulet.envValue" $v.config.heartbeatInterval)) -}}
{{- end -}}
{{- /* Executors vs replication, PDB and HPA. */ -}}
{{- $floor := include "rivulet.executorFloor" . | int -}}
{{- $floorName := ternary "executor.autoscaling.minReplicas" "executor.replicaCount" $v.executor.autoscaling.enabled -}}
{{- $replication := $v.config.replication | int -}}
{{- if gt $replication $floor -}}
{{- $errors = append $errors (printf "config.replication=%d exceeds %s=%d: every block must be stored on that many distinct executors" $replication $floorName $floor) -}}
{{- end -}}
{{- if $v.executor.autoscaling.enabled -}}
{{- if gt ($v.executor.autoscaling.minReplicas | int) ($v.executor.autoscaling.maxReplicas | int) -}}
{{- $errors = append $errors (printf "executor.autoscaling.minReplicas=%d exceeds executor.autoscaling.maxReplicas=%d" ($v.executor.autoscaling.minReplicas | int) ($v.executor.autoscaling.maxReplicas | int)) -}}
{{- end -}}
{{- if and (not $v.executor.autoscaling.targetCPUUtilizationPercentage) (not $v.executor.autoscaling.targetMemoryUtilizationPercentage) -}}
{{- $errors = append $errors "executor.autoscaling.enabled=true needs targetCPUUtilizationPercentage or targetMemoryUtilizationPercentage" -}}
{{- end -}}
{{- if and $v.executor.autoscaling.targetCPUUtilizationPercentage (not (dig "requests" "cpu" "" $v.executor.resources)) -}}
{{- $errors = append $errors "executor.autoscaling.targetCPUUtilizationPercentage needs executor.resources.requests.cpu (utilisation is relative to the request)" -}}
{{- end -}}
{{- if and $v.executor.autoscaling.targetMemoryUtilizationPercentage (not (dig "requests" "memory" "" $v.executor.resources)) -}}
{{- $errors = append $errors "executor.autoscaling.targetMemoryUtilizationPercentage needs executor.resources.requests.memory" -}}
{{- end -}}
{{- end -}}
{{- if and $v.receiver.pdb.create (gt ($v.receiver.replicas | int) 1) (ge ($v.receiver.pdb.minAvailable | int) ($v.receiver.replicas | int)) -}}
{{- $errors = append $errors (printf "receiver.pdb.minAvailable=%d must be below receiver.replicas=%d, or no receiver could ever be evicted (node drains would hang)" ($v.receiver.pdb.minAvailable | int) ($v.receiver.replicas | int)) -}}
{{- end -}}
{{- if $v.executor.pdb.create -}}
{{- $min := $v.executor.pdb.minAvailable -}}
{{- $max := $v.executor.pdb.maxUnavailable -}}
{{- $hasMin := not (or (kindIs "invalid" $min) (eq (toString $min) "")) -}}
{{- $hasMax := not (or (kindIs "invalid" $max) (eq (toString $max) "")) -}}
{{- if and (not $hasMin) (not $hasMax) -}}
{{- $errors = append $errors "executor.pdb.create=true needs executor.pdb.maxUnavailable or executor.pdb.minAvailable" -}}
{{- end -}}
{{- if and $hasMin (not (kindIs "string" $min)) -}}
{{- if ge ($min | int) $floor -}}
{{- $errors = append $errors (printf "executor.pdb.minAvailable=%d must be below %s=%d, or no executor could ever be evicted (node drains would hang)" ($min | int) $floorName $floor) -}}
{{- else if and (not $v.executor.autoscaling.enabled) (ge (sub $floor ($min | int)) $replication) -}}
{{- $errors = append $errors (printf "executor.pdb.minAvailable=%d lets %d of %d executors be evicted at once, but blocks live on only config.replication=%d: acked records could be lost; raise minAvailable to %d" ($min | int) (sub $floor ($min | int)) $floor $replication (add (sub $floor $replication) 1)) -}}
{{- end -}}
{{- else if and (not $hasMin) $hasMax (not (kindIs "string" $max)) -}}
{{- if ge ($max | int) $replication -}}
{{- $errors = append $errors (printf "executor.pdb.maxUnavailable=%d must be below config.replication=%d: evicting that many executors at once could lose every copy of an acked block" ($max | int) $replication) -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- /* Ports must be distinct: the executor advertises its port, and services dial each other by port. */ -}}
{{- $ports := list ($v.receiver.port | int) ($v.scheduler.port | int) ($v.lineage.port | int) ($v.executor.port | int) -}}
{{- if ne (len ($ports | uniq)) 4 -}}
{{- $errors = append $errors (printf "receiver.port, scheduler.port, lineage.port and executor.port must differ (got %v)" $ports) -}}
{{- end -}}
{{- if and $v.otel.metricsPort (has ($v.otel.metricsPort | int) $ports) -}}
{{- $errors = append $errors (printf "otel.metricsPort=%d is a service's gRPC port; pick another" ($v.otel.metricsPort | int)) -}}
{{- end -}}
{{- /* Monitoring: a ServiceMonitor scrapes the metrics port, so there must be one. */ -}}
{{- if and $v.serviceMonitor.enabled (not $v.otel.metricsPort) -}}
{{- $errors = append $errors "serviceMonitor.enabled=true needs otel.metricsPort (e.g. 9464): the pods serve no metrics to scrape" -}}
{{- end -}}
{{- /* Sinks: each PostgreSQL connection its own variable, none an option of the scheduler (RIVULET_SINK_STREAM is sinkStream). */ -}}
{{- $sinkEnvs := list -}}
{{- range $pg := $v.sinks.postgres -}}
{{- $envName := include "rivulet.sinkConnectionEnv" $pg.name -}}
{{- if has $envName $sinkEnvs -}}
{{- $errors = append $errors (printf "sinks.postgres: two connections map to %s (names are upper-cased, other characters as _): rename one" $envName) -}}
{{- end -}}
{{- if has $envName (include "rivulet.schedulerSinkOptionEnvs" . | fromJsonArray) -}}
{{- $errors = append $errors (printf "sinks.postgres name %q: its variable %s is the scheduler's option of that name; pick another connection name" $pg.name $envName) -}}
{{- end -}}
{{- $sinkEnvs = append $sinkEnvs $envName -}}
{{- end -}}
{{- /* Security. */ -}}
{{- $sec := $v.security -}}
{{- if not $sec.enabled -}}
{{- if $sec.certManager.enabled -}}
{{- $errors = append $errors "security.certManager.enabled=true with security.enabled=false: certificates would be issued but every service runs with RIVULET_INSECURE=true; turn security on or cert-manager off" -}}
{{- end -}}
{{- if $sec.adminToken.existingSecret -}}
{{- $errors = append $errors (printf "security.adminToken.existingSecret=%q with security.enabled=false: without security no token is checked; turn security on or unset the Secret" $sec.adminToken.existingSecret) -}}
{{- end -}}
{{- end -}}
{{- if and $sec.certManager.enabled (not $sec.certManager.issuerRef.name) -}}
{{- $errors = append $errors "security.certManager.enabled=true needs security.certManager.issuerRef.name: the Issuer or ClusterIssuer that signs the services' certificates (a CA issuer, so that each Secret carries ca.crt)" -}}
{{- end -}}
{{- if and $sec.adminToken.existingSecret (not $sec.adminToken.existingSecretKey) -}}
{{- $errors = append $errors "security.adminToken.existingSecret needs security.adminToken.existingSecretKey (the key holding the token)" -}}
{{- end -}}
{{- if and $sec.certManager.enabled (le (include "rivulet.durationMs" $sec.certManager.duration | int64) (include "rivulet.durationMs" $sec.certManager.renewBefore | int64)) -}}
{{- $errors = append $errors (printf "security.certManager.renewBefore=%s must be shorter than security.certManager.duration=%s" $sec.certManager.renewBefore $sec.certManager.duration) -}}
{{- end -}}
{{- if and (not $sec.certManager.enabled) (le ($sec.tls.validityDays | int) ($sec.tls.renewBeforeDays | int)) -}}
{{- $errors = append $errors (printf "security.tls.renewBeforeDays=%d must be below security.tls.validityDays=%d, or every upgrade would reissue the certificates" ($sec.tls.renewBeforeDays | int) ($sec.tls.validityDays | int)) -}}
{{- end -}}
{{- if and (not $sec.certManager.enabled) (gt ($sec.tls.validityDays | int) ($sec.tls.caValidityDays | int)) -}}
{{- $errors = append $errors (printf "security.tls.validityDays=%d outlives security.tls.caValidityDays=%d: a certificate cannot be valid for longer than the CA that signs it" ($sec.tls.validityDays | int) ($sec.tls.caValidityDays | int)) -}}
{{- end -}}
{{- if $errors -}}
{{- fail (printf "\n\nRIVULET VALUES VALIDATION:\n  - %s\n" (join "\n  - " $errors)) -}}
{{- end -}}
{{- end -}}

{{/*
Environment of one component's ConfigMap (RIVULET_* and OTEL_*), as a YAML map of strings:
the common options, the shared `config` options this service reads, its peers' addresses and
its own `<component>.config`. Arguments: (dict "ctx" $ "component" "receiver")
*/}}
{{- define "rivulet.configData" -}}
{{- $ctx := .ctx -}}
{{- $values := index $ctx.Values .component -}}
{{- $env := dict -}}
{{- $_ := set $env "RIVULET_HOST" "0.0.0.0" -}}
{{- $_ := set $env "RIVULET_PORT" (include "rivulet.envValue" $values.port) -}}
{{- $_ := set $env "RIVULET_NATS_URL" (include "rivulet.natsUrl" $ctx) -}}
{{- $_ := set $env "RIVULET_NATS_REPLICAS" (include "rivulet.envValue" $ctx.Values.config.natsReplicas) -}}
{{- $_ := set $env "RIVULET_LOG_LEVEL" $ctx.Values.config.logLevel -}}
{{- $_ := set $env "RIVULET_MAX_MESSAGE_BYTES" (include "rivulet.envValue" $ctx.Values.config.maxMessageBytes) -}}
{{- $_ := set $env "RIVULET_GRPC_REFLECTION" (include "rivulet.envValue" $ctx.Values.config.grpcReflection) -}}
{{- $c := $ctx.Values.config -}}
{{- $shared := dict -}}
{{- if eq .component "receiver" -}}
{{- $block := ternary (printf "%sms" (include "rivulet.blockIntervalMs" $ctx)) $c.blockInterval (eq (include "rivulet.envValue" $c.blockInterval) "") -}}
{{- $shared = dict "batchInterval" $c.batchInterval "blockInterval" $block "replication" $c.replication "schedulerAddress" (include "rivulet.serviceAddress" (dict "ctx" $ctx "component" "scheduler")) -}}
{{- else if eq .component "scheduler" -}}
{{- $shared = dict "batchInterval" $c.batchInterval "heartbeatInterval" $c.heartbeatInterval "replication" $c.replication "checkpointBucket" $c.checkpointBucket "lineageAddress" (include "rivulet.serviceAddress" (dict "ctx" $ctx "component" "lineage")) "receiverAddress" (include "rivulet.serviceAddress" (dict "ctx" $ctx "component" "receiver")) -}}
{{- else if eq .component "executor" -}}
{{- $shared = dict "heartbeatInterval" $c.heartbeatInterval "checkpointBucket" $c.checkpointBucket -}}
{{- end -}}
{{- range $k, $val := $shared -}}
{{- $_ := set $env (include "rivulet.envName" $k) (include "rivulet.envValue" $val) -}}
{{- end -}}
{{- range $k, $val := $values.config -}}
{{- if not (kindIs "invalid" $val) -}}
{{- $_ := set $env (include "rivulet.envName" $k) (include "rivulet.envValue" $val) -}}
{{- end -}}
{{- end -}}
{{- /* Security: the files mounted by rivulet.podTemplate, or plaintext when turned off. */ -}}
{{- if $ctx.Values.security.enabled -}}
{{- $tls := include "rivulet.security.tlsDir" $ctx -}}
{{- $_ := set $env "RIVULET_TLS_CA_FILE" (printf "%s/ca.crt" $tls) -}}
{{- $_ := set $env "RIVULET_TLS_CERT_FILE" (printf "%s/tls.crt" $tls) -}}
{{- $_ := set $env "RIVULET_TLS_KEY_FILE" (printf "%s/tls.key" $tls) -}}
{{- $_ := set $env "RIVULET_TLS_RELOAD_INTERVAL" (include "rivulet.envValue" $ctx.Values.security.tls.reloadInterval) -}}
{{- if include "rivulet.security.readsAdminToken" . -}}
{{- $_ := set $env "RIVULET_ADMIN_TOKEN_FILE" (printf "%s/token" (include "rivulet.security.tokenDir" $ctx)) -}}
{{- end -}}
{{- else -}}
{{- $_ := set $env "RIVULET_INSECURE" "true" -}}
{{- end -}}
{{- /*
NATS: with a tls:// URL (the bundled NATS's with security on) the services present the same
certificate to NATS, which maps it to their user (lib/security/nats-permissions.ts); a nats:// URL
is plaintext.
*/ -}}
{{- $_ := set $env "OTEL_SERVICE_NAME" (printf "rivulet-%s" .component) -}}
{{- with $ctx.Values.otel.metricsPort -}}
{{- $_ := set $env "RIVULET_METRICS_PORT" (include "rivulet.envValue" .) -}}
{{- end -}}
{{- with $ctx.Values.otel.endpoint -}}
{{- $_ := set $env "OTEL_EXPORTER_OTLP_ENDPOINT" . -}}
{{- $_ := set $env "OTEL_EXPORTER_OTLP_PROTOCOL" $ctx.Values.otel.protocol -}}
{{- end -}}
{{- toYaml $env -}}
{{- end -}}

{{/*
The pod template shared by every component.
Arguments: (dict "ctx" $ "component" "executor" "env" (list ...EnvVar...) "affinity" (dict ...))
*/}}
{{- define "rivulet.podTemplate" -}}
{{- $ctx := .ctx -}}
{{- $values := index $ctx.Values .component -}}
{{- $args := dict "ctx" $ctx "component" .component -}}
metadata:
  labels:
    {{- include "rivulet.selectorLabels" $args | nindent 4 }}
    {{- with $values.podLabels }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
  annotations:
    # Roll the pods whenever their configuration changes.
    checksum/config: {{ include "rivulet.configData" $args | sha256sum }}
    {{- with $ctx.Values.otel.metricsPort }}
    prometheus.io/scrape: "true"
    prometheus.io/port: {{ . | quote }}
    prometheus.io/path: /metrics
    {{- end }}
    {{- with $values.podAnnotations }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
spec:
  serviceAccountName: {{ include "rivulet.serviceAccountName" $ctx }}
  automountServiceAccountToken: {{ $ctx.Values.serviceAccount.automountServiceAccountToken }}
  {{- with $ctx.Values.image.pullSecrets }}
  imagePullSecrets:
    {{- range . }}
    - name: {{ . }}
    {{- end }}
  {{- end }}
  {{- with $values.priorityClassName }}
  priorityClassName: {{ . }}
  {{- end }}
  terminationGracePeriodSeconds: {{ $values.terminationGracePeriodSeconds }}
  securityContext:
    {{- toYaml $ctx.Values.podSecurityContext | nindent 4 }}
  {{- with $values.nodeSelector }}
  nodeSelector:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- with $values.tolerations }}
  tolerations:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- with (default .affinity $values.affinity) }}
  affinity:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  containers:
    - name: {{ .component }}
      image: {{ include "rivulet.image" $ctx }}
      imagePullPolicy: {{ $ctx.Values.image.pullPolicy }}
      # The image's entry point is `node` (Dockerfile); each service is one compiled main.
      args: ["dist/services/{{ .component }}/main.js"]
      ports:
        - name: grpc
          containerPort: {{ $values.port }}
          protocol: TCP
        {{- with $ctx.Values.otel.metricsPort }}
        - name: metrics
          containerPort: {{ . }}
          protocol: TCP
        {{- end }}
      envFrom:
        - configMapRef:
            name: {{ include "rivulet.componentName" $args }}
      env:
        - name: POD_NAME
          valueFrom:
            fieldRef:
              fieldPath: metadata.name
        - name: POD_NAMESPACE
          valueFrom:
            fieldRef:
              fieldPath: metadata.namespace
        - name: POD_IP
          valueFrom:
            fieldRef:
              fieldPath: status.podIP
        - name: NODE_NAME
          valueFrom:
            fieldRef:
              fieldPath: spec.nodeName
        {{- $attrs := list "k8s.pod.name=$(POD_NAME)" "k8s.namespace.name=$(POD_NAMESPACE)" "k8s.node.name=$(NODE_NAME)" (printf "service.namespace=%s" $ctx.Release.Name) -}}
        {{- range $k, $v := $ctx.Values.otel.resourceAttributes -}}
        {{- $attrs = append $attrs (printf "%s=%s" $k (include "rivulet.envValue" $v)) -}}
        {{- end }}
        - name: OTEL_RESOURCE_ATTRIBUTES
          value: {{ join "," $attrs | quote }}
        {{- with .env }}
        {{- toYaml . | nindent 8 }}
        {{- end }}
        {{- with $values.extraEnv }}
        {{- toYaml . | nindent 8 }}
        {{- end }}
      {{- range $kind := list "startup" "readiness" "liveness" }}
      {{- $p := index $ctx.Values.probes $kind }}
      {{- if $p.enabled }}
      {{ $kind }}Probe:
        {{- toYaml (merge (omit $p "enabled") (include "rivulet.probeAction" (merge (dict "timeoutSeconds" $p.timeoutSeconds) $args) | fromYaml)) | nindent 8 }}
      {{- end }}
      {{- end }}
      {{- with $values.resources }}
      resources:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      securityContext:
        {{- toYaml $ctx.Values.containerSecurityContext | nindent 8 }}
      volumeMounts:
        # The root filesystem is read-only; /tmp is the one writable path (nothing in Rivulet writes to
        # disk, but Node and job code may want a temp dir).
        - name: tmp
          mountPath: /tmp
        {{- if $ctx.Values.security.enabled }}
        # Not subPath mounts: those never see a renewed Secret, and the services re-read these files.
        - name: tls
          mountPath: {{ include "rivulet.security.tlsDir" $ctx }}
          readOnly: true
        {{- if include "rivulet.security.readsAdminToken" $args }}
        - name: admin-token
          mountPath: {{ include "rivulet.security.tokenDir" $ctx }}
          readOnly: true
        {{- end }}
        {{- end }}
  volumes:
    - name: tmp
      emptyDir: {}
    {{- if $ctx.Values.security.enabled }}
    # This role's certificate and key, and the CA: nothing of another role's.
    - name: tls
      secret:
        secretName: {{ include "rivulet.security.tlsSecretName" $args }}
        defaultMode: 288 # 0440: the pod's group (fsGroup) reads, nobody writes
        items:
          - key: tls.crt
            path: tls.crt
          - key: tls.key
            path: tls.key
          - key: ca.crt
            path: ca.crt
    {{- if include "rivulet.security.readsAdminToken" $args }}
    - name: admin-token
      secret:
        secretName: {{ include "rivulet.security.adminTokenSecretName" $ctx }}
        defaultMode: 288
        items:
          - key: {{ include "rivulet.security.adminTokenSecretKey" $ctx }}
            path: token
    {{- end }}
    {{- end }}
{{- end -}}
