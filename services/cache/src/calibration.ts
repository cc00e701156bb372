/**
 * The calibration of the decision rule (decision.ts) shared by every replica and kept across
 * restarts: the bin counts live in the store (a Redis hash per tenant, use case and model, updated
 * with atomic increments), and each replica holds a snapshot it refreshes in the background. A
 * replica's own traffic counts are batched into the next refresh; verified outcomes are written at
 * once (they come off the request path, and they are the evidence that moves the threshold).
 */
import { BIN_COUNT, calibratedThreshold, emptyCalibration, type CalibrationState } from "./decision.ts";
import type { CalibrationRef, CalibrationSeed, CacheStore, StoredCalibration } from "./store.ts";

/** Past this much traffic in one calibration, every count is halved: rates stay, the weight of old evidence fades, the record stays bounded. */
export const CALIBRATION_MAX_TRAFFIC = 200_000;
/** Idle calibrations go after this long without an update (a use case that stopped serving). */
export const CALIBRATION_IDLE_MS = 30 * 24 * 3600_000;

const KINDS = [["t", "traffic"], ["l", "labelled"], ["w", "wrong"]] as const;

/** The non-zero counts of a delta as hash fields: t<bin>, l<bin>, w<bin>. */
export function calibrationFields(delta: CalibrationState): [string, number][] {
  const out: [string, number][] = [];
  for (const [prefix, kind] of KINDS) {
    delta[kind].forEach((n, b) => {
      if (n !== 0) out.push([`${prefix}${b}`, n]);
    });
  }
  return out;
}

/** A stored hash back into counts; unknown or malformed fields are ignored (a newer version's extras). */
export function parseCalibrationHash(hash: Record<string, string>): StoredCalibration {
  const state = emptyCalibration();
  const seeds: CalibrationSeed[] = [];
  for (const [field, value] of Object.entries(hash)) {
    const m = /^([tlw])(\d+)$/.exec(field);
    if (m) {
      const b = Number(m[2]);
      const n = Number(value);
      if (b < BIN_COUNT && Number.isFinite(n) && n > 0) state[m[1] === "t" ? "traffic" : m[1] === "l" ? "labelled" : "wrong"][b] = n;
    } else if (field.startsWith("seed:")) {
      try {
        seeds.push(JSON.parse(value) as CalibrationSeed);
      } catch {
        // a note, not evidence: an unreadable one is skipped
      }
    }
  }
  return { state, seeds: seeds.sort((a, b) => a.at - b.at) };
}

export function addInto(target: CalibrationState, delta: CalibrationState): void {
  for (const [, kind] of KINDS) delta[kind].forEach((n, b) => (target[kind][b]! += n));
}

/** Halving as the store does it (rounding up, so a single wrong outcome is never forgotten by rounding). */
export function halve(state: CalibrationState): void {
  for (const [, kind] of KINDS) state[kind].forEach((n, b) => (state[kind][b] = Math.ceil(n / 2)));
}

export const totalTraffic = (s: CalibrationState) => s.traffic.reduce((a, b) => a + b, 0);

interface Slot {
  readonly ref: CalibrationRef;
  /** What the store held at the last refresh, plus what this replica added since. */
  view: CalibrationState;
  /** Traffic counted here and not yet written to the store. */
  unflushed: CalibrationState;
  threshold: number | null;
  loadedAt: number;
  refreshing: Promise<void> | null;
  /** Set once a load succeeded or failed: the first lookup of a calibration waits for it. */
  first: Promise<void> | null;
}

export interface CalibrationBookOptions {
  readonly store: Pick<CacheStore, "readCalibration" | "addCalibration">;
  readonly now: () => number;
  /** How stale a replica's snapshot may get before it is refreshed in the background (ms). */
  readonly refreshMs: number;
  readonly onError?: (err: unknown, what: "read" | "write") => void;
}

