/**
 * The hand-written etcd messages against an independent encoding: requests are decoded
 * and responses built with @bufbuild/protobuf's generic reader and writer, using the
 * field numbers of etcd's rpc.proto and kv.proto.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { BinaryReader, BinaryWriter, WireType } from "@bufbuild/protobuf/wire";
import {
  decodeAuthenticate,
  decodeDeleteRange,
  decodeRange,
  decodeStatus,
  encodeAuthenticate,
  encodeDeleteRange,
  encodePut,
  encodeRange,
} from "../etcd/etcd-wire.ts";

type Field = [number, WireType, Uint8Array | bigint | boolean];

function fields(bytes: Uint8Array): Field[] {
  const r = new BinaryReader(bytes);
  const out: Field[] = [];
  while (r.pos < r.len) {
    const [no, type] = r.tag();
    // Copied into a plain Uint8Array: the reader returns Buffer views of a Buffer input.
    if (type === WireType.LengthDelimited) out.push([no, type, new Uint8Array(r.bytes())]);
    else if (type === WireType.Varint) out.push([no, type, BigInt(r.uint64())]);
    else throw new Error(`unexpected wire type ${type}`);
  }
  return out;
}

const utf8 = (s: string): Uint8Array => new TextEncoder().encode(s);

function header(memberId: bigint): Uint8Array {
  const w = new BinaryWriter();
  w.tag(1, WireType.Varint).uint64(14841639068965178418n); // cluster_id
  w.tag(2, WireType.Varint).uint64(memberId);
  w.tag(3, WireType.Varint).int64(77); // revision
  w.tag(4, WireType.Varint).uint64(2); // raft_term
  return w.finish();
}

describe("etcd requests", () => {
  test("PutRequest carries key = 1 and value = 2 as bytes", () => {
    const value = new Uint8Array([0, 1, 2, 255]);
    assert.deepEqual(fields(encodePut(utf8("bench/1"), value)), [
      [1, WireType.LengthDelimited, utf8("bench/1")],
      [2, WireType.LengthDelimited, value],
    ]);
  });

  test("a 1 MiB value survives intact", () => {
    const value = new Uint8Array(1024 * 1024).map((_, i) => i % 251);
    const [, v] = fields(encodePut(utf8("k"), value));
    const got = v?.[2];
    assert.ok(got instanceof Uint8Array && Buffer.from(got).equals(value));
  });

  test("RangeRequest: key = 1, serializable = 7 only when asked", () => {
    assert.deepEqual(fields(encodeRange(utf8("a"), false)), [
      [1, WireType.LengthDelimited, utf8("a")],
    ]);
    assert.deepEqual(fields(encodeRange(utf8("a"), true)), [
      [1, WireType.LengthDelimited, utf8("a")],
      [7, WireType.Varint, 1n],
    ]);
  });

  test("DeleteRangeRequest: key = 1, no range_end (exactly one key)", () => {
    assert.deepEqual(fields(encodeDeleteRange(utf8("x/y"))), [
      [1, WireType.LengthDelimited, utf8("x/y")],
    ]);
  });
});

describe("etcd responses", () => {
  test("RangeResponse: the value (5) of the first KeyValue in kvs (2), other fields skipped", () => {
    const kv = new BinaryWriter();
    kv.tag(1, WireType.LengthDelimited).bytes(utf8("bench/1"));
    kv.tag(2, WireType.Varint).int64(5); // create_revision
    kv.tag(3, WireType.Varint).int64(9); // mod_revision
    kv.tag(4, WireType.Varint).int64(3); // version
    kv.tag(5, WireType.LengthDelimited).bytes(utf8("hello"));
    kv.tag(6, WireType.Varint).int64(0); // lease
    const w = new BinaryWriter();
    w.tag(1, WireType.LengthDelimited).bytes(header(1n));
    w.tag(2, WireType.LengthDelimited).bytes(kv.finish());
    w.tag(4, WireType.Varint).int64(1); // count
    assert.deepEqual(decodeRange(w.finish()).value, utf8("hello"));
  });

  test("RangeResponse without kvs means the key is missing", () => {
    const w = new BinaryWriter();
    w.tag(1, WireType.LengthDelimited).bytes(header(1n));
    assert.equal(decodeRange(w.finish()).value, null);
    assert.equal(decodeRange(new Uint8Array(0)).value, null);
  });

  test("a KeyValue with an empty value (field omitted) is present but empty", () => {
    const kv = new BinaryWriter();
    kv.tag(1, WireType.LengthDelimited).bytes(utf8("k"));
    const w = new BinaryWriter();
    w.tag(2, WireType.LengthDelimited).bytes(kv.finish());
    assert.deepEqual(decodeRange(w.finish()).value, new Uint8Array(0));
  });

  test("DeleteRangeResponse: deleted = 2", () => {
    const w = new BinaryWriter();
    w.tag(1, WireType.LengthDelimited).bytes(header(1n));
    w.tag(2, WireType.Varint).int64(1);
    assert.equal(decodeDeleteRange(w.finish()), 1);
    assert.equal(decodeDeleteRange(new Uint8Array(0)), 0);
  });

  test("StatusResponse: member id from the header, leader = 4, raftTerm = 6, full 64 bits", () => {
    const w = new BinaryWriter();
    w.tag(1, WireType.LengthDelimited).bytes(header(10501334649042878790n));
    w.tag(2, WireType.LengthDelimited).string("3.4.23");
    w.tag(3, WireType.Varint).int64(20480); // dbSize
    w.tag(4, WireType.Varint).uint64(10501334649042878790n);
    w.tag(5, WireType.Varint).uint64(12); // raftIndex
    w.tag(6, WireType.Varint).uint64(2);
    assert.deepEqual(decodeStatus(w.finish()), {
      memberId: "10501334649042878790",
      leader: "10501334649042878790",
      raftTerm: "2",
    });
  });
});

describe("etcd auth messages", () => {
  test("AuthenticateRequest is {name = 1, password = 2}", () => {
    const text = (b: Uint8Array) => Buffer.from(b).toString();
    const [name, password] = fields(encodeAuthenticate("bench", "pw:ü"));
    assert.deepEqual([name?.[0], text(name?.[2] as Uint8Array)], [1, "bench"]);
    assert.deepEqual([password?.[0], text(password?.[2] as Uint8Array)], [2, "pw:ü"]);
  });

  test("AuthenticateResponse's token is field 2, after the header", () => {
    const w = new BinaryWriter();
    w.tag(1, WireType.LengthDelimited).bytes(
      new BinaryWriter().tag(2, WireType.Varint).uint64(7n).finish(),
    );
    w.tag(2, WireType.LengthDelimited).string("tok.en.1");
    assert.equal(decodeAuthenticate(w.finish()), "tok.en.1");
    assert.equal(decodeAuthenticate(new Uint8Array(0)), "");
  });
});
