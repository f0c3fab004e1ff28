/**
 * The page itself: the bundle `npm run build` makes from src/web/ui/ (scripts/
 * build-console.mjs) into dist/console/. Found next to the compiled code (dist/web/ →
 * dist/console/) or, when running from src/ through tsx, in the clone's dist/console/
 * (`npm run dev` builds it first). Served with a strict Content-Security-Policy: the page
 * loads only its own script and style and talks only to its own origin.
 */
import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import type { ServerResponse } from "node:http";
import { fileURLToPath } from "node:url";

/** The files of the bundle and their content types. */
const FILES: Record<string, string> = {
  "index.html": "text/html; charset=utf-8",
  "app.js": "text/javascript; charset=utf-8",
  "app.css": "text/css; charset=utf-8",
};

/** Sent with every page and asset. */
export const SECURITY_HEADERS = {
  "content-security-policy":
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
  "x-content-type-options": "nosniff",
  "referrer-policy": "no-referrer",
};

/** Where the bundle is looked for, first match wins. */
function candidates(): string[] {
  return [
    fileURLToPath(new URL("../console/", import.meta.url)),
    fileURLToPath(new URL("../../dist/console/", import.meta.url)),
  ];
}

/** The directory holding the built page, or null when it was never built. */
export function findBundle(dirs: readonly string[] = candidates()): string | null {
  return dirs.find((dir) => existsSync(`${dir}index.html`)) ?? null;
}

/**
 * Serves `name` (one of the bundle's files) from `dir`, read on each request so a rebuild
 * shows at the next reload; 404 for anything else, 503 when there is no bundle.
 */
export async function serveAsset(
  dir: string | null,
  name: string,
  res: ServerResponse,
): Promise<void> {
  const type = FILES[name];
  if (type === undefined) {
    res.writeHead(404, { "content-type": "text/plain; charset=utf-8" }).end("not found\n");
    return;
  }
  if (dir === null) {
    res
      .writeHead(503, { "content-type": "text/plain; charset=utf-8" })
      .end("the console's page is not built: run `npm run build`\n");
    return;
  }
  const body = await readFile(`${dir}${name}`);
  res.writeHead(200, {
    "content-type": type,
    "content-length": body.length,
    "cache-control": "no-cache",
    ...SECURITY_HEADERS,
  });
  res.end(body);
}
