import { describe, expect, it } from "vitest";
import { createLogger } from "./logger.ts";

function capture() {
  const lines: string[] = [];
  return { lines, destination: { write: (l: string) => void lines.push(l) } };
}

describe("logger", () => {
  it("never writes secrets: known fields are redacted and secret env values are scrubbed anywhere", () => {
    const secret = "sk-live-1234567890abcdef";
    const { lines, destination } = capture();
    const log = createLogger({ service: "t", env: { OPENAI_API_KEY: secret }, destination });
    log.info({ apiKey: secret, headers: { authorization: `Bearer ${secret}` } }, "calling");
    log.warn({ err: `request failed: 401 for key ${secret}` }, "oops");
    log.child({ requestId: "r1" }).info({ config: { OPENAI_API_KEY: secret } }, `msg with ${secret}`);
    const all = lines.join("\n");
    expect(lines).toHaveLength(3);
    expect(all).not.toContain(secret);
    expect(all).toContain("[REDACTED]");
    expect(JSON.parse(lines[2]!)).toMatchObject({ service: "t", requestId: "r1", level: "info" });
  });
});
