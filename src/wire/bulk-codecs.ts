/**
 * Codecs for the two streamed messages that carry a file's bytes (issue 22, "reads
 * without copies"): Dfs.Download's responses and Dfs.Upload's requests. The generated
 * code copies every `bytes` field twice on the way out (the writer's `finish()`, then
 * `Buffer.from`) and once on the way in (`Buffer.from(reader.bytes())`), and grpc-js
 * copies once more each way to frame the message; for 1 MiB chunks that is most of a
 * download's allocations and so of its garbage collection.
 *
 * The common message of a transfer holds nothing but its data. That shape is encoded
 * with one copy into an exact-size buffer, and decoded as a view of grpc-js's own
 * message buffer (fresh for every message, never reused), so the bytes are copied once
 * per side by us and once by grpc-js. Any other shape — the first and last messages,
 * empty data, unknown or repeated fields — takes the generated codec, so the wire
 * format is exactly protobuf's either way.
 */
import { DownloadResponse, UploadRequest } from "../gen/dfs.ts";
import { allocBodyWithRoom, EncodedMessage } from "./framed-message.ts";
import { bytesFieldSize, ProtoWriter } from "./proto-writer.ts";

/** Field numbers of the data fields (proto/dfs.proto). */
const DOWNLOAD_DATA_FIELD = 2;
const UPLOAD_DATA_FIELD = 4;

/** The tag byte of a length-delimited field below 16. */
function lengthTag(field: number): number {
  return (field << 3) | 2;
}

/**
 * The payload of `message` when it is exactly one length-delimited `field` (tag, length,
 * bytes to the end), as a view of `message`; undefined for any other shape.
 */
export function soleBytesField(message: Buffer, field: number): Buffer | undefined {
  if (message.length < 2 || message[0] !== lengthTag(field)) return undefined;
  let length = 0;
  let scale = 1;
  // A message is below 4 GiB, so its length fits a varint of at most 5 bytes.
  for (let pos = 1; pos < message.length && pos <= 5; pos++) {
    const byte = message[pos] as number;
    length += (byte & 127) * scale;
    if (byte < 128)
      return pos + 1 + length === message.length ? message.subarray(pos + 1) : undefined;
    scale *= 128;
  }
  return undefined;
}

/** One `field` holding `data`, in an exact-size buffer: one copy of the data. */
function encodeSoleBytesField(field: number, data: Uint8Array): Buffer {
  return new ProtoWriter(bytesFieldSize(field, data.length)).bytes(field, data).finish();
}

/** Dfs.Download response → bytes; a data-only message with one copy. */
export function encodeDownloadResponse(message: DownloadResponse): Buffer {
  if (message.info === undefined && message.data.length > 0)
    return encodeSoleBytesField(DOWNLOAD_DATA_FIELD, message.data);
  return Buffer.from(DownloadResponse.encode(message).finish());
}

/**
 * A download's data-only message, encoded with room for gRPC's header in front
 * (framed-message.ts): the handler writes it as an {@link EncodedMessage} and releases
 * it once written. Byte-identical to {@link encodeDownloadResponse}'s.
 */
export function encodeDownloadData(data: Uint8Array): EncodedMessage {
  const size = bytesFieldSize(DOWNLOAD_DATA_FIELD, data.length);
  const body = new ProtoWriter(size, allocBodyWithRoom(size)).bytes(DOWNLOAD_DATA_FIELD, data);
  return new EncodedMessage(body.finish(), data.length);
}

/** Bytes → Dfs.Download response; a data-only message's data is a view, not a copy. */
export function decodeDownloadResponse(bytes: Buffer): DownloadResponse {
  const data = soleBytesField(bytes, DOWNLOAD_DATA_FIELD);
  return data === undefined ? DownloadResponse.decode(bytes) : { info: undefined, data };
}

/** Whether an upload message holds nothing but data (the shape of every middle message). */
function isDataOnly(message: UploadRequest): boolean {
  return (
    message.data.length > 0 &&
    message.key === "" &&
    message.ifVersion === undefined &&
    message.session === undefined &&
    message.sha256.length === 0 &&
    !message.done &&
    Object.keys(message.metadata).length === 0
  );
}

/** Dfs.Upload request → bytes; a data-only message with one copy. */
export function encodeUploadRequest(message: UploadRequest): Buffer {
  if (isDataOnly(message)) return encodeSoleBytesField(UPLOAD_DATA_FIELD, message.data);
  return Buffer.from(UploadRequest.encode(message).finish());
}

/** Bytes → Dfs.Upload request; a data-only message's data is a view, not a copy. */
export function decodeUploadRequest(bytes: Buffer): UploadRequest {
  const data = soleBytesField(bytes, UPLOAD_DATA_FIELD);
  if (data === undefined) return UploadRequest.decode(bytes);
  return {
    key: "",
    ifVersion: undefined,
    session: undefined,
    data,
    sha256: Buffer.alloc(0),
    done: false,
    metadata: {},
  };
}
