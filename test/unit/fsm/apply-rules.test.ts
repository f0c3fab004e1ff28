/**
 * The state machine's apply rules (apply-command.ts, upload-rules.ts, kv-backend.ts) over
 * a backend that records what the rules ask of it: which blob dies at which index with how
 * many chunks and bytes, what a put or commit stores field by field, when the upload sweep
 * runs and what it reclaims (each at its boundary), and how a session write is classified.
 * The store tests see these only through a store's visible state, which hides most of it
 * (mutation testing, issue 25).
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { describe, it } from "node:test";
import {
  applyCommand,
  type RuleState,
  UPLOAD_SWEEP_EVERY_MS,
} from "../../../src/fsm/apply-command.ts";
import { AuthState } from "../../../src/fsm/auth-state.ts";
import type { ChunkFacts } from "../../../src/fsm/blob-records.ts";
import { encodeCommand, type FsmCommand } from "../../../src/fsm/index.ts";
import {
  deleteKey,
  type KvBackend,
  keptMetadata,
  metadataText,
  replaceValue,
} from "../../../src/fsm/kv-backend.ts";
import { SessionTable } from "../../../src/fsm/sessions.ts";
import type { StoredValue, UploadState } from "../../../src/fsm/state-machine.ts";
import { UPLOAD_EXPIRY_MS } from "../../../src/fsm/upload-rules.ts";

/** A Map-backed {@link KvBackend} that logs every chunk and blob call. */
class RecordingBackend implements KvBackend {
  readonly values = new Map<string, StoredValue>();
  readonly ups = new Map<string, UploadState>();
  readonly chunks: [string, number, ChunkFacts][] = [];
  readonly drops: [string, number, number, number][] = [];
  getValue(key: string) {
    return this.values.get(key);
  }
  setValue(key: string, value: StoredValue) {
    this.values.set(key, value);
  }
  deleteValue(key: string) {
    return this.values.delete(key);
  }
  putChunk(uploadId: string, seq: number, facts: ChunkFacts) {
    this.chunks.push([uploadId, seq, facts]);
  }
  dropBlob(uploadId: string, count: number, bytes: number, index: number) {
    this.drops.push([uploadId, count, bytes, index]);
  }
  getUpload(uploadId: string) {
    return this.ups.get(uploadId);
  }
  setUpload(uploadId: string, state: UploadState | null) {
    if (state === null) this.ups.delete(uploadId);
    else this.ups.set(uploadId, state);
  }
  uploads() {
    return [...this.ups];
  }
  keysUnder(prefix: string) {
    return [...this.values.keys()].filter((k) => k === prefix || k.startsWith(`${prefix}/`));
  }
}

function rig(clockMs = 0, lastSweepMs = 0) {
  const backend = new RecordingBackend();
  const state: RuleState = {
    sessions: new SessionTable(),
    auth: new AuthState(),
    clockMs,
    lastSweepMs,
  };
  let index = 0;
  const apply = (c: FsmCommand) => applyCommand(backend, state, ++index, encodeCommand(c));
  return { backend, state, apply, at: () => index };
}

const bytes = (text: string) => Buffer.from(text);
const sha = (data: Uint8Array) => new Uint8Array(createHash("sha256").update(data).digest());
const chunk = (uploadId: string, seq: number, data: string, timeMs?: number): FsmCommand => ({
  op: "upload_chunk",
  uploadId,
  seq,
  data: bytes(data),
  ...(timeMs === undefined ? {} : { timeMs }),
});
const commit = (uploadId: string, key: string, chunks: number, size: number, extra = {}) =>
  ({
    op: "commit_upload",
    uploadId,
    key,
    size,
    chunks,
    sha256: sha(bytes("x")),
    ...extra,
  }) as FsmCommand;

