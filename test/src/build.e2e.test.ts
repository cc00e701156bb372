import path from "node:path";
import { assertAllBuilt, buildPackages, ensureStack, freePort, repoRoot, spawnService, stopPipelineService, waitHealthy, type SpawnedService } from "@costwise/infra";
import { buildPackage } from "@costwise/infra/build";
import { newRequest, topics, type LlmResponse } from "@costwise/schemas";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PipelineClient } from "./client.ts";
import { stackEnv } from "./harness.ts";

// What `npm start`, the demo and the deployments run: the build output, not the TypeScript sources.
describe("services built by npm run build", () => {
  const running: SpawnedService[] = [];
  let client: PipelineClient;
  const got = new Map<string, LlmResponse>();
  const runId = `build-${Date.now().toString(36)}`;

  beforeAll(async () => {
    for (const pkg of buildPackages()) buildPackage(pkg);
    assertAllBuilt();
    // Topics of its own: no other test's requests reach this executor, and it answers none of theirs.
    process.env.COSTWISE_TOPIC_NAMESPACE = `${runId}.`;
    await ensureStack({ log: () => undefined });
    const env = stackEnv();
    client = await PipelineClient.connect({ KAFKA_BROKERS: env.KAFKA_BROKERS!, SCHEMA_REGISTRY_URL: env.SCHEMA_REGISTRY_URL! });
    await client.subscribe<LlmResponse>(topics.responses, (r) => got.set(r.request_id, r));
    const base = { ...env, COSTWISE_RUNTIME: "dist", COSTWISE_TOPIC_NAMESPACE: `${runId}.`, LOG_LEVEL: "info" };
    for (const name of ["executor", "dashboard"] as const) {
      const svc = spawnService(name, { ...base, GROUP_ID: `${runId}-${name}` }, { logFile: path.join(repoRoot, ".costwise/logs", `test-build-${name}.log`), metricsPort: await freePort() });
      running.push(svc);
      await waitHealthy(svc);
    }
  });

  afterAll(async () => {
    await Promise.all(running.map((s) => stopPipelineService(s)));
    await client?.close();
    delete process.env.COSTWISE_TOPIC_NAMESPACE;
  });

  it("runs the executor from dist/ (no tsx loaded) and it answers a request", async () => {
    const executor = running[0]!;
    expect(executor.child.spawnargs).toContain("--conditions=compiled");
    expect(executor.child.spawnargs.some((a) => a.endsWith("services/executor/dist/main.js"))).toBe(true);
    expect(executor.child.spawnargs).not.toContain("tsx");
    const req = newRequest({ request_id: `${runId}-1`, tenant: "t", use_case: "u", model: "gpt-4o-mini", messages: [{ role: "user", content: "What is a Kafka consumer group?" }] });
    await client.produce([req], 500, topics.ready);
    await PipelineClient.waitFor([req.request_id], got, 60_000);
    expect(got.get(req.request_id)).toMatchObject({ status: "OK", served_by: "REALTIME" });
  });

  it("serves the dashboard's page, a file copied next to the compiled module", async () => {
    const res = await fetch(`${running[1]!.metricsUrl}/`, { signal: AbortSignal.timeout(10_000) });
    expect(res.status).toBe(200);
    expect(await res.text()).toMatch(/<html/i);
  });
});
