/**
 * Key validation. Keys look like paths (`photos/2026/cat.jpg`); the rules keep them
 * printable, unambiguous and safe to map to file names later.
 */
import { MAX_KEY_BYTES } from "./limits.ts";

/**
 * Returns why a key is invalid, or null when it is valid. Rules: 1..MAX_KEY_BYTES bytes of
 * UTF-8; no control characters; no leading or trailing `/`; no empty segment (`a//b`);
 * no `.` or `..` segment.
 */
export function keyProblem(key: string): string | null {
  if (key.length === 0) return "key is empty";
  const bytes = Buffer.byteLength(key, "utf8");
  if (bytes > MAX_KEY_BYTES) return `key is ${bytes} bytes; the limit is ${MAX_KEY_BYTES}`;
  // biome-ignore lint/suspicious/noControlCharactersInRegex: rejecting control characters is the point
  if (/[\u0000-\u001f\u007f]/.test(key)) return "key contains a control character";
  if (key.includes("\uFFFD")) return "key is not valid UTF-8";
  if (key.startsWith("/") || key.endsWith("/")) return "key must not start or end with '/'";
  for (const segment of key.split("/")) {
    if (segment === "") return "key has an empty path segment ('//')";
    if (segment === "." || segment === "..") return "key has a '.' or '..' segment";
  }
  return null;
}
