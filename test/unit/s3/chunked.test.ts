/**
 * aws-chunked decoding against AWS's published example ("Signature Calculations for the
 * Authorization Header: Transferring Payload in Multiple Chunks"): 65 KiB of 'a' in a
 * 64 KiB and a 1 KiB chunk, with the signatures AWS lists — and the refusals of a
 * tampered chunk, a wrong trailer checksum and a truncated body, before the last byte.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { decodeAwsChunked } from "../../../src/s3/chunked.ts";
import { signingKey } from "../../../src/s3/sigv4.ts";

const SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
const SEED = "4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9";
const SIGS = [
  "ad80c730a21e5b8d04586a2213dd63b9a0e99e0e2307b0ade35a65485a288648",
  "0055627c9e194cb4542bae2aa5492e3c1575bbb81b612b7d234b86a503ef5497",
  "b6c6ea8a5354eaf15b3cb7646744f4275b71ea724fed81ceb9323e279d449df9",
];
const signing = {
  seedSignature: SEED,
  key: signingKey(SECRET, "20130524", "us-east-1", "s3"),
  amzDate: "20130524T000000Z",
  scope: "20130524/us-east-1/s3/aws4_request",
};

function awsExample(sigs = SIGS, tamper = false): Buffer {
  const a = Buffer.alloc(65536, "a");
  if (tamper) a[100] = 0x62;
  return Buffer.concat([
    Buffer.from(`10000;chunk-signature=${sigs[0]}\r\n`),
    a,
    Buffer.from(`\r\n400;chunk-signature=${sigs[1]}\r\n`),
    Buffer.alloc(1024, "a"),
    Buffer.from(`\r\n0;chunk-signature=${sigs[2]}\r\n\r\n`),
  ]);
}

/** Feeds `bytes` in pieces of `step` bytes, as a socket would. */
async function* pieces(bytes: Buffer, step: number): AsyncGenerator<Buffer> {
  for (let i = 0; i < bytes.length; i += step) yield bytes.subarray(i, i + step);
}

async function decode(
  bytes: Buffer,
  step: number,
  sign: typeof signing | null,
): Promise<{ data: Buffer; trailers: ReadonlyMap<string, string> }> {
  const parts: Buffer[] = [];
  let trailers: ReadonlyMap<string, string> = new Map();
  for await (const p of decodeAwsChunked(pieces(bytes, step), sign, (t) => {
    trailers = t;
  }))
    parts.push(Buffer.from(p));
  return { data: Buffer.concat(parts), trailers };
}

describe("aws-chunked", () => {
  for (const step of [1, 7, 8192, 1 << 20]) {
    it(`decodes AWS's signed example fed in ${step}-byte pieces`, async () => {
      const { data } = await decode(awsExample(), step, signing);
      assert.equal(data.length, 66560);
      assert.ok(data.every((b) => b === 0x61));
    });
  }

  it("refuses a chunk whose data was changed, before yielding its last byte", async () => {
    let yielded = 0;
    await assert.rejects(
      (async () => {
        for await (const p of decodeAwsChunked(
          pieces(awsExample(SIGS, true), 4096),
          signing,
          () => {},
        ))
          yielded += p.length;
      })(),
      /SignatureDoesNotMatch|chunk signature/,
    );
    assert.ok(yielded < 65536, `yielded ${yielded} bytes of the bad chunk`);
  });

  it("refuses a wrong final-chunk signature", async () => {
    const sigs = [SIGS[0], SIGS[1], SIGS[2]?.replace(/^b/, "c")] as string[];
    await assert.rejects(decode(awsExample(sigs), 1000, signing), /chunk signature/);
  });

  it("decodes an unsigned body with trailers", async () => {
    const body = Buffer.from("5\r\nhello\r\n0\r\nx-amz-checksum-crc32:NhCmhg==\r\n\r\n");
    const { data, trailers } = await decode(body, 3, null);
    assert.equal(data.toString(), "hello");
    assert.equal(trailers.get("x-amz-checksum-crc32"), "NhCmhg==");
  });

  it("refuses a body cut inside a chunk", async () => {
    const body = Buffer.from("a\r\nhello");
    await assert.rejects(decode(body, 3, null), /IncompleteBody|ended inside a chunk/);
  });
});
