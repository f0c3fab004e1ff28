/**
 * Hand-written protobuf encoding of the few etcd v3 messages the benchmark uses, field
 * numbers as in `etcd-kv.proto` (etcd's own). Only what the benchmark reads is decoded;
 * every other field is skipped, as protobuf readers do with unknown fields.
 */
import { BinaryReader, BinaryWriter, WireType } from "@bufbuild/protobuf/wire";

/** What the benchmark needs from a RangeResponse. */
export interface RangeResult {
  /** Value of the first key-value returned, or null when there was none. */
  readonly value: Uint8Array | null;
}

/** What the benchmark needs from a Maintenance StatusResponse (ids as decimal strings). */
export interface MemberStatus {
  /** The answering member's id (header.member_id). */
  readonly memberId: string;
  /** The leader's member id as this member sees it; "0" when it knows none. */
  readonly leader: string;
  readonly raftTerm: string;
}

/** PutRequest{key = 1, value = 2}. */
export function encodePut(key: Uint8Array, value: Uint8Array): Buffer {
  const w = new BinaryWriter();
  w.tag(1, WireType.LengthDelimited).bytes(key);
  if (value.byteLength > 0) w.tag(2, WireType.LengthDelimited).bytes(value);
  return toBuffer(w.finish());
}

/** RangeRequest for exactly one key: {key = 1, serializable = 7}. */
export function encodeRange(key: Uint8Array, serializable: boolean): Buffer {
  const w = new BinaryWriter();
  w.tag(1, WireType.LengthDelimited).bytes(key);
  if (serializable) w.tag(7, WireType.Varint).bool(true);
  return toBuffer(w.finish());
}

/** DeleteRangeRequest for exactly one key: {key = 1}. */
export function encodeDeleteRange(key: Uint8Array): Buffer {
  const w = new BinaryWriter();
  w.tag(1, WireType.LengthDelimited).bytes(key);
  return toBuffer(w.finish());
}

/** AuthenticateRequest{name = 1, password = 2}. */
export function encodeAuthenticate(name: string, password: string): Buffer {
  const w = new BinaryWriter();
  w.tag(1, WireType.LengthDelimited).string(name);
  w.tag(2, WireType.LengthDelimited).string(password);
  return toBuffer(w.finish());
}

/** AuthenticateResponse{header = 1, token = 2}: the token. */
export function decodeAuthenticate(bytes: Uint8Array): string {
  let token = "";
  forEachField(bytes, (field, wireType, r) => {
    if (field === 2 && wireType === WireType.LengthDelimited) {
      token = r.string();
      return true;
    }
    return false;
  });
  return token;
}

/** StatusRequest{} is empty. */
export function encodeStatus(): Buffer {
  return Buffer.alloc(0);
}

/** RangeResponse{kvs = 2 (repeated KeyValue{value = 5})}: the first value. */
export function decodeRange(bytes: Uint8Array): RangeResult {
  let value: Uint8Array | null = null;
  forEachField(bytes, (field, wireType, r) => {
    if (field === 2 && wireType === WireType.LengthDelimited && value === null) {
      value = keyValueValue(r.bytes());
      return true;
    }
    return false;
  });
  return { value };
}

/** DeleteRangeResponse{deleted = 2}: how many keys were removed. */
export function decodeDeleteRange(bytes: Uint8Array): number {
  let deleted = 0;
  forEachField(bytes, (field, wireType, r) => {
    if (field === 2 && wireType === WireType.Varint) {
      deleted = Number(r.int64());
      return true;
    }
    return false;
  });
  return deleted;
}

/** StatusResponse{header = 1 {member_id = 2}, leader = 4, raftTerm = 6}. */
export function decodeStatus(bytes: Uint8Array): MemberStatus {
  let memberId = "0";
  let leader = "0";
  let raftTerm = "0";
  forEachField(bytes, (field, wireType, r) => {
    if (field === 1 && wireType === WireType.LengthDelimited) {
      memberId = headerMemberId(r.bytes());
    } else if (field === 4 && wireType === WireType.Varint) {
      leader = r.uint64().toString();
    } else if (field === 6 && wireType === WireType.Varint) {
      raftTerm = r.uint64().toString();
    } else {
      return false;
    }
    return true;
  });
  return { memberId, leader, raftTerm };
}

/** The value (field 5) of an encoded mvccpb.KeyValue. */
function keyValueValue(bytes: Uint8Array): Uint8Array {
  let value: Uint8Array = new Uint8Array(0);
  forEachField(bytes, (field, wireType, r) => {
    if (field === 5 && wireType === WireType.LengthDelimited) {
      value = r.bytes();
      return true;
    }
    return false;
  });
  return value;
}

/** member_id (field 2) of an encoded ResponseHeader. */
function headerMemberId(bytes: Uint8Array): string {
  let id = "0";
  forEachField(bytes, (field, wireType, r) => {
    if (field === 2 && wireType === WireType.Varint) {
      id = r.uint64().toString();
      return true;
    }
    return false;
  });
  return id;
}

/**
 * Walks the top-level fields of a message. `visit` reads the field's value and returns
 * true, or returns false to have it skipped.
 */
function forEachField(
  bytes: Uint8Array,
  visit: (field: number, wireType: WireType, reader: BinaryReader) => boolean,
): void {
  const r = new BinaryReader(bytes);
  while (r.pos < r.len) {
    const [field, wireType] = r.tag();
    if (!visit(field, wireType, r)) r.skip(wireType, field);
  }
}

function toBuffer(bytes: Uint8Array): Buffer {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}
