/**
 * The offsets of one partition that are held in memory, with the lowest one in O(1) amortised.
 * Offsets arrive in increasing order within a consumer generation (appends); they are released in
 * any order (batches of different models flush at different times), so releases are tombstones
 * swept from the front.
 */
export class HeldOffsets {
  private offsets: number[] = [];
  private head = 0;
  private readonly released = new Map<number, number>();
  private live = 0;

  add(offset: number): void {
    const last = this.offsets[this.offsets.length - 1];
    if (last === undefined || offset > last || this.head === this.offsets.length) {
      if (this.head === this.offsets.length) this.reset();
      this.offsets.push(offset);
    } else {
      // Redelivery after a rebalance can bring an offset below the newest one: keep the order.
      let lo = this.head;
      let hi = this.offsets.length;
      while (lo < hi) {
        const mid = (lo + hi) >>> 1;
        if (this.offsets[mid]! < offset) lo = mid + 1;
        else hi = mid;
      }
      this.offsets.splice(lo, 0, offset);
    }
    this.live++;
  }

  release(offset: number): void {
    this.released.set(offset, (this.released.get(offset) ?? 0) + 1);
    this.live--;
    // Sweep now rather than on the next min(): memory must not depend on anyone asking for the watermark.
    this.min();
  }

  get size(): number {
    return this.live;
  }

  /** The lowest offset still held, or null. */
  min(): number | null {
    for (;;) {
      const o = this.offsets[this.head];
      if (o === undefined) break;
      const n = this.released.get(o);
      if (n === undefined) break;
      if (n === 1) this.released.delete(o);
      else this.released.set(o, n - 1);
      this.head++;
    }
    if (this.head > 4096 && this.head * 2 > this.offsets.length) {
      this.offsets = this.offsets.slice(this.head);
      this.head = 0;
    }
    return this.head < this.offsets.length ? this.offsets[this.head]! : null;
  }

  private reset(): void {
    this.offsets = [];
    this.head = 0;
  }
}
