import path from "node:path";
import type { ServiceName } from "../config.ts";

/** The layout of COSTWISE_HOME (default `<repo>/.costwise`). */
export interface StackPaths {
  readonly home: string;
  readonly envFile: string;
  readonly lockFile: string;
  readonly kafkaLibs: string;
  readonly kafkaConfig: string;
  readonly apicurio: string;
  readonly clickhouseConfig: string;
  data(service: ServiceName): string;
  log(service: ServiceName): string;
  /** Native process id of a service this stack started. */
  pid(service: ServiceName): string;
  /** Marker of a service this stack started in a container: `docker` (compose) or a container id. */
  container(service: ServiceName): string;
}

export function stackPaths(home: string): StackPaths {
  return {
    home,
    envFile: path.join(home, "stack.env"),
    lockFile: path.join(home, "run", "stack.lock"),
    kafkaLibs: path.join(home, "kafka", "libs"),
    kafkaConfig: path.join(home, "kafka", "config"),
    apicurio: path.join(home, "apicurio"),
    clickhouseConfig: path.join(home, "clickhouse"),
    data: (s) => path.join(home, "data", s),
    log: (s) => path.join(home, "logs", `${s}.log`),
    pid: (s) => path.join(home, "run", `${s}.pid`),
    container: (s) => path.join(home, "run", `${s}.container`),
  };
}
