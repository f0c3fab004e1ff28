/** The x-amz-checksum-* algorithms on their standard check value ("123456789"), piecewise too. */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { crc32c, crc64nvme, newChecksum } from "../../../src/s3/checksums.ts";

const CHECK = Buffer.from("123456789");

describe("checksums", () => {
  it("CRC-32C and CRC-64/NVME give their catalogued check values", () => {
    assert.equal(crc32c(CHECK), 0xe3069283);
    assert.equal(crc64nvme(CHECK), 0xae8b14860a799888n);
  });

  it("running checksums equal one-shot ones however the data is cut", () => {
    for (const algorithm of ["crc32", "crc32c", "crc64nvme", "sha1", "sha256"] as const) {
      const whole = newChecksum(algorithm);
      whole.update(CHECK);
      const parts = newChecksum(algorithm);
      for (const piece of [CHECK.subarray(0, 2), CHECK.subarray(2, 7), CHECK.subarray(7)])
        parts.update(piece);
      assert.equal(parts.base64(), whole.base64(), algorithm);
    }
    const crc32 = newChecksum("crc32");
    crc32.update(CHECK);
    assert.equal(Buffer.from(crc32.base64(), "base64").readUInt32BE(), 0xcbf43926);
  });
});
