import { runMain } from "@costwise/stream-runtime";
import { loadRouterConfig } from "./config.ts";
import { startRouter } from "./service.ts";

runMain("router", () => startRouter(loadRouterConfig()));
