/**
 * `dfs snapshot save | status | restore`: backups of a whole cluster and new clusters
 * built from them (docs/backup.md). `save` asks a node for a consistent image and writes
 * it atomically; `status` verifies a file and prints what it holds; `restore` prepares
 * the data dir of one member of a new cluster. Each refusal is one line with its exit
 * code: a damaged or truncated backup 7, a data dir that is not empty 6, an id missing
 * from `--peers` 2.
 */
import type { Command } from "commander";
import type { SnapshotHeader, SnapshotTrailer } from "../gen/dfs.ts";
import {
  type BackupSummary,
  restoreDataDir,
  saveBackupFile,
  verifyBackup,
} from "../server/index.ts";
import { addClientOptions, type ClientFlags, withClient } from "./options.ts";
import { parseNodeId, parsePeers } from "./peers.ts";
import { progressFor } from "./progress.ts";
import { UsageError } from "./usage-error.ts";
import { writeExact } from "./value-io.ts";

interface SaveFlags extends ClientFlags {
  readonly serializable?: boolean;
}

interface RestoreFlags {
  readonly dataDir: string;
  readonly id: string;
  readonly peers: string;
  readonly json?: boolean;
}

/** Registers `snapshot` and its subcommands on `program`. */
export function addSnapshotCommands(program: Command): void {
  const group = program
    .command("snapshot")
    .description("back up the whole store, check a backup, restore a new cluster from one");
  addSave(group);
  group
    .command("status <file>")
    .description("verify a backup file (exit 7 if damaged) and print what it holds")
    .option("--json", "print one JSON object")
    .action(async (file: string, flags: { json?: boolean }) => {
      const progress = progressFor("verifying", await sizeOf(file));
      const summary = await verifyBackup(file, (b) => progress.update(b)).finally(() =>
        progress.stop(),
      );
      await print(
        flags.json === true ? `${JSON.stringify(facts(file, summary))}\n` : table(file, summary),
      );
    });
  addRestore(group);
}

function addSave(group: Command): void {
  const command = group
    .command("save <file>")
    .description("write a consistent image of the whole store to FILE (atomically)")
    .option(
      "--serializable",
      "take it from the first endpoint as it is, without asking the leader (may be behind)",
    );
  addClientOptions(command, 30_000).action(async (file: string, flags: SaveFlags) => {
    const saved = await withClient(flags, async (client) => {
      const stream = await client.snapshotSave({ serializable: flags.serializable === true });
      const progress = progressFor("backing up", undefined);
      try {
        return await saveBackupFile(file, stream, (bytes) => progress.update(bytes));
      } catch (err) {
        throw pathProblem(err, file) ?? err;
      } finally {
        progress.stop();
      }
    });
    const { header, trailer } = saved;
    await print(
      `saved ${file}: index ${header.index} term ${header.term}, ${trailer.keys} keys, ` +
        `${trailer.contentBytes} content bytes, ${saved.fileBytes} file bytes, sha256 ${saved.sha256}\n`,
    );
  });
}

function addRestore(group: Command): void {
  group
    .command("restore <file>")
    .description("prepare the data dir of member --id of a NEW cluster from a backup")
    .requiredOption("--data-dir <dir>", "the new member's data dir (absent or empty)")
    .requiredOption("--id <n>", "the new member's id (one of --peers)")
    .requiredOption(
      "--peers <list>",
      "the new cluster's members, id@host:port,... exactly as `dfs server --peers` gets them",
    )
    .option("--json", "print one JSON object")
    .action(async (file: string, flags: RestoreFlags) => {
      const id = parseNodeId(flags.id);
      if (id === null) throw new UsageError(`--id '${flags.id}' is not a positive integer`);
      const peers = parsePeers(flags.peers);
      if (!peers.some((p) => p.id === id))
        throw new UsageError(
          `--id ${id} is not one of the --peers ids (${peers.map((p) => p.id).join(", ")})`,
        );
      if (flags.dataDir.trim() === "") throw new UsageError("--data-dir is empty");
      const progress = progressFor("restoring", 2 * ((await sizeOf(file)) ?? 0));
      const result = await restoreDataDir({
        backup: file,
        dataDir: flags.dataDir,
        id,
        peers,
        onProgress: (phase, bytes, total) =>
          progress.update(phase === "verify" ? bytes : total + bytes),
      }).finally(() => progress.stop());
      const { header } = result.backup;
      const made = {
        dataDir: flags.dataDir,
        id,
        clusterId: result.clusterId,
        index: header.index,
        term: header.term,
        sha256: result.backup.sha256,
      };
      await print(
        flags.json === true
          ? `${JSON.stringify(made)}\n`
          : `restored ${file} into ${flags.dataDir}: member ${id} of new cluster ${result.clusterId} ` +
              `at index ${header.index} term ${header.term}; start it with dfs server --id ${id} --peers ${flags.peers} --data-dir ${flags.dataDir}\n`,
      );
    });
}

/** What `status --json` prints. */
export function facts(file: string, s: BackupSummary): Record<string, unknown> {
  return {
    file,
    fileBytes: s.fileBytes,
    sha256: s.sha256,
    ...headerFacts(s.header),
    ...trailerFacts(s.trailer),
  };
}

function headerFacts(h: SnapshotHeader): Record<string, unknown> {
  return {
    index: h.index,
    term: h.term,
    clusterId: h.clusterId,
    nodeId: h.nodeId,
    version: h.version,
    created: new Date(h.createdMs).toISOString(),
    members: h.members.map((m) => ({
      id: m.id,
      address: m.address,
      peerAddress: m.peerAddress,
      learner: m.learner,
    })),
  };
}

function trailerFacts(t: SnapshotTrailer): Record<string, unknown> {
  return { records: t.records, keys: t.keys, contentBytes: t.contentBytes, dataBytes: t.dataBytes };
}

function table(file: string, s: BackupSummary): string {
  const f = facts(file, s);
  const members = s.header.members
    .map((m) => `${m.id}@${m.address}${m.learner ? " (learner)" : ""}`)
    .join(", ");
  const rows: [string, unknown][] = [
    ["file", `${file} (${s.fileBytes} bytes, intact)`],
    ["sha256", f.sha256],
    ["index", f.index],
    ["term", f.term],
    ["cluster", f.clusterId],
    ["members", members === "" ? "(bootstrap, not recorded)" : members],
    ["node", f.nodeId],
    ["version", f.version],
    ["created", f.created],
    ["keys", f.keys],
    ["content bytes", f.contentBytes],
    ["records", f.records],
  ];
  return rows.map(([k, v]) => `${k.padEnd(14)}${String(v)}\n`).join("");
}

async function sizeOf(file: string): Promise<number | undefined> {
  const { stat } = await import("node:fs/promises");
  return (await stat(file).catch(() => null))?.size;
}

/** A target path that cannot be written is the caller's mistake: a usage error. */
function pathProblem(err: unknown, file: string): UsageError | null {
  const code = (err as NodeJS.ErrnoException | null)?.code;
  if (
    code === undefined ||
    !["ENOENT", "EACCES", "EPERM", "EISDIR", "ENOTDIR", "EROFS", "EEXIST"].includes(code)
  )
    return null;
  return new UsageError(`cannot write backup ${file}: ${code}`);
}

async function print(text: string): Promise<void> {
  await writeExact(Buffer.from(text));
}
