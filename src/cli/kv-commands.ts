/**
 * `dfs put`, `dfs get` and `dfs delete`: the key-value commands. Thin on purpose: each
 * reads its flags, makes one client call and prints the result; validation, retries
 * and leader finding live in the client library so every caller gets them.
 */
import { type Command, Option } from "commander";
import { DEFAULT_TIMEOUT_MS } from "../client/retry.ts";
import { checkKey } from "../client/validation.ts";
import { addClientOptions, type ClientFlags, withClient } from "./options.ts";
import { readValue, writeExact, writeFileAtomically } from "./value-io.ts";

interface PutFlags extends ClientFlags {
  readonly file?: string;
}

interface GetFlags extends ClientFlags {
  readonly output?: string;
  readonly consistency: "linearizable" | "serializable";
}

/** Registers put, get and delete on `program`. */
export function addKvCommands(program: Command): void {
  addPutCommand(program);
  addGetCommand(program);
  addDeleteCommand(program);
}

function addPutCommand(program: Command): void {
  const command = program
    .command("put")
    .description("store a value under KEY (VALUE, stdin, or --file); prints version and index")
    .argument("<key>", "key, e.g. photos/2026/cat.jpg")
    .argument("[value]", "the value as text; '-' or absent reads raw bytes from stdin")
    .option("--file <path>", "read the value from a file");
  addClientOptions(command, DEFAULT_TIMEOUT_MS).action(
    async (key: string, value: string | undefined, flags: PutFlags) => {
      checkKey(key); // before reading stdin, so a typo does not wait for EOF first
      const bytes = await readValue({ argument: value, file: flags.file });
      const result = await withClient(flags, (client) => client.put(key, bytes));
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
