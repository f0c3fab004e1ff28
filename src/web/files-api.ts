/**
 * The file browser's API: list one level, stat, download, upload and delete, each one
 * call of the visitor's DfsClient, so the cluster checks the visitor's permissions exactly
 * as it does for the CLI. Transfers stream: an upload's request body is handed to
 * `client.upload` piece by piece as the browser sends it (flow control reaches back to the
 * browser), and a download's verified chunks are written as they arrive, waiting for the
 * socket to drain. Neither side ever holds a whole file.
 */
import { once } from "node:events";
import type { IncomingMessage, ServerResponse } from "node:http";
import { checkKey } from "../api/index.ts";
import type { DfsClient, FileInfo, ListEntry } from "../client/index.ts";
import { requiredParam, sendJson } from "./http-util.ts";

/** Entries one listing returns at most; the page says when there were more. */
export const LIST_ENTRIES_SHOWN = 1000;

/** A listing entry as the page gets it. */
export interface ListedEntry {
  readonly name: string;
  readonly isDir: boolean;
  readonly info?: FileInfo;
}

/** GET /api/list?prefix=P: one level under P ("" or absent: the top). */
export async function listFiles(client: DfsClient, url: URL, res: ServerResponse): Promise<void> {
  const prefix = (url.searchParams.get("prefix") ?? "").replace(/\/+$/, "");
  if (prefix !== "") checkKey(prefix);
  const entries: ListedEntry[] = [];
  let truncated = false;
  const listing = client.list(prefix);
  for await (const entry of listing as AsyncIterable<ListEntry>) {
    if (entries.length >= LIST_ENTRIES_SHOWN) {
      truncated = true;
      break; // leaving the loop returns the generator: no further pages are asked for
    }
    entries.push(entry.info === undefined ? { name: entry.name, isDir: entry.isDir } : entry);
  }
  sendJson(res, 200, { prefix, entries, truncated });
}

/** GET /api/stat?key=K: size, SHA-256, version, modification time. */
export async function statFile(client: DfsClient, url: URL, res: ServerResponse): Promise<void> {
  const key = requiredParam(url, "key");
  sendJson(res, 200, { key, ...(await client.stat(key)) });
}

/** POST /api/delete?key=K. */
export async function deleteFile(client: DfsClient, url: URL, res: ServerResponse): Promise<void> {
  const key = requiredParam(url, "key");
  sendJson(res, 200, { key, ...(await client.delete(key)) });
}

/**
 * POST /api/upload?key=K with the file's bytes as the body, streamed into the cluster.
 * If the browser goes away midway the upload fails and nothing is stored (a file becomes
 * visible only when its last entry commits).
 */
export async function uploadFile(
  client: DfsClient,
  url: URL,
  req: IncomingMessage,
  res: ServerResponse,
): Promise<void> {
  const key = requiredParam(url, "key");
  checkKey(key);
  const result = await client.upload(key, req as AsyncIterable<Uint8Array>);
  sendJson(res, 200, { key, ...result });
}

/**
 * GET /api/download?key=K: the bytes, with their size, SHA-256 and version in headers. A
 * mismatch found at the end (the client library checks size and SHA-256) destroys the
 * response instead of ending it, so the browser reports a failed download.
 */
export async function downloadFile(
  client: DfsClient,
  url: URL,
  res: ServerResponse,
): Promise<void> {
  const key = requiredParam(url, "key");
  const { info, chunks } = await client.download(key);
  res.writeHead(200, {
    "content-type": "application/octet-stream",
    "content-length": info.size,
    "content-disposition": contentDisposition(key),
    "cache-control": "no-store",
    "x-dfs-sha256": info.sha256,
    "x-dfs-version": String(info.version),
  });
  for await (const chunk of chunks) {
    if (res.destroyed) break; // the browser went away: stop reading from the cluster
    if (!res.write(chunk)) await drainedOrClosed(res);
  }
  if (!res.destroyed) res.end();
}

/** `attachment` with the key's last segment as the file name (RFC 6266, UTF-8 safe). */
export function contentDisposition(key: string): string {
  const name = key.slice(key.lastIndexOf("/") + 1);
  const ascii = name.replace(/[^\x20-\x7e]|["\\]/g, "_");
  return `attachment; filename="${ascii}"; filename*=UTF-8''${encodeURIComponent(name)}`;
}

/** Waits for the socket to take more, or to close; removes both listeners either way. */
async function drainedOrClosed(res: ServerResponse): Promise<void> {
  const abort = new AbortController();
  const { signal } = abort;
  try {
    await Promise.race([once(res, "drain", { signal }), once(res, "close", { signal })]);
  } finally {
    abort.abort();
  }
}
