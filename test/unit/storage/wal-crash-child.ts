/**
 * Run by wal-crash.test.ts in a separate process (with DFS_CRASH_AT set): opens the WAL
 * in argv[2] and runs one step, argv[3], that passes the WAL's crash points; prints
 * `done` and exits 0 if none of them killed it.
 *
 * - `vote`: a save that changes term and vote (hardstate-written, vote-saved);
 * - `commit`: a save that moves only the commit index (passes neither of those);
 * - `compact`: compact(27) (compact-rotated, segment-deleted);
 * - `reset`: reset(50, 4) (reset-rotated, segment-deleted).
 */
import { EntryKind } from "../../../src/raft/types.ts";
import { Wal } from "../../../src/storage/index.ts";

const dir = process.argv[2] ?? "";
const step = process.argv[3];
const { wal } = await Wal.open(dir, { segmentBytes: 200 });
if (step === "vote") {
  const data = new Uint8Array([1, 2, 3]);
  await wal.save([{ term: 2, index: 31, kind: EntryKind.Normal, data }], {
    term: 2,
    vote: 3,
    commit: 30,
  });
} else if (step === "commit") {
  const data = new Uint8Array([4, 5, 6]);
  await wal.save([{ term: 1, index: 31, kind: EntryKind.Normal, data }], {
    term: 1,
    vote: 1,
    commit: 31,
  });
} else if (step === "compact") {
  await wal.compact(27);
} else if (step === "reset") {
  await wal.reset(50, 4);
} else {
  throw new Error(`unknown step ${step}`);
}
await wal.close();
process.stdout.write("done\n");
