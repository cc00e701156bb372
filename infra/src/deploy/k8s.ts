import { topicByName } from "@costwise/schemas";
import { stringify } from "yaml";
import { pipelineServices, serviceArgs, type PipelineServiceSpec } from "../services.ts";
import { MEASURED_PEAK_RSS_MIB } from "./measured.ts";

/**
 * The Kubernetes manifests of every pipeline service (infra/k8s, kustomize-style plain YAML),
 * generated from the one service table so that they cannot drift from `npm start`: a test renders
 * them again and compares. `npm run k8s:render` writes them.
 */

/** Shutdown deadline the pods run with; the grace period must outlast it. */
export const SHUTDOWN_TIMEOUT_MS = 30_000;
export const STARTUP_TIMEOUT_MS = 120_000;
export const IMAGE = "ghcr.io/costwise/costwise:0.1.0";
export const CONFIG_MAP = "costwise";
export const PROVIDER_SECRET = "costwise-provider-keys";

/**
 * What every service reads from the `costwise` ConfigMap: the stack endpoints (the keys of
 * stack.env, pointed at in-cluster services) and the cluster switch of the migrations.
 */
export const CONFIG_VALUES: Readonly<Record<string, string>> = {
  KAFKA_BROKERS: "kafka-bootstrap.kafka.svc:9092",
  SCHEMA_REGISTRY_URL: "http://apicurio-registry.registry.svc:8080/apis/ccompat/v7",
  REDIS_URL: "redis://redis.redis.svc:6379",
  CLICKHOUSE_URL: "http://clickhouse.clickhouse.svc:8123",
  CLICKHOUSE_DATABASE: "costwise",
  CLICKHOUSE_USER: "default",
  // Empty: one ClickHouse node. The cluster overlay names the cluster of remote_servers.
  CLICKHOUSE_CLUSTER: "",
  LOG_LEVEL: "info",
};

const labels = (name: string) => ({ "app.kubernetes.io/name": "costwise", "app.kubernetes.io/component": name });

/** Memory request: the peak RSS measured under drill load plus a quarter, in 32 MiB steps; the limit is twice it. */
export function memoryRequestMiB(service: string): number {
  const peak = MEASURED_PEAK_RSS_MIB[service];
  if (peak === undefined) throw new Error(`no measured memory for ${service}: run npm run drill (it prints the peak RSS per service) and add it to infra/src/deploy/measured.ts`);
  return Math.ceil((peak * 1.25) / 32) * 32;
}

function deployment(s: PipelineServiceSpec): object {
  const port = s.metricsPort;
  const portEnv = s.portEnv ?? "METRICS_PORT";
  const hostEnv = s.hostEnv ?? "OPS_HOST";
  const mem = memoryRequestMiB(s.name);
  const env = [
    { name: portEnv, value: String(port) },
    { name: hostEnv, value: "0.0.0.0" },
    { name: "SHUTDOWN_TIMEOUT_MS", value: String(SHUTDOWN_TIMEOUT_MS) },
    { name: "STARTUP_TIMEOUT_MS", value: String(STARTUP_TIMEOUT_MS) },
    ...(s.group ? [{ name: "GROUP_ID", value: s.group }] : []),
    // Node's heap follows the container's memory limit instead of the node's size.
    { name: "NODE_OPTIONS", value: `--max-old-space-size=${mem}` },
  ];
  return {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name: `costwise-${s.name}`, labels: labels(s.name) },
    spec: {
      // KEDA owns the replica count of the scalable stages.
      replicas: 1,
      selector: { matchLabels: labels(s.name) },
      template: {
        metadata: { labels: labels(s.name), annotations: { "prometheus.io/scrape": "true", "prometheus.io/port": String(port), "prometheus.io/path": "/metrics" } },
        spec: {
          // SIGTERM → stop intake, finish the batch in flight, commit: must finish before the SIGKILL.
          terminationGracePeriodSeconds: SHUTDOWN_TIMEOUT_MS / 1000 + 15,
          containers: [
            {
              name: s.name,
              image: IMAGE,
              command: ["node", ...serviceArgs(s, "dist")],
              ports: [{ name: "ops", containerPort: port }],
              env,
              envFrom: [{ configMapRef: { name: CONFIG_MAP } }, { secretRef: { name: PROVIDER_SECRET, optional: true } }],
              // starting → 503 until every start-up step is done and the group joined; the process exits by itself at STARTUP_TIMEOUT_MS.
              startupProbe: { httpGet: { path: "/health", port: "ops" }, periodSeconds: 5, timeoutSeconds: 2, failureThreshold: STARTUP_TIMEOUT_MS / 5000 + 3 },
              readinessProbe: { httpGet: { path: "/health", port: "ops" }, periodSeconds: 10, timeoutSeconds: 2, failureThreshold: 3 },
              // Only a failed process is restarted; a dependency outage shows as degraded and waits.
              livenessProbe: { httpGet: { path: s.portEnv ? "/health" : "/health/live", port: "ops" }, periodSeconds: 10, timeoutSeconds: 2, failureThreshold: 3 },
              resources: { requests: { cpu: "100m", memory: `${mem}Mi` }, limits: { memory: `${mem * 2}Mi` } },
            },
          ],
        },
      },
    },
  };
}

