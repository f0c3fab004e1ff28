/**
 * dfs as a load-generator target, through the project's own client library: one
 * {@link DfsClient} shared by every worker, exactly as an application would use it
 * (leader finding, redirects and exactly-once sessions included in what is measured).
 */
import { DfsError } from "../api/index.ts";
import { type ClientTls, DfsClient } from "../client/index.ts";
import type { KvTarget } from "./target.ts";

/** A {@link KvTarget} backed by one shared {@link DfsClient}. */
export class DfsTarget implements KvTarget {
  readonly name = "dfs";
  private readonly client: DfsClient;

  /**
   * @param timeoutMs deadline of each operation, retries included
   * @param tls TLS to the client port (the TLS comparison); plain text when absent
   * @param login user and password when the cluster has auth on (the auth comparison)
   */
  constructor(
    endpoints: readonly string[],
    timeoutMs: number,
    tls?: ClientTls,
    login: { user?: string; password?: string } = {},
  ) {
    this.client = new DfsClient({
      endpoints,
      timeoutMs,
      ...(tls !== undefined ? { tls } : {}),
      ...login,
    });
  }

  async put(key: string, value: Uint8Array): Promise<void> {
    await this.client.put(key, value);
  }

  async get(key: string, serializable: boolean): Promise<number | null> {
    try {
      return (await this.client.get(key, { serializable })).value.byteLength;
    } catch (err) {
      if (err instanceof DfsError && err.code === "not_found") return null;
      throw err;
    }
  }

  async delete(key: string): Promise<boolean> {
    try {
      await this.client.delete(key);
      return true;
    } catch (err) {
      if (err instanceof DfsError && err.code === "not_found") return false;
      throw err;
    }
  }

  close(): void {
    this.client.close();
  }
}
