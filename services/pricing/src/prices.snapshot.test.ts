import { describe, expect, it } from "vitest";
import { catalog, findModel } from "./catalog.ts";
import { parseFractionPpm, parseUsdPerMTok } from "./money.ts";

describe("price catalog", () => {
  it("matches the reviewed snapshot of every model's prices", () => {
    // A price change must show up as a snapshot diff in review (update with `vitest run -u`).
    const table = catalog.models.map((m) => ({
      id: m.id,
      provider: m.provider,
      aliases: m.aliases.join(", "),
      kind: m.kind,
      tier: m.tier,
      inputPerMTok: m.inputPerMTok,
      cachedInputPerMTok: m.cachedInputPerMTok,
      cacheWritePerMTok: m.cacheWritePerMTok,
      outputPerMTok: m.outputPerMTok,
      batchDiscount: m.batchDiscount,
      contextWindow: m.contextWindow,
      maxOutputTokens: m.maxOutputTokens,
      inputPicoUsdPerToken: parseUsdPerMTok(m.inputPerMTok),
      outputPicoUsdPerToken: parseUsdPerMTok(m.outputPerMTok),
    }));
    expect({ version: catalog.version, models: table }).toMatchSnapshot();
  });

  it("has a date version", () => {
    expect(catalog.version).toMatch(/^\d{4}-\d{2}-\d{2}$/);
  });

  it("covers the models the rest of costwise prices", () => {
    const required = [
      "gpt-5", "gpt-5-mini", "gpt-5-nano", "gpt-4.1", "gpt-4.1-mini", "gpt-4.1-nano", "gpt-4o",
      "gpt-4o-mini", "o4-mini", "o3", "text-embedding-3-small", "text-embedding-3-large",
      "claude-opus-4-1", "claude-opus-4-5", "claude-sonnet-4-5", "claude-sonnet-4",
      "claude-haiku-4-5", "claude-3-5-haiku",
    ];
    expect(required.filter((id) => findModel(catalog, id)?.id !== id)).toEqual([]);
  });

  it("never uses one name for two models", () => {
    const names = catalog.models.flatMap((m) => [m.id, ...m.aliases].map((n) => n.toLowerCase()));
    const duplicates = names.filter((n, i) => names.indexOf(n) !== i);
    expect(duplicates).toEqual([]);
  });

  it("resolves every id and alias to its own model", () => {
    for (const m of catalog.models) {
      for (const name of [m.id, ...m.aliases]) expect(findModel(catalog, name)).toBe(m);
    }
  });

  it.each(catalog.models.map((m) => [m.id, m] as const))("%s: prices parse and are consistent", (_id, m) => {
    const input = parseUsdPerMTok(m.inputPerMTok);
    const output = parseUsdPerMTok(m.outputPerMTok);
    expect(input).toBeGreaterThan(0n);
    if (m.cachedInputPerMTok !== null) expect(parseUsdPerMTok(m.cachedInputPerMTok)).toBeLessThanOrEqual(input);
    if (m.cacheWritePerMTok !== null) expect(parseUsdPerMTok(m.cacheWritePerMTok)).toBeGreaterThanOrEqual(input);
    const discount = parseFractionPpm(m.batchDiscount);
    expect(discount > 0n && discount <= 1_000_000n).toBe(true);
    expect(Number.isSafeInteger(m.contextWindow) && m.contextWindow > 0).toBe(true);
    if (m.kind === "chat") {
      expect(output).toBeGreaterThan(input);
      expect(m.maxOutputTokens).toBeGreaterThan(0);
      expect(m.maxOutputTokens).toBeLessThanOrEqual(m.contextWindow);
    } else {
      expect(output).toBe(0n);
      expect(m.maxOutputTokens).toBe(0);
    }
  });

  // Opus 5.5's published cache hit is 0.05x its input price (platform.claude.com Opus 5.5 page).
  const CACHE_READ_DIVISOR: Readonly<Record<string, bigint>> = { "claude-opus-5-5": 20n };
  it.each(catalog.models.filter((m) => m.provider === "anthropic").map((m) => [m.id, m] as const))(
    "%s: cache read is 0.1x (or its published exception) and 5-minute cache write 1.25x the input price",
    (id, m) => {
      // Anthropic's published multipliers; a mismatch means a typo in the data.
      const input = parseUsdPerMTok(m.inputPerMTok);
      expect(parseUsdPerMTok(m.cachedInputPerMTok ?? "")).toBe(input / (CACHE_READ_DIVISOR[id] ?? 10n));
      expect(parseUsdPerMTok(m.cacheWritePerMTok ?? "") * 4n).toBe(input * 5n);
    },
  );

  it("cannot be mutated at run time", () => {
    const first = catalog.models[0];
    expect(Object.isFrozen(catalog.models)).toBe(true);
    expect(first && Object.isFrozen(first) && Object.isFrozen(first.aliases)).toBe(true);
  });
});
