import { runMain } from "@costwise/stream-runtime";
import { loadDistillerConfig } from "./config.ts";
import { startDistiller } from "./service.ts";

runMain("distiller", () => startDistiller(loadDistillerConfig()));
