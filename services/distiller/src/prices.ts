import { findModel, type ModelPrice, type PriceCatalog } from "@costwise/pricing";

/**
 * The price a model's calls are billed at: its catalog entry, which for a fine-tuned id
 * (`ft:<base>:…`) carries the fine-tuned inference prices (@costwise/pricing fine-tuning.ts).
 * null when it is not a chat model the catalog can price.
 */
export function inferencePriceOf(catalog: PriceCatalog, model: string): ModelPrice | null {
  const m = findModel(catalog, model);
  return m && m.kind === "chat" ? m : null;
}
