import { defineConfig } from "vitest/config";

// Two projects: fast unit tests (pure logic, in-memory transport) and integration/end-to-end
// tests against the real local stack (Kafka, schema registry, Redis, ClickHouse, emulator).
// The integration project's global setup checks the stack and fails naming what is missing.
// `npm test` runs the integration files one at a time (--no-file-parallelism): they share one
// broker, one ClickHouse and one provider emulator (whose fault injection is global).
export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: "unit",
          include: ["{schemas,services,infra,test}/**/*.test.ts"],
          exclude: ["**/*.int.test.ts", "**/*.e2e.test.ts", "**/node_modules/**"],
          testTimeout: 20_000,
        },
      },
      {
        test: {
          name: "int",
          include: ["{schemas,services,infra,test}/**/*.{int,e2e}.test.ts"],
          exclude: ["**/node_modules/**"],
          globalSetup: ["./infra/src/testing/global-setup.ts"],
          testTimeout: 180_000,
          hookTimeout: 180_000,
        },
      },
    ],
  },
});
