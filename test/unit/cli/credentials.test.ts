/**
 * Where a command's password comes from (flag, environment, a prompt without echo) and the
 * checks on names and passwords, with a scripted terminal: its input is what the user
 * types, its output must show the question and never a typed character.
 */
import assert from "node:assert/strict";
import { PassThrough } from "node:stream";
import { describe, it } from "node:test";
import { newPassword, parseUserFlag, resolveCredentials } from "../../../src/cli/credentials.ts";
import { promptHidden, type Terminal } from "../../../src/cli/prompt.ts";
import { UsageError } from "../../../src/cli/usage-error.ts";

/**
 * A terminal whose user answers each question with the next of `answers`: a string, or
 * the chunks it arrives in.
 */
function terminal(
  answers: Array<string | string[]>,
  tty = true,
): Terminal & { shown: () => string; raw: boolean[] } {
  const input = new PassThrough() as PassThrough & {
    isTTY?: boolean;
    setRawMode?(r: boolean): void;
  };
  const raw: boolean[] = [];
  if (tty) {
    input.isTTY = true;
    input.setRawMode = (r: boolean) => raw.push(r);
  }
  const output = new PassThrough();
  let shown = "";
  output.on("data", (chunk: Buffer) => {
    shown += chunk.toString();
    if (/: $/.test(shown)) {
      const answer = answers.shift();
      for (const chunk of typeof answer === "string" ? [answer] : (answer ?? [])) {
        setImmediate(() => input.write(chunk));
      }
    }
  });
  return { input, output, shown: () => shown, raw };
}

describe("--user and passwords", () => {
  it("splits NAME:PASSWORD at the first colon; passwords may hold colons", () => {
    assert.deepEqual(parseUserFlag("alice"), { user: "alice" });
    assert.deepEqual(parseUserFlag("alice:a:b"), { user: "alice", password: "a:b" });
    assert.throws(() => parseUserFlag("al ice:x"), UsageError);
    assert.throws(() => parseUserFlag(":x"), UsageError);
    assert.throws(() => parseUserFlag("alice:"), /password of alice is empty/);
    assert.throws(() => parseUserFlag(`alice:${"x".repeat(1025)}`), /1025 bytes; at most 1024/);
    assert.throws(() => parseUserFlag("a".repeat(65)), UsageError);
  });

  it("takes the password from the flag, then DFS_PASSWORD, then the terminal", async () => {
    const none = terminal([], false);
    assert.equal(await resolveCredentials(undefined, { DFS_PASSWORD: "e" }, none), undefined);
    assert.deepEqual(await resolveCredentials("bob:f", { DFS_PASSWORD: "e" }, none), {
      user: "bob",
      password: "f",
    });
    assert.deepEqual(await resolveCredentials("bob", { DFS_PASSWORD: "e" }, none), {
      user: "bob",
      password: "e",
    });
    const tty = terminal(["t\r"]);
    assert.deepEqual(await resolveCredentials("bob", {}, tty), { user: "bob", password: "t" });
    assert.equal(tty.shown(), "Password of bob: \n");
    await assert.rejects(resolveCredentials("bob", {}, none), /stdin is not a terminal/);
  });

  it("the prompt echoes nothing, handles backspace, and restores the terminal", async () => {
    const tty = terminal([["s3x\u007fcr", "et\r"]]);
    assert.equal(await promptHidden("Password of bob: ", tty), "s3cret");
    assert.equal(tty.shown(), "Password of bob: \n");
    assert.deepEqual(tty.raw, [true, false]);
  });

  it("Ctrl-C gives up with a usage error", async () => {
    const tty = terminal(["abc\u0003"]);
    await assert.rejects(promptHidden("Password of bob: ", tty), /prompt was cancelled/);
    assert.deepEqual(tty.raw, [true, false]);
  });

  it("a new password is asked twice and must match", async () => {
    const stdin = async () => "never read";
    assert.equal(await newPassword("bob", {}, terminal(["pw\r", "pw\r"]), stdin), "pw");
    await assert.rejects(newPassword("bob", {}, terminal(["pw\r", "px\r"]), stdin), /differ/);
    const piped = async () => "from stdin\r\n";
    assert.equal(
      await newPassword("bob", { passwordStdin: true }, terminal([], false), piped),
      "from stdin",
    );
    await assert.rejects(
      newPassword("bob", { passwordStdin: true }, terminal([], false), async () => "\n"),
      /empty/,
    );
  });
});
