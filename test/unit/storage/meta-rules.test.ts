/**
 * meta.json's rules one by one (src/storage/meta.ts), on real temp dirs: each field's
 * check at its edge (what is the last value accepted, the first refused, with its
 * message), the restored-from identity, the exact file format, and the read and write
 * failures. meta.test.ts covers the main paths; these are what mutation testing found
 * unasserted (issue 25).
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { test } from "node:test";
import { StartupError } from "../../../src/api/index.ts";
import {
  clusterIdFor,
  isMemberId,
  loadOrInitMeta,
  META_FILE,
  META_VERSION,
  newMemberId,
  readNodeMeta,
  writeRestoredMeta,
} from "../../../src/storage/meta.ts";
import { tempDir } from "./fixtures.ts";

const HEX64 = "ab".repeat(32);
const MEMBER = "0123456789abcdef0123456789abcdef";

async function refusal(promise: Promise<unknown>): Promise<StartupError> {
  const err = await promise.then(
    () => assert.fail("expected a StartupError"),
    (e: unknown) => e,
  );
  assert.ok(err instanceof StartupError, `expected StartupError, got ${err}`);
  return err;
}

/** loadOrInitMeta over a meta.json holding `content` (JSON-encoded unless a string). */
async function loadWith(t: import("node:test").TestContext, content: unknown) {
  const dir = await tempDir(t);
  const text = typeof content === "string" ? content : JSON.stringify(content);
  await writeFile(join(dir, META_FILE), text);
  return { dir, load: () => loadOrInitMeta(dir, { clusterId: "c", nodeId: 1 }) };
}

test("member identities: 32 lowercase hex digits, fresh each time", () => {
  const a = newMemberId();
  assert.ok(isMemberId(a));
  assert.notEqual(newMemberId(), a);
  assert.equal(isMemberId(MEMBER), true);
  for (const bad of [MEMBER.toUpperCase(), MEMBER.slice(1), `${MEMBER}0`, `x${MEMBER}`, 5, null]) {
    assert.equal(isMemberId(bad), false, String(bad));
  }
});

test("meta.json is the record as indented JSON with a final newline", async (t) => {
  const dir = await tempDir(t);
  const meta = await loadOrInitMeta(dir, { clusterId: "c", nodeId: 3 });
  assert.equal(
    await readFile(join(dir, META_FILE), "utf8"),
    `${JSON.stringify({ version: META_VERSION, clusterId: "c", nodeId: 3, memberId: meta.memberId }, null, 2)}\n`,
  );
});

test("a new data dir records joined only when true, and restoredFrom when given", async (t) => {
  const plain = await loadOrInitMeta(await tempDir(t), {
    clusterId: "c",
    nodeId: 1,
    joined: false,
  });
  assert.equal("joined" in plain, false);
  assert.equal("restoredFrom" in plain, false);
  const dir = await tempDir(t);
  const restored = await loadOrInitMeta(dir, { clusterId: "c", nodeId: 1, restoredFrom: HEX64 });
  assert.equal(restored.restoredFrom, HEX64);
  assert.equal(JSON.parse(await readFile(join(dir, META_FILE), "utf8")).restoredFrom, HEX64);
  assert.deepEqual(await loadOrInitMeta(dir, { clusterId: "c", nodeId: 1 }), restored);
});

test("writeRestoredMeta writes a fresh identity naming the backup, which later starts accept", async (t) => {
  const dir = await tempDir(t);
  await mkdir(join(dir, "wal")); // a restore has filled the WAL already
  const meta = await writeRestoredMeta(dir, { clusterId: "c", nodeId: 2, restoredFrom: HEX64 });
  assert.deepEqual(meta, {
    version: META_VERSION,
    clusterId: "c",
    nodeId: 2,
    memberId: meta.memberId,
    restoredFrom: HEX64,
  });
  assert.ok(isMemberId(meta.memberId));
  assert.deepEqual(await readNodeMeta(dir), meta);
  assert.deepEqual(await loadOrInitMeta(dir, { clusterId: "c", nodeId: 2 }), meta);
});

test("readNodeMeta: null without meta.json, the file as it is (unchecked) with one", async (t) => {
  const dir = await tempDir(t);
  assert.equal(await readNodeMeta(dir), null);
  await writeFile(
    join(dir, META_FILE),
    JSON.stringify({ version: 9, clusterId: "other", nodeId: 7, joined: true }),
  );
  assert.deepEqual(await readNodeMeta(dir), {
    version: 9,
    clusterId: "other",
    nodeId: 7,
    memberId: "",
    joined: true,
  });
});

test("an upgraded old data dir stores its new identity", async (t) => {
  const { dir, load } = await loadWith(t, { version: 1, clusterId: "c", nodeId: 1 });
  const upgraded = await load();
  assert.ok(isMemberId(upgraded.memberId));
  assert.equal(
    JSON.parse(await readFile(join(dir, META_FILE), "utf8")).memberId,
    upgraded.memberId,
  );
});

