import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { mkdir, readdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { test } from "node:test";
import { StartupError } from "../../../src/api/index.ts";
import { clusterIdFor, loadOrInitMeta } from "../../../src/storage/index.ts";
import { tempDir } from "./fixtures.ts";

const PEERS = [
  { id: 1, host: "127.0.0.1", port: 7001 },
  { id: 2, host: "127.0.0.1", port: 7002 },
  { id: 3, host: "10.0.0.3", port: 7003 },
];

async function startupError(promise: Promise<unknown>): Promise<StartupError> {
  const err = await promise.then(
    () => assert.fail("expected a StartupError"),
    (e: unknown) => e,
  );
  assert.ok(err instanceof StartupError, `expected StartupError, got ${err}`);
  return err;
}

test("the first start writes meta.json, later starts with the same identity accept it", async (t) => {
  const dir = await tempDir(t);
  const meta = await loadOrInitMeta(dir, { clusterId: "abc", nodeId: 2 });
  assert.match(meta.memberId, /^[0-9a-f]{32}$/, "a random member identity per data dir");
  assert.deepEqual(meta, { version: 1, clusterId: "abc", nodeId: 2, memberId: meta.memberId });
  const onDisk = JSON.parse(await readFile(join(dir, "meta.json"), "utf8"));
  assert.deepEqual(onDisk, meta);
  assert.deepEqual(await readdir(dir), ["meta.json"], "no temporary file left behind");
  assert.deepEqual(await loadOrInitMeta(dir, { clusterId: "abc", nodeId: 2 }), meta);
});

test("a new data dir gets a new member identity; a joined one records that it joined", async (t) => {
  const a = await loadOrInitMeta(await tempDir(t), { clusterId: "abc", nodeId: 2 });
  const b = await loadOrInitMeta(await tempDir(t), { clusterId: "abc", nodeId: 2 });
  assert.notEqual(a.memberId, b.memberId, "a wiped and recreated dir is a new member");
  const joined = await loadOrInitMeta(await tempDir(t), {
    clusterId: "abc",
    nodeId: 4,
    joined: true,
  });
  assert.equal(joined.joined, true);
});

test("a data dir from before member identities gets one and keeps it", async (t) => {
  const dir = await tempDir(t);
  await writeFile(
    join(dir, "meta.json"),
    JSON.stringify({ version: 1, clusterId: "abc", nodeId: 2 }),
  );
  const upgraded = await loadOrInitMeta(dir, { clusterId: "abc", nodeId: 2 });
  assert.match(upgraded.memberId, /^[0-9a-f]{32}$/);
  assert.deepEqual(await loadOrInitMeta(dir, { clusterId: "abc", nodeId: 2 }), upgraded);
});

test("a malformed member identity is corruption, not a new member", async (t) => {
  const dir = await tempDir(t);
  await writeFile(
    join(dir, "meta.json"),
    JSON.stringify({ version: 1, clusterId: "abc", nodeId: 2, memberId: "zz" }),
  );
  const err = await startupError(loadOrInitMeta(dir, { clusterId: "abc", nodeId: 2 }));
  assert.equal(err.kind, "corrupt");
  assert.match(err.message, /malformed memberId/);
});

test("another node's data dir is refused, naming both node ids", async (t) => {
  const dir = await tempDir(t);
  await loadOrInitMeta(dir, { clusterId: "abc", nodeId: 2 });
  const err = await startupError(loadOrInitMeta(dir, { clusterId: "abc", nodeId: 1 }));
  assert.equal(err.kind, "data_dir");
  assert.equal(err.message, `data dir ${dir} belongs to node 2, not node 1`);
});

test("another cluster's data dir is refused, naming both cluster ids", async (t) => {
  const dir = await tempDir(t);
  await loadOrInitMeta(dir, { clusterId: "abc", nodeId: 2 });
  const err = await startupError(loadOrInitMeta(dir, { clusterId: "def", nodeId: 2 }));
  assert.equal(err.kind, "data_dir");
  assert.match(err.message, /belongs to cluster abc, not cluster def/);
});

test("an unsupported format version is refused", async (t) => {
  const dir = await tempDir(t);
  await writeFile(
    join(dir, "meta.json"),
    JSON.stringify({ version: 2, clusterId: "a", nodeId: 1 }),
  );
  const err = await startupError(loadOrInitMeta(dir, { clusterId: "a", nodeId: 1 }));
  assert.equal(err.kind, "data_dir");
  assert.match(err.message, /version 2/);
});

test("garbage or incomplete meta.json is corruption", async (t) => {
  for (const text of ["{not json", "", "[]", '{"version":1,"clusterId":"a"}', "null"]) {
    const dir = await tempDir(t);
    await writeFile(join(dir, "meta.json"), text);
    const err = await startupError(loadOrInitMeta(dir, { clusterId: "a", nodeId: 1 }));
    assert.equal(err.kind, "corrupt", `for ${JSON.stringify(text)}`);
    assert.ok(err.message.includes(join(dir, "meta.json")), err.message);
  }
});

test("a data dir with a WAL but no meta.json is refused rather than adopted", async (t) => {
  const dir = await tempDir(t);
  await mkdir(join(dir, "wal"));
  const err = await startupError(loadOrInitMeta(dir, { clusterId: "a", nodeId: 1 }));
  assert.equal(err.kind, "corrupt");
  assert.match(err.message, /has a WAL but no meta\.json/);
});

test("clusterIdFor is deterministic, order-independent and sensitive to every field", () => {
  const id = clusterIdFor(PEERS);
  assert.match(id, /^[0-9a-f]{16}$/);
  assert.equal(clusterIdFor([...PEERS].reverse()), id);
  assert.equal(clusterIdFor([PEERS[1], PEERS[2], PEERS[0]].filter((p) => p !== undefined)), id);
  const expected = createHash("sha256")
    .update(["1@127.0.0.1:7001", "2@127.0.0.1:7002", "3@10.0.0.3:7003"].join("\n"))
    .digest("hex")
    .slice(0, 16);
  assert.equal(id, expected);
  assert.notEqual(clusterIdFor(PEERS.map((p) => (p.id === 3 ? { ...p, port: 7004 } : p))), id);
  assert.notEqual(clusterIdFor(PEERS.map((p) => (p.id === 3 ? { ...p, id: 4 } : p))), id);
  assert.notEqual(clusterIdFor(PEERS.slice(0, 2)), id);
});
