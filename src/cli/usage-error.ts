/**
 * The CLI's own "you called it wrong" error, for checks commander cannot express (one
 * flag against another, the shape of `--peers`). It is reported like commander's own
 * usage errors: one line, exit code 2.
 */

/** A usage problem; `message` is one line naming the flag and what is wrong with it. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "UsageError";
  }
}
