/**
 * Request documents: keys and ETags come back exactly as the client meant them, whatever
 * escaping its XML encoder chose (Go's writes `"` as `&#34;`), and never decoded twice.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { parseXml } from "../../../src/s3/xml.ts";

test("numeric character references and the XML entities decode once", () => {
  const doc = parseXml(
    `<Delete><Object><Key>a&#34;b&#39;c&amp;d&lt;&#x41;&#233;</Key></Object><Object><Key>&amp;#34;&amp;amp;</Key></Object></Delete>`,
  ) as { Delete: { Object: { Key: string }[] } };
  assert.deepEqual(
    doc.Delete.Object.map((o) => o.Key),
    [`a"b'c&d<Aé`, "&#34;&amp;"],
  );
});
