/**
 * Group commit for the gateway's produce: the idempotent producer has one request in flight at a
 * time, so calls arriving while a send is out would each wait for a round trip of their own. They
 * are gathered instead and leave together in the next send; each caller's promise settles with the
 * send that carried its item.
 */
export function coalesce<T>(sendAll: (items: readonly T[]) => Promise<void>, maxBatch = 500): (item: T) => Promise<void> {
  let queue: { item: T; resolve: () => void; reject: (e: unknown) => void }[] = [];
  let sending = false;
  const pump = async () => {
    if (sending || queue.length === 0) return;
    sending = true;
    const batch = queue.slice(0, maxBatch);
    queue = queue.slice(batch.length);
    try {
      await sendAll(batch.map((b) => b.item));
      for (const b of batch) b.resolve();
    } catch (err) {
      for (const b of batch) b.reject(err);
    } finally {
      sending = false;
      void pump();
    }
  };
  return (item) =>
    new Promise<void>((resolve, reject) => {
      queue.push({ item, resolve, reject });
      void pump();
    });
}
