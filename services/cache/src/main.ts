import { runMain } from "@costwise/stream-runtime";
import { loadCacheConfig } from "./config.ts";
import { startCacheService } from "./service.ts";

runMain("cache", () => startCacheService(loadCacheConfig()));
