/**
 * Writing S3 responses: XML documents, empty answers with headers, error documents, and
 * reading the small XML bodies some operations take. Every handler answers through
 * these so status, content type and `x-amz-request-id` are always set the same way.
 */
import type { OutgoingHttpHeaders } from "node:http";
import type { S3Context } from "./context.ts";
import { type S3Error, s3Errors } from "./errors.ts";
import { parseXml, toXml, type XmlNode } from "./xml.ts";

/** Sends `<root>…</root>` with `status` (200 by default). */
export function sendXml(
  ctx: Pick<S3Context, "res">,
  root: string,
  body: XmlNode,
  status = 200,
  headers: OutgoingHttpHeaders = {},
): void {
  const text = toXml(root, body);
  ctx.res.writeHead(status, {
    ...headers,
    "content-type": "application/xml",
    "content-length": Buffer.byteLength(text),
  });
  ctx.res.end(text);
}

/** Sends a response without a body (`content-length: 0` unless headers say otherwise). */
export function sendEmpty(
  ctx: Pick<S3Context, "res">,
  status: number,
  headers: OutgoingHttpHeaders = {},
): void {
  ctx.res.writeHead(status, { "content-length": 0, ...headers });
  ctx.res.end();
}

/** S3's error document for `error` on `resource` (HEAD answers carry no body). */
export function sendError(
  ctx: Pick<S3Context, "res" | "requestId" | "method">,
  error: S3Error,
  resource: string,
): void {
  const { res } = ctx;
  if (res.headersSent) {
    res.destroy(error);
    return;
  }
  const text = toXml(
    "Error",
    {
      Code: error.code,
      Message: error.message,
      ...error.extra,
      Resource: resource,
      RequestId: ctx.requestId,
    },
    false,
  );
  const head = ctx.method === "HEAD";
  res.writeHead(error.status, {
    "content-type": "application/xml",
    "content-length": head ? 0 : Buffer.byteLength(text),
    "x-amz-error-code": error.code,
  });
  res.end(head ? undefined : text);
}

/** Reads a small request body (an XML document) whole; larger than `limit` is refused. */
export async function readSmallBody(ctx: S3Context, limit = 1 << 20): Promise<string> {
  const parts: Buffer[] = [];
  let size = 0;
  for await (const chunk of ctx.body) {
    size += chunk.length;
    if (size > limit) throw s3Errors.invalidRequest(`request body over ${limit} bytes`);
    parts.push(chunk);
  }
  return Buffer.concat(parts).toString("utf8");
}

/** Reads and parses the body as an XML document; MalformedXML when it is not one. */
export async function readXmlBody(
  ctx: S3Context,
  limit?: number,
): Promise<Record<string, unknown>> {
  const text = await readSmallBody(ctx, limit);
  try {
    return parseXml(text);
  } catch {
    throw s3Errors.malformedXml();
  }
}
