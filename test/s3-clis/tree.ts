/**
 * A seeded tree of files in nested folders for the sync tests, and a byte-for-byte
 * comparison of two trees (same relative paths, same SHA-256 each).
 */
import { createHash } from "node:crypto";
import { mkdir, readdir, readFile, writeFile } from "node:fs/promises";
import { join, relative } from "node:path";
import { Rng } from "../support/rng.ts";

/** Writes `count` files under `root`: sizes 0..64 KiB, a few of 9 MiB (multipart in every CLI). */
export async function writeTree(root: string, count: number, seed: number): Promise<void> {
  const rng = new Rng(seed);
  for (let i = 0; i < count; i++) {
    const depth = rng.int(4);
    const dirs = Array.from({ length: depth }, () => `d${rng.int(6)}`);
    const dir = join(root, ...dirs);
    await mkdir(dir, { recursive: true });
    const size = i === 0 ? 0 : i % 400 === 1 ? 9 * 1024 * 1024 + rng.int(1000) : rng.int(65_536);
    const bytes = Buffer.alloc(size);
    for (let j = 0; j < size; j++) bytes[j] = rng.int(256);
    await writeFile(join(dir, `f${i}.bin`), bytes);
  }
}

/** relative path → SHA-256 of every file under `root`. */
export async function treeDigest(root: string): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (const entry of await readdir(root, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile()) continue;
    const path = join(entry.parentPath, entry.name);
    out.set(
      relative(root, path),
      createHash("sha256")
        .update(await readFile(path))
        .digest("hex"),
    );
  }
  return out;
}

/** A one-line description of how two trees differ, or null when they are identical. */
export async function treeDifference(a: string, b: string): Promise<string | null> {
  const [da, db] = [await treeDigest(a), await treeDigest(b)];
  const problems: string[] = [];
  for (const [path, sha] of da) {
    const other = db.get(path);
    if (other === undefined) problems.push(`missing ${path}`);
    else if (other !== sha) problems.push(`differs ${path}`);
  }
  for (const path of db.keys()) if (!da.has(path)) problems.push(`extra ${path}`);
  return problems.length === 0
    ? null
    : `${problems.length} differences (${da.size} vs ${db.size} files): ${problems.slice(0, 5).join(", ")}`;
}
