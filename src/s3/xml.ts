/**
 * XML in and out, through fast-xml-parser: S3 speaks XML both ways (listings and errors
 * out; DeleteObjects, CompleteMultipartUpload in). One builder and one parser configured
 * once, so every document has the same declaration, namespace and escaping.
 */
import { XMLBuilder, XMLParser } from "fast-xml-parser";

/** The namespace of S3's response documents. */
export const S3_XMLNS = "http://s3.amazonaws.com/doc/2006-03-01/";

const builder = new XMLBuilder({ ignoreAttributes: false, suppressEmptyNode: false });
const parser = new XMLParser({
  // Numeric character references (`&#34;`, `&#x41;`) as Go's encoder (rclone) writes
  // quotes and apostrophes in keys and ETags; the five XML entities are decoded anyway.
  htmlEntities: true,
  ignoreAttributes: true,
  parseTagValue: false,
  trimValues: true,
  isArray: (name) => ["Object", "Part", "Tag"].includes(name),
});

/** A value of a document: text, a nested element, or a repeated element (an array). */
export type XmlValue = string | number | boolean | XmlNode | readonly XmlValue[];
/** An element's children by name. */
export interface XmlNode {
  readonly [name: string]: XmlValue | undefined;
}

/**
 * The document `<root xmlns=S3>…</root>` with a declaration. `withNamespace: false` for
 * the error document, which S3 sends without one.
 */
export function toXml(root: string, body: XmlNode, withNamespace = true): string {
  const node = withNamespace ? { "@_xmlns": S3_XMLNS, ...body } : body;
  return `<?xml version="1.0" encoding="UTF-8"?>\n${builder.build({ [root]: node })}`;
}

/** Parses a request document; throws on malformed XML (callers map to MalformedXML). */
export function parseXml(text: string): Record<string, unknown> {
  return parser.parse(text, true) as Record<string, unknown>;
}
