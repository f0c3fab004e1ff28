/**
 * `dfs put`, `dfs get` and `dfs delete`: the key-value commands. Thin on purpose: each
 * reads its flags, makes one client call and prints the result; validation, retries
 * and leader finding live in the client library so every caller gets them.
 */
import { type Command, Option } from "commander";
import { DEFAULT_TIMEOUT_MS } from "../client/retry.ts";
import { checkKey } from "../client/validation.ts";
import { addClientOptions, type ClientFlags, withClient } from "./options.ts";
import { UsageError } from "./usage-error.ts";
import { readValue, writeExact, writeFileAtomically } from "./value-io.ts";

interface PutFlags extends ClientFlags {
  readonly file?: string;
  readonly ifVersion?: string;
  readonly ifAbsent?: boolean;
}

interface GetFlags extends ClientFlags {
  readonly output?: string;
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
    .description("show KEY's version, size and the log index of its last write")
    .argument("<key>", "key to describe")
    .option("--json", "print JSON")
    .addOption(
      new Option("--consistency <level>", "linearizable reads see every acknowledged write")
        .choices(["linearizable", "serializable"])
        .default("linearizable"),
    );
  addClientOptions(command, DEFAULT_TIMEOUT_MS).action(
    async (key: string, flags: GetFlags & { json?: boolean }) => {
      const serializable = flags.consistency === "serializable";
      const s = await withClient(flags, (client) => client.stat(key, { serializable }));
      const text = flags.json
        ? `${JSON.stringify({ key, version: s.version, size: s.size, modIndex: s.modIndex })}\n`
        : `key: ${key}\nversion: ${s.version}\nsize: ${s.size}\nmod_index: ${s.modIndex}\n`;
      await writeExact(Buffer.from(text));
    },
  );
}

function addPutCommand(program: Command): void {
  const command = program
    .command("put")
    .description("store a value under KEY (VALUE, stdin, or --file); prints version and index")
    .argument("<key>", "key, e.g. photos/2026/cat.jpg")
    .argument("[value]", "the value as text; '-' or absent reads raw bytes from stdin")
    .option("--file <path>", "read the value from a file")
    .option("--if-version <n>", "compare-and-set: only if KEY is at version N (exit 4 otherwise)")
    .option("--if-absent", "only if KEY does not exist (exit 4 otherwise)");
  addClientOptions(command, DEFAULT_TIMEOUT_MS).action(
    async (key: string, value: string | undefined, flags: PutFlags) => {
      checkKey(key); // before reading stdin, so a typo does not wait for EOF first
      const ifVersion = preconditionOf(flags);
      const bytes = await readValue({ argument: value, file: flags.file });
      const result = await withClient(flags, (client) => client.put(key, bytes, { ifVersion }));
      await writeExact(Buffer.from(`ok version=${result.version} index=${result.index}\n`));
    },
  );
}

function addGetCommand(program: Command): void {
  const command = program
    .command("get")
    .description("write the exact bytes stored under KEY to stdout (or -o PATH)")
    .argument("<key>", "key to read")
    .option("-o, --output <path>", "write to this file instead (atomically: temp file + rename)")
    .addOption(
      new Option("--consistency <level>", "linearizable reads see every acknowledged write")
        .choices(["linearizable", "serializable"])
        .default("linearizable"),
    );
  addClientOptions(command, DEFAULT_TIMEOUT_MS).action(async (key: string, flags: GetFlags) => {
    const serializable = flags.consistency === "serializable";
    const result = await withClient(flags, (client) => client.get(key, { serializable }));
    if (flags.output === undefined) await writeExact(result.value);
    else await writeFileAtomically(flags.output, result.value);
  });
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
