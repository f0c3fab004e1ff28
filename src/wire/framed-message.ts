/**
 * gRPC messages written once: a serializer that leaves room for gRPC's 5-byte message
 * header in front of the bytes it writes, and grpc-js taught to write that header in
 * place instead of copying the message into a new buffer (its `writeMessage`, on every
 * message it sends). For a leader streaming a file that copy was one more MiB per
 * follower per MiB uploaded (bench/README.md, session 6), and the copy was a buffer the
 * sender could never release; with it gone, the buffer the peer link encodes is the
 * one HTTP/2 writes, and the link releases it once the write completed.
 */
import { createRequire } from "node:module";

/** gRPC's message header: a compressed flag and a 4-byte big-endian length. */
export const GRPC_HEADER_BYTES = 5;

/** Message bodies allocated with room for their header in front. */
const withRoom = new WeakSet<Uint8Array>();

/**
 * A buffer of `size` bytes for a message body, with {@link GRPC_HEADER_BYTES} of room in
 * front of it (one unpooled ArrayBuffer holding both, so {@link frameOf} can be released
 * whole).
 */
export function allocBodyWithRoom(size: number): Buffer {
  const body = Buffer.allocUnsafeSlow(size + GRPC_HEADER_BYTES).subarray(GRPC_HEADER_BYTES);
  withRoom.add(body);
  return body;
}

/** The whole buffer (header room and body) of a body from {@link allocBodyWithRoom}. */
export function frameOf(body: Buffer): Buffer {
  return Buffer.from(
    body.buffer,
    body.byteOffset - GRPC_HEADER_BYTES,
    body.length + GRPC_HEADER_BYTES,
  );
}

/**
 * A message its sender encoded already (into {@link allocBodyWithRoom}), passed to
 * `write` in place of the message object: the service's serializer returns `body` as
 * it is (see {@link serializeEncoded}), and the sender knows the buffer to release.
 */
export class EncodedMessage {
  constructor(
    /** The serialized message, with header room in front. */
    readonly body: Buffer,
    /** Bytes of file data it carries (what the download metrics count). */
    readonly dataBytes = 0,
  ) {}
}

/** A serializer that passes {@link EncodedMessage}s through and encodes anything else. */
export function serializeEncoded<T>(
  encode: (value: T) => Buffer,
): (value: T | EncodedMessage) => Buffer {
  return (value) => (value instanceof EncodedMessage ? value.body : encode(value));
}

/** grpc-js's handler of uncompressed messages, as far as we use it. */
interface IdentityHandlerLike {
  writeMessage(message: Buffer, compress: boolean): Promise<Buffer>;
}

let installed: boolean | undefined;

/**
 * Makes grpc-js frame a body from {@link allocBodyWithRoom} in place (every other message
 * is framed as before, by copying). grpc-js does not export its message handlers, so one
 * is reached through its compression filter and checked; if grpc-js changed, nothing is
 * patched, messages are copied as before, and this returns false. Idempotent.
 */
export function installInPlaceFraming(): boolean {
  if (installed !== undefined) return installed;
  installed = false;
  try {
    const require = createRequire(import.meta.url);
    const mod = require("@grpc/grpc-js/build/src/compression-filter.js") as {
      CompressionFilter?: new (options: object, shared: object) => { sendCompression?: unknown };
    };
    if (typeof mod.CompressionFilter !== "function") return false;
    const handler = new mod.CompressionFilter({}, {}).sendCompression;
    if (typeof handler !== "object" || handler === null) return false;
    const proto = Object.getPrototypeOf(handler) as IdentityHandlerLike;
    const original = proto.writeMessage;
    if (typeof original !== "function" || original.length !== 2) return false;
    proto.writeMessage = function writeMessage(message: Buffer, compress: boolean) {
      if (compress || !withRoom.has(message)) return original.call(this, message, compress);
      const frame = frameOf(message);
      frame.writeUInt8(0, 0);
      frame.writeUInt32BE(message.length, 1);
      return Promise.resolve(frame);
    };
    installed = true;
  } catch {
    installed = false;
  }
  return installed;
}

/** grpc-js's server call, as far as we use it. */
interface ServerCallLike {
  serializeMessage(value: unknown): Buffer;
}

let serverInstalled: boolean | undefined;

/**
 * The server side of {@link installInPlaceFraming}: grpc-js's server call frames an
 * {@link EncodedMessage} whose body has header room in place (a download's data
 * messages); everything else is serialized and copied as before. Returns false, and
 * patches nothing, if grpc-js's internals are not as expected. Idempotent.
 */
export function installInPlaceServerFraming(): boolean {
  if (serverInstalled !== undefined) return serverInstalled;
  serverInstalled = false;
  try {
    const require = createRequire(import.meta.url);
    const mod = require("@grpc/grpc-js/build/src/server-interceptors.js") as {
      BaseServerInterceptingCall?: { prototype: ServerCallLike };
    };
    const proto = mod.BaseServerInterceptingCall?.prototype;
    const original = proto?.serializeMessage;
    if (proto === undefined || typeof original !== "function" || original.length !== 1) {
      return false;
    }
    proto.serializeMessage = function serializeMessage(value: unknown) {
      if (!(value instanceof EncodedMessage) || !withRoom.has(value.body)) {
        return original.call(this, value);
      }
      const frame = frameOf(value.body);
      frame.writeUInt8(0, 0);
      frame.writeUInt32BE(value.body.length, 1);
      return frame;
    };
    serverInstalled = true;
  } catch {
    serverInstalled = false;
  }
  return serverInstalled;
}
