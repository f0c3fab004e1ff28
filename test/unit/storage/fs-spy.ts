/**
 * A spy on `node:fs/promises` for storage tests that must see what a crash would show:
 * which files and directories were synced, in which order, and how the code copes with a
 * file system that refuses an operation (O_DIRECT, a create racing another). The export
 * is replaced and synced into the ES module bindings (`syncBuiltinESMExports`, as
 * disk-full.test.ts does for statfs), so the code under test calls it unchanged; the
 * real function is put back when the test ends.
 */
import fsPromises, { type FileHandle } from "node:fs/promises";
import { syncBuiltinESMExports } from "node:module";
import type { TestContext } from "node:test";

/** `open` as node:fs/promises exports it. */
export type Open = typeof fsPromises.open;

/** Stands in for `open`: gets the real one and the call's arguments. */
export type OpenHook = (
  real: Open,
  path: string,
  flags: string | number | undefined,
  mode: number | undefined,
) => Promise<FileHandle>;

/** Routes every `open` through `hook` until the test ends. */
export function hookOpen(t: TestContext, hook: OpenHook): void {
  const real = fsPromises.open;
  const writable = fsPromises as { open: unknown };
  writable.open = (path: unknown, flags?: string | number, mode?: number) =>
    hook(real, String(path), flags, mode);
  syncBuiltinESMExports();
  t.after(() => {
    writable.open = real;
    syncBuiltinESMExports();
  });
}

/**
 * `handle` with some methods replaced; every other member is the real handle's (bound to
 * it, since FileHandle's methods need their own `this`).
 */
export function wrapHandle(handle: FileHandle, methods: Partial<FileHandle>): FileHandle {
  return new Proxy(handle, {
    get(target, key) {
      if (Object.hasOwn(methods, key)) return methods[key as keyof FileHandle];
      const value = Reflect.get(target, key, target);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
}

/**
 * Logs, in order, every `sync`, `datasync` and `close` of a file opened from now on, as
 * "sync PATH", "datasync PATH", "close PATH" (a directory is synced through a handle too).
 */
export function logSyncs(t: TestContext): string[] {
  const log: string[] = [];
  hookOpen(t, async (real, path, flags, mode) => {
    const handle = await real(path, flags, mode);
    return wrapHandle(handle, {
      sync: async () => {
        log.push(`sync ${path}`);
        await handle.sync();
      },
      datasync: async () => {
        log.push(`datasync ${path}`);
        await handle.datasync();
      },
      close: async () => {
        log.push(`close ${path}`);
        await handle.close();
      },
    });
  });
  return log;
}

/** An error as the file system reports it, with its errno code. */
export function errnoError(code: string, message = `${code}: refused`): NodeJS.ErrnoException {
  return Object.assign(new Error(message), { code });
}
