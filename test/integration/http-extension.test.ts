/**
 * The HTTP extension hook as the web console uses it (docs/observability.md): a node
 * started in-process with `http` and `httpExtensions` serves its own paths, hands every
 * other request to the extensions in order, answers 404 when none takes it, and keeps
 * metrics only while it has a listener. Two nodes in one process keep separate metrics.
 * Uploads and downloads are timed and their bytes counted.
 */
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import type { IncomingMessage, ServerResponse } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { freePorts, waitFor } from "../../src/cluster/index.ts";
import { DfsClient } from "../../src/index.ts";
import { type HttpExtension, type NodeHandle, startNode } from "../../src/server/index.ts";
import { countOf, parseMetrics, sampleValue } from "../support/prometheus-text.ts";

async function single(dir: string, extensions?: HttpExtension[]): Promise<NodeHandle> {
  const [port, peerPort] = (await freePorts(2)) as [number, number];
  return startNode({
    id: 1,
    peers: [{ id: 1, host: "127.0.0.1", port, peerPort }],
    dataDir: dir,
    logLevel: "silent",
    ...(extensions !== undefined ? { http: { port: 0 }, httpExtensions: extensions } : {}),
  });
}

test("a node's HTTP listener serves its paths and hands the rest to its extensions", async () => {
  const root = await mkdtemp(join(tmpdir(), "dfs-ext-"));
  const seen: string[] = [];
  const consoleLike = (req: IncomingMessage, res: ServerResponse): boolean => {
    seen.push(req.url ?? "");
    if (!req.url?.startsWith("/api/")) return false;
    res.writeHead(200, { "content-type": "application/json" });
    res.end('{"console":true}');
    return true;
  };
  const a = await single(join(root, "a"), [consoleLike]);
  const b = await single(join(root, "b"), []);
  const plain = await single(join(root, "c"));
  const client = new DfsClient({ endpoints: [a.address] });
  try {
    assert.equal(plain.httpAddress, null, "no listener unless asked for");
    assert.match(a.httpAddress ?? "", /^127\.0\.0\.1:\d+$/);
    const get = (node: NodeHandle, path: string) => fetch(`http://${node.httpAddress}${path}`);
    assert.deepEqual(await (await get(a, "/api/cluster")).json(), { console: true });
    assert.equal((await get(a, "/")).status, 404);
    assert.deepEqual(seen, ["/api/cluster", "/"]);
    await waitFor("node a to lead", async () => ((await get(a, "/health")).ok ? true : undefined));
    for (let i = 0; i < 5; i++) await client.put(`k${i}`, Buffer.from("v"));
    const file = Buffer.alloc(3 * 1024 * 1024 + 5, 7); // four chunks
    await client.upload("big", file);
    let downloaded = 0;
    for await (const chunk of (await client.download("big")).chunks) downloaded += chunk.length;
    assert.equal(downloaded, file.length);
    const ma = await parseMetrics(await (await get(a, "/metrics")).text());
    assert.equal(sampleValue(ma, "dfs_client_upload_bytes_total"), file.length);
    assert.equal(sampleValue(ma, "dfs_client_download_bytes_total"), file.length);
    const ok = (method: string) => ({ method, code: "OK" });
    assert.equal(countOf(ma, "dfs_client_request_duration_seconds", ok("Upload")), 1);
    assert.equal(countOf(ma, "dfs_client_request_duration_seconds", ok("Download")), 1);
    assert.equal(sampleValue(ma, "dfs_client_requests_in_flight", { method: "Download" }), 0);
    const mb = await parseMetrics(await (await get(b, "/metrics")).text());
    assert.ok(sampleValue(ma, "dfs_raft_proposals_total") >= 5, "a counted its puts");
    assert.equal(sampleValue(mb, "dfs_raft_proposals_total"), 0, "b's registry is its own");
    assert.deepEqual(seen, ["/api/cluster", "/"], "the node's own paths never reach extensions");
  } finally {
    client.close();
    await Promise.all([a.stop(), b.stop(), plain.stop()]);
    await rm(root, { recursive: true, force: true });
  }
});
