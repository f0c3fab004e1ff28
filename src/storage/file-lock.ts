/**
 * The one OS primitive the data dir lock needs: an exclusive lock owned by an open file,
 * which the kernel drops when the file is closed or its process dies (kill -9 included).
 *
 * Node has no flock/fcntl, so this comes from `fs-native-extensions` (N-API, prebuilt
 * for Linux, macOS and Windows, no install script, so it loads on every Node version
 * that has N-API). On Linux it takes an open-file-description lock (`F_OFD_SETLK`):
 * held by the file description, not the process, so unlike classic POSIX locks it is
 * not silently dropped when some other descriptor of the same file is closed, and two
 * opens in one process exclude each other just as two processes do. The kernel checks
 * the inode, so the lock holds across PID namespaces and containers sharing a volume.
 */
import { createRequire } from "node:module";

interface NativeLocks {
  tryLock(fd: number, offset?: number, length?: number, opts?: { shared?: boolean }): boolean;
  unlock(fd: number, offset?: number, length?: number): void;
}

const native = createRequire(import.meta.url)("fs-native-extensions") as NativeLocks;

/**
 * Takes an exclusive lock on the whole file open as `fd` without waiting: true if taken,
 * false if another open file (in any process) holds it. Other failures (a file system
 * without locks) throw.
 */
export function tryLockFile(fd: number): boolean {
  return native.tryLock(fd);
}

/** Drops the lock taken by {@link tryLockFile} (closing the file does it as well). */
export function unlockFile(fd: number): void {
  native.unlock(fd);
}
