/**
 * `dfs ls` and `dfs rm`: the namespace commands. Keys are paths; `ls` shows one level
 * like a directory (or everything with -r), fetched page by page so a huge namespace
 * never loads at once; `rm -r` removes a whole subtree in one atomic step.
 */
import { type Command, Option } from "commander";
import { checkKey } from "../api/index.ts";
import type { ListEntry } from "../client/index.ts";
import { DEFAULT_TIMEOUT_MS } from "../client/index.ts";
import { addClientOptions, type ClientFlags, withClient } from "./options.ts";
import { writeExact } from "./value-io.ts";

interface LsFlags extends ClientFlags {
  readonly recursive?: boolean;
  readonly json?: boolean;
  readonly long?: boolean;
  readonly consistency: "linearizable" | "serializable";
}

/** Registers ls and rm on `program`. */
export function addFileCommands(program: Command): void {
  const ls = program
    .command("ls")
    .description("list keys under PREFIX one level deep (directories end in '/'), or all with -r")
    .argument("[prefix]", "a directory path such as photos/2026 (default: the root)", "")
    .option("-r, --recursive", "every key under PREFIX, not one level")
    .option("-l, --long", "size, modification time and version per key")
    .option("--json", "one JSON object per line")
    .addOption(
      new Option("--consistency <level>", "linearizable reads see every acknowledged write")
        .choices(["linearizable", "serializable"])
        .default("linearizable"),
    );
  addClientOptions(ls, DEFAULT_TIMEOUT_MS).action(async (prefix: string, flags: LsFlags) => {
    const trimmed = prefix.replace(/\/+$/, "");
    if (trimmed !== "") checkKey(trimmed);
    await withClient(flags, async (client) => {
      const entries = client.list(trimmed, {
        recursive: flags.recursive ?? false,
        serializable: flags.consistency === "serializable",
      });
      for await (const entry of entries) await writeExact(Buffer.from(formatEntry(entry, flags)));
    });
  });

  const rm = program
    .command("rm")
    .description("remove KEY, or with -r KEY and everything under KEY/ (atomically)")
    .argument("<key>", "key or directory path")
    .option("-r, --recursive", "remove the whole subtree in one step");
  addClientOptions(rm, DEFAULT_TIMEOUT_MS).action(
    async (key: string, flags: ClientFlags & { recursive?: boolean }) => {
      const path = flags.recursive ? key.replace(/\/+$/, "") : key;
      await withClient(flags, async (client) => {
        if (!flags.recursive) {
          const r = await client.delete(path);
          await writeExact(Buffer.from(`ok index=${r.index}\n`));
          return;
        }
        const r = await client.deletePrefix(path);
        await writeExact(Buffer.from(`ok deleted=${r.deleted} index=${r.index}\n`));
      });
    },
  );
}

function formatEntry(entry: ListEntry, flags: LsFlags): string {
  if (flags.json) return `${JSON.stringify(entry)}\n`;
  if (!flags.long || entry.info === undefined) return `${entry.name}\n`;
  const i = entry.info;
  const when = new Date(i.modTimeMs).toISOString();
  return `${String(i.size).padStart(12)}  ${when}  v${i.version}  ${entry.name}\n`;
}