function disruptionBudget(s: PipelineServiceSpec): object {
  // One pod at a time: Kafka buffers a stage's input while its pod moves, and a budget of
  // minAvailable 1 would block every node drain of a single-replica stage.
  return { apiVersion: "policy/v1", kind: "PodDisruptionBudget", metadata: { name: `costwise-${s.name}`, labels: labels(s.name) }, spec: { maxUnavailable: 1, selector: { matchLabels: labels(s.name) } } };
}

function scaledObject(s: PipelineServiceSpec): object {
  const topics = s.lagTopics ?? [];
  // More members than partitions sit idle: the smallest input topic bounds the replicas.
  const max = Math.min(...topics.map((t) => topicByName(t)?.partitions ?? 1));
  return {
    apiVersion: "keda.sh/v1alpha1",
    kind: "ScaledObject",
    metadata: { name: `costwise-${s.name}`, labels: labels(s.name) },
    spec: {
      scaleTargetRef: { name: `costwise-${s.name}` },
      minReplicaCount: 1,
      maxReplicaCount: max,
      cooldownPeriod: 300,
      triggers: topics.map((topic) => ({
        type: "kafka",
        metadata: { bootstrapServersFromEnv: "KAFKA_BROKERS", consumerGroup: s.group, topic, lagThreshold: "100", offsetResetPolicy: "earliest" },
      })),
    },
  };
}

function dashboardService(s: PipelineServiceSpec): object {
  return { apiVersion: "v1", kind: "Service", metadata: { name: `costwise-${s.name}`, labels: labels(s.name) }, spec: { selector: labels(s.name), ports: [{ name: "http", port: 80, targetPort: "ops" }] } };
}

function migrationJob(): object {
  return {
    apiVersion: "batch/v1",
    kind: "Job",
    metadata: { name: "costwise-migrate", labels: labels("migrate") },
    spec: {
      backoffLimit: 6,
      activeDeadlineSeconds: 600,
      template: {
        metadata: { labels: labels("migrate") },
        spec: {
          restartPolicy: "OnFailure",
          containers: [{ name: "migrate", image: IMAGE, command: ["node", ...serviceArgs({ entry: "infra/src/cli/migrate.ts" }, "dist")], envFrom: [{ configMapRef: { name: CONFIG_MAP } }], resources: { requests: { cpu: "100m", memory: "256Mi" }, limits: { memory: "512Mi" } } }],
        },
      },
    },
  };
}

/** Every file of infra/k8s (base: one node; overlays/cluster: ClickHouse cluster mode): name → YAML text. */
export function renderManifests(table: readonly PipelineServiceSpec[] = pipelineServices): Map<string, string> {
  const header = "# Generated from infra/src/services.ts by `npm run k8s:render` (infra/src/deploy/k8s.ts); edit those, not this file.\n";
  const docs = (objs: object[]) => header + objs.map((o) => stringify(o, { lineWidth: 0 })).join("---\n");
  const files = new Map<string, string>();
  files.set("base/configmap.yaml", docs([{ apiVersion: "v1", kind: "ConfigMap", metadata: { name: CONFIG_MAP, labels: labels("config") }, data: CONFIG_VALUES }]));
  files.set("base/migrate-job.yaml", docs([migrationJob()]));
  for (const s of table) {
    const objs = [deployment(s), disruptionBudget(s)];
    if (s.scalable && s.group) objs.push(scaledObject(s));
    if (s.portEnv) objs.push(dashboardService(s));
    files.set(`base/${s.name}.yaml`, docs(objs));
  }
  const resources = [...files.keys()].map((f) => f.slice("base/".length));
  files.set("base/kustomization.yaml", header + stringify({ apiVersion: "kustomize.config.k8s.io/v1beta1", kind: "Kustomization", resources }));
  files.set(
    "overlays/cluster/kustomization.yaml",
    header +
      stringify({
        apiVersion: "kustomize.config.k8s.io/v1beta1",
        kind: "Kustomization",
        resources: ["../../base"],
        // Migrations build Replicated* tables and Distributed tables ON CLUSTER (infra/src/clickhouse/cluster.ts).
        patches: [{ target: { kind: "ConfigMap", name: CONFIG_MAP }, patch: stringify([{ op: "replace", path: "/data/CLICKHOUSE_CLUSTER", value: "costwise" }]) }],
      }),
  );
  return files;
}
