/**
 * Reading a password from the terminal without echoing it, as `sudo` and `etcdctl` do:
 * raw mode, so the characters never reach the screen, with backspace, Enter, and Ctrl-C or
 * Ctrl-D to give up. Only ever used when stdin is a terminal; scripts pass passwords
 * through flags, DFS_PASSWORD or stdin instead (docs/auth.md "Commands").
 */
import type { Readable, Writable } from "node:stream";
import { UsageError } from "./usage-error.ts";

/** A terminal to ask on: stdin in raw mode for the answer, stderr for the question. */
export interface Terminal {
  readonly input: Readable & { readonly isTTY?: boolean; setRawMode?(raw: boolean): unknown };
  readonly output: Writable;
}

/** This process's terminal (stdin and stderr). */
export function processTerminal(): Terminal {
  return { input: process.stdin, output: process.stderr };
}

/** True when a password can be asked for (stdin is a terminal). */
export function canPrompt(terminal: Terminal): boolean {
  return terminal.input.isTTY === true && typeof terminal.input.setRawMode === "function";
}

const ENTER = new Set(["\r", "\n"]);
const BACKSPACE = new Set(["\u007f", "\b"]);
const CTRL_C = "\u0003";
const CTRL_D = "\u0004";

/**
 * Prints `question` and reads one line without echo. Throws {@link UsageError} when the
 * user gives up (Ctrl-C, or Ctrl-D on an empty line).
 */
export function promptHidden(question: string, terminal: Terminal): Promise<string> {
  const { input, output } = terminal;
  output.write(question);
  input.setRawMode?.(true);
  input.resume();
  return new Promise((resolve, reject) => {
    let text = "";
    const finish = () => {
      input.removeListener("data", onData);
      input.setRawMode?.(false);
      input.pause();
      output.write("\n");
    };
    const onData = (chunk: Buffer | string) => {
      for (const ch of chunk.toString()) {
        if (ENTER.has(ch) || (ch === CTRL_D && text !== "")) {
          finish();
          resolve(text);
          return;
        }
        if (ch === CTRL_C || ch === CTRL_D) {
          finish();
          reject(new UsageError("no password given: the prompt was cancelled"));
          return;
        }
        if (BACKSPACE.has(ch)) text = [...text].slice(0, -1).join("");
        else text += ch;
      }
    };
    input.on("data", onData);
  });
}
