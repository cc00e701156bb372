import { mkdir, open, readFile, rm } from "node:fs/promises";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { StackError } from "./errors.ts";
import { isAlive } from "./process.ts";

/**
 * Run `fn` holding an exclusive lock file (the holder's pid inside). Test runs, `stack:up` and
 * `stack:down` may overlap; without the lock two of them would start the same broker twice.
 * A lock left by a dead process is taken over.
 */
export async function withLock<T>(lockFile: string, timeoutMs: number, fn: () => Promise<T>): Promise<T> {
  await mkdir(path.dirname(lockFile), { recursive: true });
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const handle = await open(lockFile, "wx");
      await handle.writeFile(`${process.pid}\n`);
      await handle.close();
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
    }
    const holder = Number.parseInt(await readFile(lockFile, "utf8").catch(() => ""), 10);
    if (!Number.isInteger(holder) || holder <= 0 || !isAlive(holder)) {
      // Stale (or half-written): whoever removes it first retries the exclusive create.
      await rm(lockFile, { force: true });
      continue;
    }
    if (Date.now() >= deadline) {
      throw new StackError(`timed out waiting for the stack lock ${lockFile}, held by pid ${holder}`);
    }
    await sleep(200);
  }
  try {
    return await fn();
  } finally {
    await rm(lockFile, { force: true });
  }
}