describe("applyCommand: decoding, clock and sweep", () => {
  it("uploads expire after 15 minutes idle; the sweep runs at most once a minute", () => {
    assert.equal(UPLOAD_EXPIRY_MS, 900_000);
    assert.equal(UPLOAD_SWEEP_EVERY_MS, 60_000);
  });

  it("an undecodable entry is invalid and changes nothing", () => {
    const { backend, state } = rig(5, 5);
    const result = applyCommand(backend, state, 1, new Uint8Array([0xff, 0xff, 0xff]));
    assert.deepEqual(result, { kind: "invalid", reason: "undecodable command" });
    assert.equal(state.clockMs, 5);
    assert.equal(backend.values.size, 0);
  });

  it("the log clock takes each command's time and never goes back", () => {
    const { state, apply } = rig();
    apply({ op: "put", key: "a", value: bytes("1"), timeMs: 1000 });
    assert.equal(state.clockMs, 1000);
    apply({ op: "put", key: "a", value: bytes("2"), timeMs: 400 });
    assert.equal(state.clockMs, 1000);
    apply({ op: "put", key: "a", value: bytes("3") });
    assert.equal(state.clockMs, 1000, "a command without a time leaves the clock");
  });

  it("a put is stamped with the log clock, not the command's earlier time", () => {
    const { backend, apply } = rig(5000, 5000);
    apply({ op: "put", key: "a", value: bytes("v"), timeMs: 3000 });
    assert.equal(backend.values.get("a")?.modTimeMs, 5000);
  });

  it("the upload sweep runs once UPLOAD_SWEEP_EVERY_MS passed since the last, not before", () => {
    const late = UPLOAD_EXPIRY_MS + 10_000;
    // one ms short of the sweep interval: no sweep
    const a = rig(0, late - UPLOAD_SWEEP_EVERY_MS + 1);
    a.apply(chunk("u", 0, "ab", 0));
    a.apply({ op: "delete", key: "k", timeMs: late });
    assert.deepEqual(a.backend.drops, []);
    assert.equal(a.state.lastSweepMs, late - UPLOAD_SWEEP_EVERY_MS + 1);
    // exactly the interval: a sweep, at the entry's index, remembered as the last
    const b = rig(0, late - UPLOAD_SWEEP_EVERY_MS);
    b.apply(chunk("u", 0, "ab", 0));
    b.apply({ op: "delete", key: "k", timeMs: late });
    assert.deepEqual(b.backend.drops, [["u", 1, 2, 2]]);
    assert.equal(b.state.lastSweepMs, late);
    assert.equal(b.backend.ups.size, 0);
  });

  it("the sweep reclaims uploads idle longer than UPLOAD_EXPIRY_MS, and only those", () => {
    const { backend, apply } = rig(0, 0);
    apply(chunk("old", 0, "abc", 0));
    apply(chunk("edge", 0, "de", 1000));
    apply(chunk("new", 0, "f", 2000));
    apply({ op: "delete", key: "k", timeMs: UPLOAD_EXPIRY_MS + 1000 });
    assert.deepEqual(backend.drops, [["old", 1, 3, 4]], "edge idle exactly the expiry: kept");
    assert.deepEqual([...backend.ups.keys()].sort(), ["edge", "new"]);
  });
});

describe("applyCommand: sessions", () => {
  const session = { clientId: "c", sequence: 3, firstIncomplete: 3 };

  it("a new session write is applied and its result remembered at the log clock", () => {
    const { state, apply } = rig();
    const first = apply({ op: "put", key: "k", value: bytes("a"), session, timeMs: 700 });
    assert.deepEqual(first, { kind: "put", version: 1, index: 1 });
    const image = state.sessions.toImage().clients[0];
    assert.deepEqual(image, {
      id: "c",
      firstIncomplete: 3,
      lastActiveMs: 700,
      results: [[3, first]],
    });
  });

  it("a duplicate is answered from memory, not applied, and refreshes the client", () => {
    const { backend, state, apply } = rig();
    const first = apply({ op: "put", key: "k", value: bytes("a"), session, timeMs: 700 });
    const again = apply({
      op: "put",
      key: "k",
      value: bytes("b"),
      session: { ...session, firstIncomplete: 4 },
      timeMs: 900,
    });
    assert.deepEqual(again, first);
    assert.equal(backend.values.get("k")?.version, 1);
    const image = state.sessions.toImage().clients[0];
    assert.equal(image?.lastActiveMs, 900);
    assert.equal(image?.firstIncomplete, 4, "the duplicate's firstIncomplete is taken");
  });

  it("a write below the client's firstIncomplete is session_expired and not applied", () => {
    const { backend, state, apply } = rig();
    apply({ op: "put", key: "k", value: bytes("a"), session });
    const old = apply({
      op: "put",
      key: "j",
      value: bytes("b"),
      session: { ...session, sequence: 2 },
    });
    assert.deepEqual(old, { kind: "session_expired" });
    assert.equal(backend.values.has("j"), false);
    assert.equal(state.sessions.writeCount, 1, "not recorded");
  });
});

