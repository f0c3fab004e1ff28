/**
 * Errors raised by the WAL. Corruption is a startup error (the node must refuse to
 * start and tell the operator exactly where); misuse is a programming error.
 */
import { StartupError } from "../api/index.ts";

/**
 * A WAL record that may have been acknowledged is unreadable (bad checksum, bad length,
 * a gap in the log, an unknown record type). Why a startup error: serving from a log
 * with a hole would break Raft's guarantees silently; refusing to start with the file
 * and byte offset lets the operator restore this node from its peers.
 */
export class WalCorruptionError extends StartupError {
  constructor(
    /** Path of the segment holding the bad record. */
    readonly file: string,
    /** Byte offset of the start of the bad record within `file`. */
    readonly offset: number,
    /** What is wrong with the record, for the operator. */
    readonly reason: string,
  ) {
    super(
      "corrupt",
      `corrupt WAL: ${file} at byte offset ${offset}: ${reason}; refusing to start ` +
        "(restore this node's data dir, or wipe it and re-add the node)",
    );
    this.name = "WalCorruptionError";
  }
}

/**
 * The WAL was used against its contract: concurrent or post-close saves, a save after a
 * failed one, or entries that would leave a gap in the log. Why a distinct error: each of
 * these is a bug in the caller, and after a failed fdatasync the file's state is unknown
 * (the kernel may have dropped the dirty pages), so the only safe move is a restart.
 */
export class WalStateError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "WalStateError";
  }
}
