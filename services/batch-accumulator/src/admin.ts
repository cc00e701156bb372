import type { BatchRecord, BatchStore, CancelDisposition } from "./store.ts";

export class BatchNotFoundError extends Error {
  constructor(id: string) {
    super(`no active batch ${id} (neither a costwise batch id nor a provider batch id)`);
    this.name = new.target.name;
  }
}

/** Active batches, then the most recently finished ones. */
export async function listBatches(store: BatchStore, opts: { done?: number } = {}): Promise<BatchRecord[]> {
  const active = (await store.active()).sort((a, b) => a.createdAt - b.createdAt);
  return [...active, ...(opts.done ? await store.recentlyDone(opts.done) : [])];
}

/**
 * Ask for a batch to be cancelled (by our id or the provider's). The instance that owns it sends
 * the cancel on its next poll; requests the provider had not run yet then go real time
 * ("realtime", the default) or get an ERROR response with code BATCH_CANCELLED ("error").
 */
export async function cancelBatch(store: BatchStore, idOrProviderId: string, disposition: CancelDisposition, now: number): Promise<BatchRecord> {
  const id = await store.resolveId(idOrProviderId);
  if (!id || !(await store.requestCancel(id, disposition, now))) throw new BatchNotFoundError(idOrProviderId);
  return (await store.get(id))!;
}
