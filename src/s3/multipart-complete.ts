/**
 * CompleteMultipartUpload's request document and its long-running answer. Streaming
 * 5 GiB of parts into the final object can outlast a client's read timeout, so after
 * {@link KEEPALIVE_MS} the answer starts as S3's does: status 200 and the XML
 * declaration at once, a space every {@link KEEPALIVE_MS} while it works, then the
 * result, or an `<Error>` document in the 200 body (which S3 clients check for).
 */
import type { S3Context } from "./context.ts";
import { s3Errors, toS3Error } from "./errors.ts";
import { parsePartNumber } from "./multipart-layout.ts";
import type { RequestedPart } from "./multipart-store.ts";
import { readXmlBody } from "./respond.ts";
import { toXml, type XmlNode } from "./xml.ts";

/** How long Complete may work before the 200 goes out, and the interval of keep-alive spaces. */
export const KEEPALIVE_MS = 10_000;

const DECLARATION = /^<\?xml[^>]*\?>\n?/;

/** The parts the client lists, as numbers and ETags; MalformedXML when it lists them wrong. */
export async function requestedParts(ctx: S3Context): Promise<RequestedPart[]> {
  const doc = (await readXmlBody(ctx)).CompleteMultipartUpload as
    | { Part?: { PartNumber?: string; ETag?: string }[] }
    | undefined;
  if (doc === undefined || typeof doc !== "object")
    throw s3Errors.malformedXml("expected a CompleteMultipartUpload document");
  return (doc.Part ?? []).map((p) => {
    const part = parsePartNumber(p.PartNumber);
    if (part === null || typeof p.ETag !== "string")
      throw s3Errors.malformedXml("every Part needs a PartNumber in 1..10000 and an ETag");
    return { part, etag: p.ETag };
  });
}

/** Runs `work` and answers its CompleteMultipartUploadResult, keeping the connection alive. */
export async function completeResponding(
  ctx: S3Context,
  work: () => Promise<XmlNode>,
): Promise<void> {
  const { res } = ctx;
  let started = false;
  const timer = setInterval(() => {
    if (!started) {
      started = true;
      res.writeHead(200, { "content-type": "application/xml" });
      res.write('<?xml version="1.0" encoding="UTF-8"?>\n');
    }
    res.write(" ");
  }, KEEPALIVE_MS);
  let body: string;
  try {
    body = toXml("CompleteMultipartUploadResult", await work());
  } catch (error) {
    if (!started) throw error;
    const e = toS3Error(error, ctx.key);
    body = toXml(
      "Error",
      { Code: e.code, Message: e.message, ...e.extra, RequestId: ctx.requestId },
      false,
    );
  } finally {
    clearInterval(timer);
  }
  if (started) {
    res.end(body.replace(DECLARATION, ""));
    return;
  }
  res.writeHead(200, {
    "content-type": "application/xml",
    "content-length": Buffer.byteLength(body),
  });
  res.end(body);
}
