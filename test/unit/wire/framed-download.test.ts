/**
 * A download's data messages are encoded once, with gRPC's header room in front, and
 * framed in place by grpc-js's server call: the bytes on the wire are the same as the
 * generated encoder's.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import {
  encodeDownloadData,
  encodeDownloadResponse,
  frameOf,
  installInPlaceServerFraming,
} from "../../../src/wire/index.ts";

test("grpc-js's server call frames encoded messages in place (internals as expected)", () => {
  assert.equal(installInPlaceServerFraming(), true);
});

test("encodeDownloadData is byte-identical to encodeDownloadResponse, with room for the header", () => {
  const data = Buffer.alloc(300_000, 7);
  const encoded = encodeDownloadData(data);
  assert.deepEqual(encoded.body, encodeDownloadResponse({ info: undefined, data }));
  const frame = frameOf(encoded.body);
  assert.equal(frame.length, encoded.body.length + 5);
  assert.equal(frame.buffer, encoded.body.buffer);
  assert.equal(frame.byteOffset, 0);
});
