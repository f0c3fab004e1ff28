/**
 * Reads a stopped node's WAL with the project's own reader (src/storage) and asserts it
 * holds only what an honest cluster writes: entries of known kinds at contiguous indexes,
 * with terms that never go back and stay below `maxTerm`, and a hard state in range. The
 * reader already refuses a record it cannot decode (that is the "corrupt" exit 7 at start).
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { EntryKind } from "../../src/raft/index.ts";
import { Wal } from "../../src/storage/index.ts";

/** Asserts the WAL under `dataDir` is valid; returns how many entries it holds. */
export async function assertWalValid(dataDir: string, maxTerm: number): Promise<number> {
  const { wal, contents } = await Wal.open(join(dataDir, "wal"));
  try {
    const { entries, offset, offsetTerm, hardState } = contents;
    assert.ok(hardState.term <= maxTerm, `${dataDir}: hard-state term ${hardState.term}`);
    let previousTerm = offsetTerm;
    entries.forEach((e, i) => {
      const where = `${dataDir}: entry ${e.index}`;
      assert.equal(e.index, offset + 1 + i, `${where} out of place`);
      assert.ok(
        e.kind === EntryKind.Normal || e.kind === EntryKind.Noop || e.kind === EntryKind.Config,
        `${where} of kind ${e.kind}`,
      );
      assert.ok(e.term >= previousTerm && e.term <= hardState.term, `${where} of term ${e.term}`);
      previousTerm = e.term;
    });
    return entries.length;
  } finally {
    await wal.close();
  }
}
