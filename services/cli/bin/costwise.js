#!/usr/bin/env node
// The `costwise` executable: registers tsx (the repo has no build step) and runs the CLI in this process.
import { register } from "tsx/esm/api";

register();
await import("../src/main.ts");
