/**
 * Edges of the HARDSTATE file (src/storage/hard-state-file.ts) that hard-state-rules.test.ts
 * left open: only a missing file is created; any other failure to open it is reported as
 * it is, never papered over by writing a fresh file with the WAL's (older) term and vote.
 */
import assert from "node:assert/strict";
import { mkdir, readdir } from "node:fs/promises";
import { join } from "node:path";
import { test } from "node:test";
import { HARD_STATE_FILE, HardStateFile } from "../../../src/storage/hard-state-file.ts";
import { tempDir } from "./fixtures.ts";

test("a HARDSTATE that exists but cannot be opened is an error, not recreated", async (t) => {
  const dir = await tempDir(t);
  const path = join(dir, HARD_STATE_FILE);
  await mkdir(path);
  await assert.rejects(HardStateFile.open(dir, { term: 3, vote: 1, commit: 0 }), {
    code: "EISDIR",
    syscall: "open",
    path,
  });
  assert.deepEqual(await readdir(dir), [HARD_STATE_FILE], "no temp file written beside it");
  assert.deepEqual(await readdir(path), [], "the directory left as it was");
});