test("each field is checked: the wrong type is corruption, with what is wrong", async (t) => {
  const good = { version: 1, clusterId: "c", nodeId: 1, memberId: MEMBER };
  const cases: [Record<string, unknown>, RegExp][] = [
    [{ ...good, version: "1" }, /lacks version, clusterId or nodeId/],
    [{ ...good, clusterId: 5 }, /lacks version, clusterId or nodeId/],
    [{ ...good, nodeId: 1.5 }, /lacks version, clusterId or nodeId/],
    [{ ...good, nodeId: "1" }, /lacks version, clusterId or nodeId/],
    [{ ...good, memberId: MEMBER.toUpperCase() }, /malformed memberId \(expected 32 hex digits\)/],
    [{ ...good, memberId: 7 }, /malformed memberId/],
    [{ ...good, joined: "yes" }, /malformed joined flag/],
    [
      { ...good, restoredFrom: HEX64.slice(2) },
      /malformed restoredFrom \(expected 64 hex digits\)/,
    ],
    [{ ...good, restoredFrom: `${HEX64}00` }, /malformed restoredFrom/],
    [{ ...good, restoredFrom: HEX64.toUpperCase() }, /malformed restoredFrom/],
    [{ ...good, restoredFrom: 12 }, /malformed restoredFrom/],
  ];
  for (const [content, message] of cases) {
    const { dir, load } = await loadWith(t, content);
    const err = await refusal(load());
    assert.equal(err.kind, "corrupt", JSON.stringify(content));
    assert.match(err.message, message);
    assert.ok(err.message.includes(join(dir, META_FILE)), err.message);
  }
  const notObject = await loadWith(t, "42");
  assert.match((await refusal(notObject.load())).message, /is not a JSON object/);
  const notJson = await loadWith(t, "{");
  assert.match((await refusal(notJson.load())).message, /is not valid JSON: /);
});

test("well-formed optional fields are accepted; joined false is not recorded", async (t) => {
  const base = { version: 1, clusterId: "c", nodeId: 1, memberId: MEMBER };
  assert.deepEqual(await (await loadWith(t, { ...base, joined: false })).load(), base);
  assert.deepEqual(await (await loadWith(t, { ...base, joined: true })).load(), {
    ...base,
    joined: true,
  });
  assert.deepEqual(await (await loadWith(t, { ...base, restoredFrom: HEX64 })).load(), {
    ...base,
    restoredFrom: HEX64,
  });
});

test("a data dir of another node, cluster or version is refused, naming both sides", async (t) => {
  const base = { version: 1, clusterId: "c", nodeId: 1, memberId: MEMBER };
  const node = await refusal((await loadWith(t, { ...base, nodeId: 2 })).load());
  assert.equal(node.kind, "data_dir");
  assert.match(node.message, /belongs to node 2, not node 1$/);
  const cluster = await refusal((await loadWith(t, { ...base, clusterId: "x" })).load());
  assert.equal(cluster.kind, "data_dir");
  assert.match(
    cluster.message,
    /belongs to cluster x, not cluster c \(was the peer list changed\?\)$/,
  );
  const version = await refusal((await loadWith(t, { ...base, version: 0 })).load());
  assert.equal(version.kind, "data_dir");
  assert.match(version.message, /has format version 0; this build reads version 1$/);
});

test("a WAL that is a file still marks the data dir as used", async (t) => {
  const dir = await tempDir(t);
  await writeFile(join(dir, "wal"), "");
  const err = await refusal(loadOrInitMeta(dir, { clusterId: "c", nodeId: 1 }));
  assert.equal(err.kind, "corrupt");
  assert.match(err.message, /has a WAL but no meta\.json: cannot tell which node it belongs to$/);
});

test("an unreadable meta.json or an unwritable one is a data_dir error naming the path", async (t) => {
  const dir = await tempDir(t);
  await mkdir(join(dir, META_FILE)); // reading a directory fails with EISDIR, not ENOENT
  const read = await refusal(loadOrInitMeta(dir, { clusterId: "c", nodeId: 1 }));
  assert.equal(read.kind, "data_dir");
  assert.match(read.message, /^cannot read .*meta\.json: EISDIR/);
  const other = await tempDir(t);
  await mkdir(join(other, `${META_FILE}.tmp`)); // the atomic write's temp file cannot open
  const write = await refusal(loadOrInitMeta(other, { clusterId: "c", nodeId: 1 }));
  assert.equal(write.kind, "data_dir");
  assert.match(write.message, /^cannot write .*meta\.json: EISDIR/);
});

test("a restored cluster's id adds the backup's hash, so it differs from the original's", () => {
  const peers = [
    { id: 2, host: "h", port: 2 },
    { id: 1, host: "h", port: 1 },
  ];
  const id = clusterIdFor(peers, HEX64);
  const expected = createHash("sha256")
    .update(["1@h:1", "2@h:2", `restored-from ${HEX64}`].join("\n"))
    .digest("hex")
    .slice(0, 16);
  assert.equal(id, expected);
  assert.notEqual(id, clusterIdFor(peers));
  assert.equal(clusterIdFor(peers, undefined), clusterIdFor(peers));
});
