/**
 * `npm run key -w @costwise/gateway -- --file keys.json --tenant acme [--use-case support] [--name "ci"] [--rate 600] [--burst 60]`:
 * make a new gateway API key, add its sha256 to the keys file (created if missing) and print the key
 * once. The key itself is stored nowhere.
 */
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { hashKey, keysFileSchema, newKey, type KeysFile } from "../src/keys.ts";

const { values } = parseArgs({
  options: {
    file: { type: "string" }, tenant: { type: "string" }, "use-case": { type: "string", default: "default" },
    name: { type: "string" }, rate: { type: "string" }, burst: { type: "string" },
  },
});
if (!values.file || !values.tenant) {
  process.stderr.write("usage: add-key --file <keys.json> --tenant <tenant> [--use-case <u>] [--name <label>] [--rate <per minute>] [--burst <n>]\n");
  process.exit(2);
}
const file: KeysFile = existsSync(values.file) ? keysFileSchema.parse(JSON.parse(readFileSync(values.file, "utf8"))) : { keys: [] };
const key = newKey();
const positive = (v: string | undefined, what: string) => {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n <= 0) throw new Error(`--${what} must be a positive integer`);
  return n;
};
const rate = positive(values.rate, "rate");
const burst = positive(values.burst, "burst");
file.keys.push({
  sha256: hashKey(key), tenant: values.tenant, use_case: values["use-case"]!,
  ...(values.name ? { name: values.name } : {}), ...(rate ? { rate_per_minute: rate } : {}), ...(burst ? { burst } : {}),
});
writeFileSync(values.file, `${JSON.stringify(keysFileSchema.parse(file), null, 2)}\n`, { mode: 0o600 });
process.stderr.write(`added a key for tenant ${values.tenant} to ${values.file} (restart the gateway to load it); the key, shown once:\n`);
process.stdout.write(`${key}\n`);
