import { runMain } from "@costwise/stream-runtime";
import { loadBatchAccumulatorConfig } from "./config.ts";
import { SERVICE_NAME, startBatchAccumulator } from "./service.ts";

runMain(SERVICE_NAME, () => startBatchAccumulator(loadBatchAccumulatorConfig()));
