import { readFile } from "node:fs/promises";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { REPO_ROOT } from "../config.ts";
import { containerSpecs } from "./containers.ts";

interface ComposeService {
  image: string;
  profiles?: string[];
  ports?: string[];
  environment?: Record<string, string>;
  command?: string[];
  healthcheck?: { test: string[]; interval: string; timeout: string; retries: number };
}

const file = parse(await readFile(path.join(REPO_ROOT, "docker-compose.yml"), "utf8"), { merge: true }) as {
  services: Record<string, ComposeService>;
};
// The stack's containers; the pipeline services (profile "pipeline") are checked in deploy/manifests.test.ts.
const compose = { services: Object.fromEntries(Object.entries(file.services).filter(([, s]) => !s.profiles?.includes("pipeline"))) };

describe("docker-compose.yml", () => {
  it("has exactly the stack's container services (the emulator runs natively)", () => {
    expect(Object.keys(compose.services).sort()).toEqual(Object.values(containerSpecs).map((s) => s.composeService).sort());
  });

  for (const [service, spec] of Object.entries(containerSpecs)) {
    describe(spec.composeService, () => {
      const c = compose.services[spec.composeService]!;

      it("uses the pinned image, ports, environment and command of containers.ts", () => {
        expect(c.image).toBe(spec.image);
        expect(c.ports).toEqual(spec.ports.map((p) => `${p.host}:${p.container}`));
        expect(c.environment ?? {}).toEqual(spec.environment);
        expect(c.command).toEqual(spec.command);
      });

      it(`has a healthcheck so \`up --wait\` returns only when ${service} is usable`, () => {
        expect(c.healthcheck?.test).toEqual(["CMD-SHELL", spec.healthcheck]);
        expect(c.healthcheck?.retries).toBeGreaterThan(0);
        expect(c.healthcheck?.interval).toMatch(/^\d+s$/);
      });
    });
  }

  it("publishes the native stack's host ports", () => {
    const hostPorts = Object.values(compose.services).flatMap((s) => (s.ports ?? []).map((p) => Number(p.split(":")[0])));
    expect(hostPorts.sort()).toEqual([16379, 18081, 18123, 19000, 19092]);
  });

  it("runs Kafka as a single KRaft node advertised on localhost:19092 without topic auto-creation", () => {
    const env = compose.services.kafka!.environment!;
    expect(env.KAFKA_PROCESS_ROLES).toBe("broker,controller");
    expect(env.KAFKA_ADVERTISED_LISTENERS).toBe("PLAINTEXT://localhost:19092");
    expect(env.KAFKA_AUTO_CREATE_TOPICS_ENABLE).toBe("false");
  });

  it("runs ClickHouse in UTC with a password-less default user", () => {
    const env = compose.services.clickhouse!.environment!;
    expect(env.TZ).toBe("UTC");
    expect(env.CLICKHOUSE_SKIP_USER_SETUP).toBe("1");
    expect(env.CLICKHOUSE_PASSWORD).toBeUndefined();
  });
});
