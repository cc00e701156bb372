import { readFileSync, readdirSync, statSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { parse, parseAllDocuments } from "yaml";
import { loadStackConfig, REPO_ROOT } from "../config.ts";
import { pipelineServices as table, type PipelineServiceSpec } from "../services.ts";
import { stackEnvValues } from "../stack/env-file.ts";
import { CONFIG_MAP, CONFIG_VALUES, memoryRequestMiB, renderManifests, SHUTDOWN_TIMEOUT_MS } from "./k8s.ts";

const pipelineServices: readonly PipelineServiceSpec[] = table;
const K8S = path.join(REPO_ROOT, "infra", "k8s");

function filesUnder(dir: string, base = dir): string[] {
  return readdirSync(dir).flatMap((f) => {
    const full = path.join(dir, f);
    return statSync(full).isDirectory() ? filesUnder(full, base) : [path.relative(base, full)];
  });
}

interface K8sObject { apiVersion: string; kind: string; metadata: { name: string; labels?: Record<string, string> }; spec?: Record<string, unknown>; data?: Record<string, string> }
interface Container {
  name: string; image: string; command: string[]; ports: { name: string; containerPort: number }[];
  env: { name: string; value: string }[]; envFrom: { configMapRef?: { name: string }; secretRef?: { name: string; optional?: boolean } }[];
  startupProbe: Probe; readinessProbe: Probe; livenessProbe: Probe;
  resources: { requests: { memory: string; cpu: string }; limits: { memory: string } };
}
interface Probe { httpGet: { path: string; port: string }; failureThreshold: number; periodSeconds: number }

/** What `kubectl kustomize infra/k8s` would build: every resource file of the kustomization, parsed. */
function kustomizeBase(): K8sObject[] {
  const k = parse(readFileSync(path.join(K8S, "base", "kustomization.yaml"), "utf8")) as { resources: string[] };
  return k.resources.flatMap((f) => parseAllDocuments(readFileSync(path.join(K8S, "base", f), "utf8")).map((d) => d.toJS() as K8sObject));
}

const objects = kustomizeBase();
const find = (kind: string, name: string) => objects.find((o) => o.kind === kind && o.metadata.name === name);
const mib = (q: string) => Number(/^(\d+)Mi$/.exec(q)?.[1]);

describe("infra/k8s", () => {
  it("is what the service table renders (npm run k8s:render after a change)", () => {
    const rendered = renderManifests();
    expect(filesUnder(K8S).sort()).toEqual([...rendered.keys()].sort());
    for (const [file, text] of rendered) expect(readFileSync(path.join(K8S, file), "utf8"), file).toBe(text);
  });

  it("has a Deployment and a PodDisruptionBudget for every service, and nothing for services that do not exist", () => {
    const names = pipelineServices.map((s) => `costwise-${s.name}`).sort();
    expect(objects.filter((o) => o.kind === "Deployment").map((o) => o.metadata.name).sort()).toEqual(names);
    expect(objects.filter((o) => o.kind === "PodDisruptionBudget").map((o) => o.metadata.name).sort()).toEqual(names);
    expect(objects.filter((o) => o.kind === "ScaledObject").map((o) => o.metadata.name).sort()).toEqual(pipelineServices.filter((s) => s.scalable).map((s) => `costwise-${s.name}`).sort());
  });

  it("gives each stage's ConfigMap every endpoint the services read (the keys of stack.env)", () => {
    const cm = find("ConfigMap", CONFIG_MAP)!;
    const contract = Object.keys(stackEnvValues(loadStackConfig({}))).filter((k) => !k.endsWith("_BASE_URL") && k !== "EMULATOR_URL");
    for (const key of contract) expect(cm.data, key).toHaveProperty(key);
    expect(cm.data).toEqual(CONFIG_VALUES);
    expect(cm.data!.CLICKHOUSE_CLUSTER).toBe("");
  });

  for (const s of pipelineServices) {
    describe(s.name, () => {
      const dep = find("Deployment", `costwise-${s.name}`)!;
      const pod = (dep.spec as { template: { spec: { terminationGracePeriodSeconds: number; containers: Container[] }; metadata: { labels: Record<string, string> } } }).template;
      const c = pod.spec.containers[0]!;
      const env = Object.fromEntries(c.env.map((e) => [e.name, e.value]));

      it("runs its entry point with its port, listening beyond loopback, and reads the shared config", () => {
        expect(c.command).toEqual(["node", "--conditions=compiled", s.entry.replace("/src/", "/dist/").replace(/\.ts$/, ".js")]);
        expect(c.ports).toEqual([{ name: "ops", containerPort: s.metricsPort }]);
        expect(env[s.portEnv ?? "METRICS_PORT"]).toBe(String(s.metricsPort));
        expect(env[s.hostEnv ?? "OPS_HOST"]).toBe("0.0.0.0");
        if (s.group) expect(env.GROUP_ID).toBe(s.group);
        expect(c.envFrom).toEqual([{ configMapRef: { name: CONFIG_MAP } }, { secretRef: { name: "costwise-provider-keys", optional: true } }]);
      });

      it("probes /health for start-up and readiness and the liveness endpoint for restarts", () => {
        expect(c.startupProbe.httpGet).toEqual({ path: "/health", port: "ops" });
        expect(c.readinessProbe.httpGet).toEqual({ path: "/health", port: "ops" });
        expect(c.livenessProbe.httpGet).toEqual({ path: s.portEnv ? "/health" : "/health/live", port: "ops" });
        // The start-up probe outlasts the start-up deadline: the process's own exit names the stuck step.
        expect(c.startupProbe.failureThreshold * c.startupProbe.periodSeconds * 1000).toBeGreaterThan(Number(env.STARTUP_TIMEOUT_MS));
      });

      it("is given longer to stop than its shutdown deadline", () => {
        expect(Number(env.SHUTDOWN_TIMEOUT_MS)).toBe(SHUTDOWN_TIMEOUT_MS);
        expect(pod.spec.terminationGracePeriodSeconds * 1000).toBeGreaterThan(SHUTDOWN_TIMEOUT_MS);
      });

      it("requests the memory measured for it, with headroom, and a limit above", () => {
        const req = mib(c.resources.requests.memory);
        expect(req).toBe(memoryRequestMiB(s.name));
        expect(mib(c.resources.limits.memory)).toBeGreaterThan(req);
      });

      it("has a disruption budget over its pods", () => {
        const pdb = find("PodDisruptionBudget", `costwise-${s.name}`)!;
        expect(pdb.spec).toEqual({ maxUnavailable: 1, selector: { matchLabels: pod.metadata.labels } });
      });

      if (s.scalable) {
        it("scales on the lag of its consumer group on each topic it reads", () => {
          const so = find("ScaledObject", `costwise-${s.name}`)!.spec as { scaleTargetRef: { name: string }; maxReplicaCount: number; triggers: { type: string; metadata: { consumerGroup: string; topic: string; bootstrapServersFromEnv: string } }[] };
          expect(so.scaleTargetRef.name).toBe(`costwise-${s.name}`);
          expect(so.triggers.map((t) => [t.type, t.metadata.consumerGroup, t.metadata.topic, t.metadata.bootstrapServersFromEnv])).toEqual((s.lagTopics ?? []).map((t) => ["kafka", s.group, t, "KAFKA_BROKERS"]));
          expect(so.maxReplicaCount).toBeGreaterThanOrEqual(1);
        });
      }
    });
  }

  it("has a cluster overlay that switches the migrations to Replicated* + Distributed tables", () => {
    const overlay = parse(readFileSync(path.join(K8S, "overlays/cluster/kustomization.yaml"), "utf8")) as { resources: string[]; patches: { target: { kind: string; name: string }; patch: string }[] };
    expect(overlay.resources).toEqual(["../../base"]);
    expect(overlay.patches[0]!.target).toEqual({ kind: "ConfigMap", name: CONFIG_MAP });
    expect(parse(overlay.patches[0]!.patch)).toEqual([{ op: "replace", path: "/data/CLICKHOUSE_CLUSTER", value: "costwise" }]);
    expect(find("Job", "costwise-migrate")).toBeDefined();
  });
});

describe("docker-compose.yml pipeline services", () => {
  const compose = parse(readFileSync(path.join(REPO_ROOT, "docker-compose.yml"), "utf8"), { merge: true }) as {
    services: Record<string, { profiles?: string[]; command: string[]; environment: Record<string, string>; healthcheck: { test: string[] }; network_mode?: string }>;
  };
  const pipeline = Object.entries(compose.services).filter(([, s]) => s.profiles?.includes("pipeline"));
  const stackEnv = stackEnvValues(loadStackConfig({}));

  it("runs exactly the services of the table", () => {
    expect(pipeline.map(([n]) => n).sort()).toEqual(pipelineServices.map((s) => s.name).sort());
  });

  for (const s of pipelineServices) {
    it(`${s.name}: its entry, its port, the stack's endpoints and a /health check`, () => {
      const c = compose.services[s.name]!;
      expect(c.command).toEqual(["node", "--conditions=compiled", s.entry.replace("/src/", "/dist/").replace(/\.ts$/, ".js")]);
      expect(c.network_mode).toBe("host");
      expect(c.environment[s.portEnv ?? "METRICS_PORT"]).toBe(String(s.metricsPort));
      for (const [k, v] of Object.entries(stackEnv)) if (k !== "EMULATOR_URL") expect(c.environment[k], k).toBe(v);
      expect(c.healthcheck.test.join(" ")).toContain(`http://127.0.0.1:${s.metricsPort}/health`);
    });
  }
});
