/**
 * A queue for the uploads one DfsClient runs at once. A node accepts at most 8 uploads
 * at a time per client connection (docs/security.md#resource-limits) and refuses the
 * ninth; S3 clients send many parts at once (`aws s3 cp`: 10), so without a queue they
 * get SlowDown until they give up. Parts and Completes wait here for one of
 * {@link MULTIPART_UPLOADS_PER_CLIENT} slots instead; the rest of the node's 8 stay free
 * for PutObject.
 */
import type { DfsClient } from "../client/index.ts";

/** Multipart uploads one client runs at once; the others wait in order. */
export const MULTIPART_UPLOADS_PER_CLIENT = 6;

/** A counting semaphore with a FIFO queue. */
class Slots {
  private free: number;
  private readonly waiting: (() => void)[] = [];

  constructor(size: number) {
    this.free = size;
  }

  /** Runs `work` once a slot is free; the slot is returned however `work` ends. */
  async run<T>(work: () => Promise<T>): Promise<T> {
    if (this.free > 0) this.free--;
    else await new Promise<void>((resolve) => this.waiting.push(resolve));
    try {
      return await work();
    } finally {
      const next = this.waiting.shift();
      if (next !== undefined) next();
      else this.free++;
    }
  }
}

const perClient = new WeakMap<DfsClient, Slots>();

/** Runs the upload `work` of `client` within that client's multipart slots. */
export function withUploadSlot<T>(client: DfsClient, work: () => Promise<T>): Promise<T> {
  let slots = perClient.get(client);
  if (slots === undefined) {
    slots = new Slots(MULTIPART_UPLOADS_PER_CLIENT);
    perClient.set(client, slots);
  }
  return slots.run(work);
}
