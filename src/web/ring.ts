/**
 * A fixed-capacity ring of the most recent items: the console keeps the last minutes of
 * samples and leader changes in memory, and never more, however long the node runs.
 */
export class Ring<T> {
  private readonly items: T[] = [];
  private start = 0;

  constructor(readonly capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError("capacity must be ≥ 1");
  }

  /** Adds `item`, dropping the oldest once full. */
  push(item: T): void {
    if (this.items.length < this.capacity) {
      this.items.push(item);
      return;
    }
    this.items[this.start] = item;
    this.start = (this.start + 1) % this.capacity;
  }

  /** The newest item, if any. */
  last(): T | undefined {
    if (this.items.length === 0) return undefined;
    const at = (this.start + this.items.length - 1) % this.items.length;
    return this.items[at];
  }

  /** Every item, oldest first (a copy). */
  toArray(): T[] {
    return [...this.items.slice(this.start), ...this.items.slice(0, this.start)];
  }

  get size(): number {
    return this.items.length;
  }
}