describe("applyCommand: puts and deletes", () => {
  it("a put stores the value with its version, index, clock, size, hash and metadata", () => {
    const { backend, apply } = rig();
    const value = bytes("hello");
    apply({ op: "put", key: "k", value, metadata: { z: "1", a: "2" }, timeMs: 42 });
    const stored = backend.values.get("k");
    assert.ok(stored);
    const { value: v, sha256, ...rest } = stored;
    assert.deepEqual(rest, {
      version: 1,
      modIndex: 1,
      modTimeMs: 42,
      size: 5,
      metadata: { a: "2", z: "1" },
    });
    assert.equal(Buffer.from(v).toString(), "hello");
    assert.equal(
      Buffer.from(sha256).toString("hex"),
      createHash("sha256").update(value).digest("hex"),
    );
    assert.deepEqual(Object.keys(stored?.metadata ?? {}), ["a", "z"], "in name order");
  });

  it("compare-and-set: a wrong version changes nothing and names the current one", () => {
    const { backend, apply } = rig();
    apply({ op: "put", key: "k", value: bytes("a") });
    assert.deepEqual(apply({ op: "put", key: "k", value: bytes("b"), ifVersion: 2 }), {
      kind: "precondition_failed",
      currentVersion: 1,
    });
    assert.equal(backend.values.get("k")?.version, 1);
    assert.deepEqual(apply({ op: "put", key: "k", value: bytes("b"), ifVersion: 1 }), {
      kind: "put",
      version: 2,
      index: 3,
    });
  });

  it("overwriting or deleting a file frees its blob at the writing entry's index", () => {
    const { backend, apply } = rig();
    apply(chunk("u1", 0, "abc"));
    apply(chunk("u1", 1, "de"));
    apply(commit("u1", "f", 2, 5));
    assert.deepEqual(backend.drops, []);
    apply({ op: "put", key: "f", value: bytes("inline") }); // index 4
    assert.deepEqual(backend.drops, [["u1", 2, 5, 4]]);
    apply(chunk("u2", 0, "xyz"));
    apply(commit("u2", "g", 1, 3)); // index 6
    assert.deepEqual(apply({ op: "delete", key: "g" }), {
      kind: "delete",
      existed: true,
      index: 7,
    });
    assert.deepEqual(backend.drops[1], ["u2", 1, 3, 7]);
    assert.deepEqual(apply({ op: "delete", key: "g" }), {
      kind: "delete",
      existed: false,
      index: 8,
    });
    assert.equal(backend.drops.length, 2, "deleting an inline value or nothing frees no blob");
    apply({ op: "delete", key: "f" });
    assert.equal(backend.drops.length, 2);
  });

  it("delete_prefix deletes the prefix and the keys under it, freeing their files", () => {
    const { backend, apply } = rig();
    for (const key of ["p", "p/a", "p/b/c", "pq", "q"])
      apply({ op: "put", key, value: bytes(key) });
    apply(chunk("u", 0, "abcd"));
    apply(commit("u", "p/file", 1, 4)); // index 7
    assert.deepEqual(apply({ op: "delete_prefix", prefix: "p" }), {
      kind: "delete_prefix",
      deleted: 4,
      index: 8,
    });
    assert.deepEqual([...backend.values.keys()].sort(), ["pq", "q"]);
    assert.deepEqual(backend.drops, [["u", 1, 4, 8]]);
  });
});

