import { catalog as currentCatalog, findModel, parseUsdPerMTok, type PriceCatalog } from "@costwise/pricing";
import { apportion, type Nano } from "./money.ts";
import type { ModelUsageRow } from "./queries.ts";

/** Where one tenant's use case's money went, by token class and by path. Lines add up to `total`. */
export interface StructureRow {
  readonly tenant: string;
  readonly useCase: string;
  readonly inputCost: Nano;
  readonly cachedInputCost: Nano;
  readonly cacheWriteCost: Nano;
  readonly outputCost: Nano;
  /** Calls to models the catalog does not know: their cost cannot be split by token class. */
  readonly unpricedCost: Nano;
  /** costwise's own spend: lookup embeddings, router and summariser calls. */
  readonly overhead: Nano;
  readonly realtimeCost: Nano;
  readonly batchCost: Nano;
  /** cost + overhead. */
  readonly total: Nano;
}

/**
 * Split what each use case paid into token classes. llm_calls stores one cost per call, so the
 * split apportions the recorded cost (batch discount included) over the catalog's list-price
 * weights of the call's token classes; the lines add up exactly to what was recorded.
 */
export function costStructure(rows: readonly ModelUsageRow[], catalog: PriceCatalog = currentCatalog): StructureRow[] {
  const byUseCase = new Map<string, { tenant: string; useCase: string; lines: [Nano, Nano, Nano, Nano]; unpriced: Nano; overhead: Nano; realtime: Nano; batch: Nano }>();
  for (const r of rows) {
    const key = `${r.tenant}\u0000${r.useCase}`;
    let acc = byUseCase.get(key);
    if (!acc) byUseCase.set(key, (acc = { tenant: r.tenant, useCase: r.useCase, lines: [0n, 0n, 0n, 0n], unpriced: 0n, overhead: 0n, realtime: 0n, batch: 0n }));
    acc.overhead += r.overhead;
    if (r.batch) acc.batch += r.cost;
    else acc.realtime += r.cost;
    if (r.cost === 0n) continue;
    const price = r.model ? findModel(catalog, r.model) : undefined;
    if (!price) {
      acc.unpriced += r.cost;
      continue;
    }
    const input = parseUsdPerMTok(price.inputPerMTok);
    const cachedRate = price.cachedInputPerMTok === null ? input : parseUsdPerMTok(price.cachedInputPerMTok);
    const writeRate = price.cacheWritePerMTok === null ? input : parseUsdPerMTok(price.cacheWritePerMTok);
    const uncached = BigInt(Math.max(0, r.inputTokens - r.cachedInputTokens - r.cacheWriteInputTokens));
    const weights = [uncached * input, BigInt(r.cachedInputTokens) * cachedRate, BigInt(r.cacheWriteInputTokens) * writeRate, BigInt(r.outputTokens) * parseUsdPerMTok(price.outputPerMTok)];
    if (weights.every((w) => w === 0n)) {
      acc.unpriced += r.cost;
      continue;
    }
    const parts = apportion(r.cost, weights);
    for (let i = 0; i < 4; i++) acc.lines[i] = acc.lines[i]! + parts[i]!;
  }
  return [...byUseCase.values()]
    .map((a) => ({
      tenant: a.tenant,
      useCase: a.useCase,
      inputCost: a.lines[0],
      cachedInputCost: a.lines[1],
      cacheWriteCost: a.lines[2],
      outputCost: a.lines[3],
      unpricedCost: a.unpriced,
      overhead: a.overhead,
      realtimeCost: a.realtime,
      batchCost: a.batch,
      total: a.realtime + a.batch + a.overhead,
    }))
    .sort((x, y) => (x.total === y.total ? `${x.tenant}/${x.useCase}`.localeCompare(`${y.tenant}/${y.useCase}`) : x.total > y.total ? -1 : 1));
}
