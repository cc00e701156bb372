import { RowRejectedError, type RowWriter } from "./writer.ts";

interface Waiter {
  readonly rows: readonly object[];
  resolve(): void;
  reject(err: unknown): void;
}

interface Window {
  readonly waiters: Waiter[];
  rows: number;
  timer: NodeJS.Timeout;
}

export interface CoalescingOptions {
  /** How long the first insert of a window waits for others to join it. */
  readonly lingerMs: number;
  /** A window this large is written at once. */
  readonly maxRows: number;
}

/**
 * Joins the inserts that arrive within `lingerMs` of each other into one insert per table.
 * ClickHouse writes a part per insert and merges parts in the background; a consumer inserting
 * per partition batch sends dozens of small inserts a second, and the merges then cost more CPU
 * than the pipeline they record (and end in "too many parts"). Each caller still resolves only
 * once its own rows are acknowledged, so offsets stay behind stored rows. When ClickHouse refuses
 * the joined data, each caller's rows are sent again on their own, so a bad row fails only the
 * insert that carried it; an outage fails every caller of the window.
 */
export function coalescingWriter(inner: RowWriter, opts: CoalescingOptions): RowWriter & { /** Write every open window now. */ flush(): Promise<void> } {
  const open = new Map<string, Window>();
  const inFlight = new Set<Promise<void>>();

  const write = async (table: string, waiters: readonly Waiter[]): Promise<void> => {
    try {
      await inner.insert(table, waiters.length === 1 ? waiters[0]!.rows : waiters.flatMap((w) => w.rows));
      for (const w of waiters) w.resolve();
    } catch (err) {
      if (waiters.length === 1 || !(err instanceof RowRejectedError)) {
        for (const w of waiters) w.reject(err);
        return;
      }
      await Promise.all(waiters.map((w) => inner.insert(table, w.rows).then(w.resolve, w.reject)));
    }
  };

  const close = (table: string): void => {
    const w = open.get(table);
    if (!w) return;
    open.delete(table);
    clearTimeout(w.timer);
    const p = write(table, w.waiters);
    inFlight.add(p);
    void p.finally(() => inFlight.delete(p));
  };

  return {
    insert(table, rows) {
      if (rows.length === 0) return Promise.resolve();
      return new Promise<void>((resolve, reject) => {
        let w = open.get(table);
        if (!w) {
          w = { waiters: [], rows: 0, timer: setTimeout(() => close(table), opts.lingerMs) };
          open.set(table, w);
        }
        w.waiters.push({ rows, resolve, reject });
        w.rows += rows.length;
        if (w.rows >= opts.maxRows) close(table);
      });
    },
    async flush() {
      for (const table of [...open.keys()]) close(table);
      await Promise.allSettled([...inFlight]);
    },
  };
}