/**
 * One replica's view of the shared calibrations. `current` is what a lookup uses: it waits for the
 * first load of a calibration (bounded by the store's request-path deadline; a failed load is an
 * empty calibration, which serves nothing), then refreshes in the background when stale.
 */
export class CalibrationBook {
  private readonly slots = new Map<string, Slot>();

  constructor(private readonly opts: CalibrationBookOptions) {}

  private slot(ref: CalibrationRef): Slot {
    const key = JSON.stringify([ref.tenant, ref.useCase, ref.embedder, ref.neighbourhood]);
    let s = this.slots.get(key);
    if (!s) this.slots.set(key, (s = { ref, view: emptyCalibration(), unflushed: emptyCalibration(), threshold: null, loadedAt: Number.NEGATIVE_INFINITY, refreshing: null, first: null }));
    return s;
  }

  /** The calibration of `ref` as this replica knows it now. */
  async current(ref: CalibrationRef): Promise<{ state: CalibrationState; threshold: (maxWrongRate: number, confidence: number) => number }> {
    const s = this.slot(ref);
    if (!s.first) s.first = this.refresh(s);
    await s.first;
    if (this.opts.now() - s.loadedAt >= this.opts.refreshMs && !s.refreshing) void this.refresh(s);
    return {
      state: s.view,
      threshold: (d, c) => (s.threshold ??= calibratedThreshold(s.view, d, c)),
    };
  }

  /** One top candidate seen at this similarity bin (counted here, written with the next refresh). */
  traffic(ref: CalibrationRef, bin: number): void {
    if (bin < 0) return;
    const s = this.slot(ref);
    s.view.traffic[bin]!++;
    s.unflushed.traffic[bin]!++;
    s.threshold = null;
  }

  /** A verified outcome: written to the store now, and seen here at once. */
  async outcome(ref: CalibrationRef, bin: number, ok: boolean): Promise<void> {
    if (bin < 0) return;
    const delta = emptyCalibration();
    delta.labelled[bin] = 1;
    if (!ok) delta.wrong[bin] = 1;
    const s = this.slot(ref);
    addInto(s.view, delta);
    s.threshold = null;
    await this.opts.store.addCalibration(ref, delta);
  }

  /** Write this replica's traffic counts and reload the shared counts. Failures keep the old snapshot and the counts for the next try. */
  refresh(s: Slot): Promise<void> {
    if (s.refreshing) return s.refreshing;
    const run = async () => {
      const flushing = s.unflushed;
      s.unflushed = emptyCalibration();
      if (calibrationFields(flushing).length > 0) {
        try {
          await this.opts.store.addCalibration(s.ref, flushing);
        } catch (err) {
          addInto(s.unflushed, flushing);
          this.opts.onError?.(err, "write");
        }
      }
      try {
        const stored = await this.opts.store.readCalibration(s.ref);
        const view = stored.state;
        addInto(view, s.unflushed); // counted while the refresh ran, or not written: still this replica's
        s.view = view;
        s.threshold = null;
      } catch (err) {
        this.opts.onError?.(err, "read");
      }
      s.loadedAt = this.opts.now();
    };
    s.refreshing = run().finally(() => {
      s.refreshing = null;
    });
    return s.refreshing;
  }

  /** Write every replica-local count now (shutdown, tests). */
  async flush(): Promise<void> {
    await Promise.all([...this.slots.values()].map(async (s) => {
      await s.refreshing; // one already running may have started before the latest counts
      await this.refresh(s);
    }));
  }

  /** The threshold a calibration gives now, if this replica has loaded it. */
  peek(ref: CalibrationRef, maxWrongRate: number, confidence: number): number | null {
    const s = this.slots.get(JSON.stringify([ref.tenant, ref.useCase, ref.embedder, ref.neighbourhood]));
    if (!s) return null;
    return (s.threshold ??= calibratedThreshold(s.view, maxWrongRate, confidence));
  }

  get refs(): CalibrationRef[] {
    return [...this.slots.values()].map((s) => s.ref);
  }
}
