/**
 * Real asynchronous I/O inside a deterministic simulation. The LMDB store's open, flush,
 * snapshot transfer, install and close are real file operations whose completion time
 * the simulator cannot choose; if simulated events kept running while they were in
 * flight, where each completion landed (and so the whole run) would depend on the
 * machine's speed. So every such operation goes through this gate: it is queued, and the
 * simulator runs the queue to the end, one operation at a time and in the order they
 * were asked for, after each event and before the next one ({@link RealIo.settle}).
 * Each operation therefore takes zero simulated time, and what it sees and what runs
 * after it depends only on the seed: the machine's speed changes how long a run takes,
 * never what happens in it.
 */

interface Operation {
  readonly start: () => Promise<unknown>;
  readonly resolve: (value: unknown) => void;
  readonly reject: (error: unknown) => void;
}

/** A FIFO of real operations run between simulated events. */
export class RealIo {
  private readonly queue: Operation[] = [];
  /** Operations run so far (for reports). */
  done = 0;

  /**
   * Queues `start` (called later, by {@link settle}, never now) and returns a promise that
   * settles as it does, once the simulator reaches it.
   */
  run<T>(start: () => Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.queue.push({ start, resolve: resolve as (value: unknown) => void, reject });
    });
  }

  /** True while operations wait. */
  get busy(): boolean {
    return this.queue.length > 0;
  }

  /**
   * Runs every queued operation, one after another, including those queued by what runs
   * after one completes; after each, lets its continuations run to quiescence (microtasks
   * and one turn of the event loop) before the next starts.
   */
  async settle(): Promise<void> {
    for (let op = this.queue.shift(); op !== undefined; op = this.queue.shift()) {
      try {
        op.resolve(await op.start());
      } catch (error) {
        op.reject(error);
      }
      this.done++;
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
  }
}
