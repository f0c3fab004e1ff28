/**
 * What the load generator drives: the three key-value operations every system under
 * test offers, so dfs (through its client library) and etcd (through grpc-js) are
 * measured by one and the same loop.
 */

/** A key-value store as the load generator sees it. */
export interface KvTarget {
  /** Short name for reports ("dfs", "etcd"). */
  readonly name: string;
  /** Stores `value` under `key`; resolves once the store acknowledged it durably. */
  put(key: string, value: Uint8Array): Promise<void>;
  /** Reads `key`: the value's size in bytes, or null when the key does not exist. */
  get(key: string, serializable: boolean): Promise<number | null>;
  /** Removes `key`: true if it existed. */
  delete(key: string): Promise<boolean>;
  /** Releases connections; outstanding operations may fail. */
  close(): void;
}

/** The key of slot `i` of the key space, e.g. `bench/17`. */
export function benchKey(i: number): string {
  return `bench/${i}`;
}
