/**
 * `dfs put`, `dfs get` and `dfs delete`: the key-value commands. Thin on purpose: each
 * reads its flags, makes one client call and prints the result; validation, retries
 * and leader finding live in the client library so every caller gets them.
 */
import { type Command, Option } from "commander";
import { checkKey } from "../api/index.ts";
import { DEFAULT_TIMEOUT_MS, type DfsClient, type DownloadOptions } from "../client/index.ts";
import { addClientOptions, type ClientFlags, withClient } from "./options.ts";
import { progressFor } from "./progress.ts";
import { parseRangeFlag, type RangeFlag, rangeOffsets } from "./range-flag.ts";
import { UsageError } from "./usage-error.ts";
import { asOutputError, uploadSource, writeExact } from "./value-io.ts";

interface PutFlags extends ClientFlags {
  readonly file?: string;
  readonly ifVersion?: string;
  readonly ifAbsent?: boolean;
}

interface GetFlags extends ClientFlags {
  readonly output?: string;
  readonly range?: string;
  readonly consistency: "linearizable" | "serializable";
}

/** Registers put, get, stat and delete on `program`. */
export function addKvCommands(program: Command): void {
  addPutCommand(program);
  addGetCommand(program);
  addStatCommand(program);
  addDeleteCommand(program);
}

/** The compare-and-set version from `--if-version` / `--if-absent` (absent = unconditional). */
function preconditionOf(flags: PutFlags): number | undefined {
  if (flags.ifAbsent && flags.ifVersion !== undefined) {
    throw new UsageError("--if-version and --if-absent cannot be combined");
  }
  if (flags.ifAbsent) return 0;
  if (flags.ifVersion === undefined) return undefined;
  const n = Number(flags.ifVersion);
  if (!/^\d+$/.test(flags.ifVersion) || !Number.isSafeInteger(n)) {
    throw new UsageError(`--if-version must be a non-negative integer, got '${flags.ifVersion}'`);
  }
  return n;
}

function addStatCommand(program: Command): void {
  const command = program
    .command("stat")
    .description("show KEY's size, SHA-256, version, modification time and chunk count")
    .argument("<key>", "key to describe")
    .option("--json", "print JSON")
    .addOption(consistencyOption());
  addClientOptions(command, DEFAULT_TIMEOUT_MS).action(
    async (key: string, flags: GetFlags & { json?: boolean }) => {
      const serializable = flags.consistency === "serializable";
      const s = await withClient(flags, (client) => client.stat(key, { serializable }));
      const modified = new Date(s.modTimeMs).toISOString();
      const text = flags.json
        ? `${JSON.stringify({ key, ...s, modified })}\n`
        : [
            `key: ${key}`,
            `size: ${s.size}`,
            `sha256: ${s.sha256}`,
            `version: ${s.version}`,
            `modified: ${modified}`,
            `chunks: ${s.chunks}`,
            `mod_index: ${s.modIndex}`,
            ...Object.entries(s.metadata).map(([name, v]) => `metadata: ${name}=${v}`),
            "",
          ].join("\n");
      await writeExact(Buffer.from(text));
    },
  );
}

function consistencyOption(): Option {
  return new Option("--consistency <level>", "linearizable reads see every acknowledged write")
    .choices(["linearizable", "serializable"])
    .default("linearizable");
}

function addPutCommand(program: Command): void {
  const command = program
    .command("put")
    .description(
      "store VALUE, stdin ('-') or --file under KEY; files and stdin of any size are streamed",
    )
    .argument("<key>", "key, e.g. photos/2026/cat.jpg")
    .argument("[value]", "the value as text; '-' or absent reads raw bytes from stdin")
    .option("--file <path>", "upload this file (any size, streamed, SHA-256 checked)")
    .option("--if-version <n>", "compare-and-set: only if KEY is at version N (exit 4 otherwise)")
    .option("--if-absent", "only if KEY does not exist (exit 4 otherwise)");
  addClientOptions(command, DEFAULT_TIMEOUT_MS).action(
    async (key: string, value: string | undefined, flags: PutFlags) => {
      checkKey(key); // before reading stdin, so a typo does not wait for EOF first
      const ifVersion = preconditionOf(flags);
      const source = await uploadSource({ argument: value, file: flags.file });
      if (source.kind === "literal") {
        const r = await withClient(flags, (client) => client.put(key, source.bytes, { ifVersion }));
        await writeExact(Buffer.from(`ok version=${r.version} index=${r.index}\n`));
        return;
      }
      const progress = progressFor(`put ${key}`, source.size);
      try {
        const r = await withClient(flags, (client) =>
          client.upload(key, source.open, { ifVersion, onProgress: (b) => progress.update(b) }),
        );
        progress.stop();
        await writeExact(
          Buffer.from(
            `ok version=${r.version} index=${r.index} size=${r.size} sha256=${r.sha256}\n`,
          ),
        );
      } finally {
        progress.stop();
      }
    },
  );
}

function addGetCommand(program: Command): void {
  const command = program
    .command("get")
    .description("write the exact bytes stored under KEY to stdout (or -o PATH), SHA-256 checked")
    .argument("<key>", "key to read")
    .option(
      "-o, --output <path>",
      "write to this file instead (atomically: temp file, verify, rename)",
    )
    .option(
      "--range <A-B>",
      "only bytes A to B inclusive ('A-' to the end, '-N' the last N), as HTTP ranges",
    )
    .addOption(consistencyOption());
  addClientOptions(command, DEFAULT_TIMEOUT_MS).action(async (key: string, flags: GetFlags) => {
    const serializable = flags.consistency === "serializable";
    const range = flags.range === undefined ? undefined : parseRangeFlag(flags.range);
    await withClient(flags, async (client) => {
      const ranged =
        range === undefined ? {} : await rangeOptions(client, key, range, serializable);
      if (flags.output !== undefined) {
        let progress: ReturnType<typeof progressFor> | null = null;
        try {
          await client.downloadToFile(key, flags.output, {
            serializable,
            ...ranged,
            onProgress: (bytes, total) => {
              progress ??= progressFor(`get ${key}`, total);
              progress.update(bytes);
            },
          });
        } catch (err) {
          throw asOutputError(err, flags.output);
        } finally {
          (progress as ReturnType<typeof progressFor> | null)?.stop();
        }
        return;
      }
      const { chunks } = await client.download(key, { serializable, ...ranged });
      for await (const chunk of chunks) await writeExact(chunk);
    });
  });
}

/**
 * The download options of a `--range`: a suffix needs the size, so it stats first and
 * pins that version (a key overwritten in between fails with exit 4 rather than mixing).
 */
async function rangeOptions(
  client: DfsClient,
  key: string,
  range: RangeFlag,
  serializable: boolean,
): Promise<DownloadOptions> {
  if (range.kind === "from") return rangeOffsets(range, undefined);
  const info = await client.stat(key, { serializable });
  return { ...rangeOffsets(range, info.size), ifVersion: info.version };
}

function addDeleteCommand(program: Command): void {
  const command = program
    .command("delete")
    .description("remove KEY; exit code 1 if it does not exist")
    .argument("<key>", "key to remove");
  addClientOptions(command, DEFAULT_TIMEOUT_MS).action(async (key: string, flags: ClientFlags) => {
    const result = await withClient(flags, (client) => client.delete(key));
    await writeExact(Buffer.from(`ok index=${result.index}\n`));
  });
}
