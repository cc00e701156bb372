import type { StackConfig } from "../config.ts";
import { containerSpecs, type ContainerService } from "./containers.ts";
import { StackError } from "./errors.ts";

/**
 * Start (or restart) one service's container with testcontainers, on the same fixed host ports
 * as the native stack. Containers are created with reuse on, which also keeps them out of the
 * Ryuk reaper's session: they outlive this process, like `stack:up` in every other mode, and
 * the next start finds and reuses them (data included). Returns the container id.
 */
export async function startTestcontainer(config: StackConfig, service: ContainerService): Promise<string> {
  const { GenericContainer, Wait } = await import("testcontainers");
  const spec = containerSpecs[service];
  let container = new GenericContainer(spec.image)
    .withEnvironment({ ...spec.environment })
    .withExposedPorts(...spec.ports.map((p) => ({ container: p.container, host: p.host })))
    .withLabels({ "dev.costwise.stack": service })
    .withHealthCheck({ test: ["CMD-SHELL", spec.healthcheck], interval: 2_000, timeout: 10_000, retries: 60, startPeriod: 5_000 })
    .withWaitStrategy(Wait.forHealthCheck())
    .withStartupTimeout(config.startTimeoutMs)
    .withReuse();
  if (spec.command) container = container.withCommand([...spec.command]);
  try {
    return (await container.start()).getId();
  } catch (err) {
    throw new StackError(`testcontainers could not start ${service} (${spec.image}): ${(err as Error).message}`, { cause: err });
  }
}

export async function stopTestcontainer(id: string): Promise<void> {
  const { getContainerRuntimeClient } = await import("testcontainers");
  const client = await getContainerRuntimeClient();
  await client.container.stop(client.container.getById(id), { timeout: 30_000 });
}
