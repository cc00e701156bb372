export { createSinkProcess } from "./process.ts";
export { loadSinkConfig, sinkConfigSchema, type SinkConfig } from "./config.ts";