describe("upload rules", () => {
  it("chunks count in order; a repeat is ignored; a gap is refused, naming it", () => {
    const { backend, apply } = rig();
    assert.deepEqual(apply(chunk("u", 0, "abc", 10)), { kind: "chunk", received: 1 });
    assert.deepEqual(backend.ups.get("u"), { chunks: 1, bytes: 3, lastMs: 10 });
    assert.deepEqual(apply(chunk("u", 0, "zzz", 20)), { kind: "chunk", received: 1 });
    assert.equal(backend.chunks.length, 1, "the repeat stored nothing");
    assert.deepEqual(backend.ups.get("u"), { chunks: 1, bytes: 3, lastMs: 10 });
    assert.deepEqual(apply(chunk("u", 2, "x")), {
      kind: "invalid",
      reason: "chunk 2 of upload u out of order",
    });
    assert.deepEqual(apply(chunk("u", 1, "de", 30)), { kind: "chunk", received: 2 });
    assert.deepEqual(backend.ups.get("u"), { chunks: 2, bytes: 5, lastMs: 30 });
    assert.deepEqual(
      backend.chunks.map(([id, seq, f]) => [id, seq, f.length]),
      [
        ["u", 0, 3],
        ["u", 1, 2],
      ],
    );
  });

  it("a chunk stored already is recorded by its stored facts, not its (empty) bytes", () => {
    const { backend, apply } = rig();
    const stored = { length: 1 << 20, crc32: 1234 };
    apply({ op: "upload_chunk", uploadId: "u", seq: 0, data: new Uint8Array(0), stored });
    assert.deepEqual(backend.chunks, [["u", 0, stored]]);
    assert.equal(backend.ups.get("u")?.bytes, 1 << 20);
  });

  it("a commit must name the upload's chunk count and size; else invalid, and the upload goes", () => {
    const { backend, apply } = rig();
    apply(chunk("u", 0, "abc"));
    const wrongCount = apply(commit("u", "k", 2, 3));
    assert.deepEqual(wrongCount, {
      kind: "invalid",
      reason: "upload u holds 1 chunks / 3 bytes, commit says 2 / 3",
    });
    // A commit is the last word on its upload (apply-command.ts): a refused one frees it.
    assert.equal(backend.ups.has("u"), false, "the refused upload is freed");
    apply(chunk("w", 0, "abc"));
    assert.deepEqual(apply(commit("w", "k", 1, 4)), {
      kind: "invalid",
      reason: "upload w holds 1 chunks / 3 bytes, commit says 1 / 4",
    });
    assert.equal(backend.values.has("k"), false, "no value under the key");
  });

  it("a commit swaps the file in under its key with every field, and forgets the upload", () => {
    const { backend, apply } = rig();
    apply(chunk("u", 0, "abc", 50));
    apply({ op: "put", key: "k", value: bytes("old") });
    const digest = sha(bytes("abc"));
    const result = apply({
      op: "commit_upload",
      uploadId: "u",
      key: "k",
      size: 3,
      chunks: 1,
      sha256: digest,
      metadata: { b: "2", a: "1" },
      timeMs: 60,
    });
    assert.deepEqual(result, { kind: "put", version: 2, index: 3 });
    const stored = backend.values.get("k");
    assert.deepEqual(stored, {
      value: new Uint8Array(0),
      version: 2,
      modIndex: 3,
      modTimeMs: 60,
      size: 3,
      sha256: Buffer.from(digest),
      file: { uploadId: "u", count: 1 },
      metadata: { a: "1", b: "2" },
    });
    assert.equal(backend.ups.has("u"), false);
    assert.deepEqual(backend.drops, [], "an inline value frees no blob");
  });

  it("an empty upload commits an empty value with no file", () => {
    const { backend, apply } = rig();
    assert.deepEqual(apply(commit("never-sent", "k", 0, 0)), { kind: "put", version: 1, index: 1 });
    const stored = backend.values.get("k");
    assert.equal(stored?.size, 0);
    assert.equal("file" in (stored ?? {}), false);
  });

  it("a commit whose version check fails aborts the upload and frees its blob", () => {
    const { backend, apply } = rig();
    apply({ op: "put", key: "k", value: bytes("a") });
    apply(chunk("u", 0, "abcd"));
    assert.deepEqual(apply(commit("u", "k", 1, 4, { ifVersion: 0 })), {
      kind: "precondition_failed",
      currentVersion: 1,
    });
    assert.deepEqual(backend.drops, [["u", 1, 4, 3]]);
    assert.equal(backend.ups.has("u"), false);
    assert.equal(backend.values.get("k")?.version, 1);
    apply(chunk("v", 0, "ab"));
    assert.equal(apply(commit("v", "k", 1, 2, { ifVersion: 1 })).kind, "put");
  });

  it("abort drops an upload and its blob at its index; an unknown upload is a no-op", () => {
    const { backend, apply } = rig();
    apply(chunk("u", 0, "abc"));
    apply(chunk("u", 1, "de"));
    assert.deepEqual(apply({ op: "abort_upload", uploadId: "u" }), { kind: "noop" });
    assert.deepEqual(backend.drops, [["u", 2, 5, 3]]);
    assert.equal(backend.ups.size, 0);
    assert.deepEqual(apply({ op: "abort_upload", uploadId: "u" }), { kind: "noop" });
    assert.equal(backend.drops.length, 1);
  });
});

describe("kv-backend helpers", () => {
  it("keptMetadata: none or empty is absent; entries in name order", () => {
    assert.deepEqual(keptMetadata(undefined), {});
    assert.deepEqual(keptMetadata({}), {});
    const kept = keptMetadata({ b: "2", a: "1" });
    assert.deepEqual(Object.keys(kept.metadata ?? {}), ["a", "b"]);
  });

  it("metadataText is the sorted entries as JSON behind a tag", () => {
    assert.equal(metadataText({ b: "2", a: "1" }), 'meta:[["a","1"],["b","2"]]');
  });

  it("replaceValue and deleteKey free a replaced or deleted file at the given index", () => {
    const backend = new RecordingBackend();
    const file: StoredValue = {
      value: new Uint8Array(0),
      version: 1,
      modIndex: 1,
      modTimeMs: 0,
      size: 9,
      sha256: new Uint8Array(32),
      file: { uploadId: "u", count: 3 },
    };
    replaceValue(backend, "k", undefined, file);
    assert.deepEqual(backend.drops, []);
    replaceValue(backend, "k", file, { ...file, file: undefined, modIndex: 5 } as StoredValue);
    assert.deepEqual(backend.drops, [["u", 3, 9, 5]]);
    backend.setValue("k", file);
    assert.equal(deleteKey(backend, "k", 8), true);
    assert.deepEqual(backend.drops[1], ["u", 3, 9, 8]);
    assert.equal(deleteKey(backend, "k", 9), false);
    assert.equal(backend.drops.length, 2);
  });
});
