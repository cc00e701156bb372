import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { afterEach, describe, expect, it } from "vitest";
import { pipelineServices } from "./services.ts";
import { parseReplicas, planInstances, probeHealth, Supervisor, type ChildHandle, type InstanceSpec, type SupervisorOptions } from "./supervisor.ts";
import { isAlive } from "./stack/process.ts";

const FIXTURE = fileURLToPath(new URL("./testing/fixtures/fake-service.mjs", import.meta.url));

async function freePort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, "127.0.0.1", r));
  const port = (srv.address() as { port: number }).port;
  await new Promise((r) => srv.close(r));
  return port;
}

function harness(behaviour: Record<string, string>, timings: Partial<SupervisorOptions> = {}) {
  const dir = mkdtempSync(path.join(tmpdir(), "costwise-supervisor-"));
  const pids = (f: string) => { try { return readFileSync(path.join(dir, f), "utf8").split("\n").filter(Boolean).map(Number); } catch { return []; } };
  const lines: string[] = [];
  const make = (instances: InstanceSpec[]) => new Supervisor({
    instances,
    startTimeoutMs: 5_000, unresponsiveMs: 1_500, notServingMs: 3_000, probeIntervalMs: 200,
    backoffInitialMs: 200, backoffMaxMs: 1_000, stableMs: 60_000, stopGraceMs: 1_000, startAttempts: 2,
    ...timings,
    log: (l) => lines.push(l),
    probe: (inst, child) => probeHealth(inst, child, 500),
    launch: (inst): ChildHandle => {
      const child = spawn(process.execPath, [FIXTURE], {
        detached: true, stdio: "ignore",
        env: { ...process.env, PORT: String(inst.port), BEHAVIOUR: behaviour[inst.id] ?? "ok", LAUNCHES: path.join(dir, `${inst.id}.launches`), CHILDREN: path.join(dir, "children") },
      });
      const exited = new Promise<number | NodeJS.Signals | null>((r) => child.once("exit", (c, s) => r(c ?? s)));
      return { pid: child.pid, exited, signal: (sig) => { try { process.kill(-child.pid!, sig); } catch { /* gone */ } } };
    },
  });
  return { dir, lines, make, launches: (id: string) => pids(`${id}.launches`), children: () => pids("children") };
}

const inst = async (id: string): Promise<InstanceSpec> => ({ service: id, index: 0, id, port: await freePort() });
const running: Supervisor[] = [];
afterEach(async () => {
  for (const s of running.splice(0)) await s.stop();
});

describe("replicas and ports", () => {
  it("parses --replicas and gives every replica its own port in the stage's group", () => {
    const r = parseReplicas("executor=3, cache=2");
    expect([...r]).toEqual([["executor", 3], ["cache", 2]]);
    const plan = planInstances(pipelineServices, r);
    const ex = plan.filter((i) => i.service === "executor");
    expect(ex.map((i) => [i.id, i.port])).toEqual([["executor-1", 9401], ["executor-2", 9501], ["executor-3", 9601]]);
    expect(new Set(plan.map((i) => i.port)).size).toBe(plan.length);
    expect(plan.filter((i) => i.service === "router").map((i) => i.id)).toEqual(["router"]);
  });

  it("refuses unknown services, singletons and bad counts", () => {
    expect(() => parseReplicas("exekutor=2")).toThrow(/unknown service "exekutor"/);
    expect(() => parseReplicas("dashboard=2")).toThrow(/dashboard runs as one instance/);
    expect(() => parseReplicas("executor=0")).toThrow(/between 1 and 20/);
    expect(() => parseReplicas("executor")).toThrow(/not name=count/);
  });
});

describe("the supervisor", () => {
  it("restarts a service that exits, with a logged and counted restart, and leaves no process behind on stop", async () => {
    const h = harness({ a: "crash-first" });
    const sup = h.make([await inst("a"), await inst("b")]);
    running.push(sup);
    await sup.start();
    await expect.poll(() => h.launches("a").length, { timeout: 10_000 }).toBe(2);
    await expect.poll(() => sup.states[0]!.restarts, { timeout: 10_000 }).toBe(1);
    expect(h.lines.some((l) => /^a exited \(3\): restart #1 in 200 ms$/.test(l))).toBe(true);
    await expect.poll(async () => (await probeHealth(sup.states[0]!.spec, sup.states[0]!.child!)).kind, { timeout: 10_000 }).toBe("serving");
    await sup.stop();
    const all = [...h.launches("a"), ...h.launches("b"), ...h.children()];
    expect(all.length).toBeGreaterThanOrEqual(5);
    await expect.poll(() => all.filter((p) => isAlive(p)), { timeout: 5_000 }).toEqual([]);
  }, 30_000);

  it("restarts a service that stops answering /health, escalating to SIGKILL when SIGTERM is not handled", async () => {
    const h = harness({ a: "hang-first" });
    const sup = h.make([await inst("a")]);
    running.push(sup);
    await sup.start();
    await expect.poll(() => h.launches("a").length, { timeout: 15_000 }).toBe(2);
    const [first] = h.launches("a");
    expect(isAlive(first!)).toBe(false);
    expect(h.lines.some((l) => /^a stopped answering \/health for \d+ ms: restart #1/.test(l))).toBe(true);
    expect(h.lines.some((l) => /^a: no exit 1000 ms after SIGTERM: SIGKILL$/.test(l))).toBe(true);
  }, 30_000);

  it("a failed start stops everything it started and rejects naming the service", async () => {
    const h = harness({ bad: "never-ready" }, { startTimeoutMs: 1_000 });
    const sup = h.make([await inst("good"), await inst("bad")]);
    await expect(sup.start()).rejects.toThrow(/^bad did not start after 2 attempt\(s\): not serving 1000 ms after launch \(starting\)$/);
    const all = [...h.launches("good"), ...h.launches("bad"), ...h.children()];
    expect(h.launches("bad")).toHaveLength(2);
    await expect.poll(() => all.filter((p) => isAlive(p)), { timeout: 5_000 }).toEqual([]);
  }, 30_000);
});
