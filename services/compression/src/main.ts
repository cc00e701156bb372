import { runMain } from "@costwise/stream-runtime";
import { loadCompressionConfig } from "./config.ts";
import { startCompression } from "./service.ts";

runMain("compression", () => startCompression(loadCompressionConfig()));
