/**
 * FileBlobIo (src/storage/file-blob-io.ts) where the file system says no or a crash would
 * tell: O_DIRECT refused at open or at the write (tmpfs before Linux 6.6, some network
 * file systems), a direct write taken in pieces or not at all, a blob created by someone
 * else between the two opens (and a create failing otherwise), a blobs dir whose new
 * name cannot be synced, which syncs make a blob and its name durable, and that a direct
 * chunk does not take the page cache as well. Real files on disk; `open` is wrapped
 * (fs-spy.ts) only to refuse or to watch. direct-io and file-blob-io.test.ts cover the
 * working paths (mutation testing, issue 25).
 */
import assert from "node:assert/strict";
import { constants } from "node:fs";
import { readFile, rm, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { type TestContext, test } from "node:test";
import { FileBlobIo } from "../../../src/storage/file-blob-io.ts";
import { tempDir } from "./fixtures.ts";
import { errnoError, hookOpen, logSyncs, wrapHandle } from "./fs-spy.ts";

const A = "0123456789abcdef0123456789abcdef";
const B = "fedcba9876543210fedcba9876543210";
const MiB = 1024 * 1024;

const isDirect = (flags: string | number | undefined) =>
  typeof flags === "number" && (flags & constants.O_DIRECT) !== 0;

/** A store in a fresh dir, closed when the test ends. */
async function store(t: TestContext): Promise<{ io: FileBlobIo; dir: string }> {
  const dir = await tempDir(t);
  const io = new FileBlobIo(dir);
  t.after(() => io.closeAll());
  return { io, dir };
}

test("O_DIRECT refused at open: the chunk takes the page cache, and so does every later one", async (t) => {
  let directOpens = 0;
  hookOpen(t, async (real, path, flags, mode) => {
    if (!isDirect(flags)) return real(path, flags, mode);
    directOpens++;
    throw errnoError("EINVAL");
  });
  const { io, dir } = await store(t);
  const c0 = Buffer.alloc(MiB, 1);
  const c1 = Buffer.alloc(MiB, 2);
  await io.write(A, 0, c0);
  await io.write(A, MiB, c1);
  await io.sync([A]);
  assert.equal(io.directWrites, 0);
  assert.equal(directOpens, 1, "direct I/O is tried once, then off");
  assert.deepEqual(await readFile(join(dir, A)), Buffer.concat([c0, c1]));
});

test("O_DIRECT refused at the write: the page cache takes it and the direct descriptor closes", async (t) => {
  const log: string[] = [];
  hookOpen(t, async (real, path, flags, mode) => {
    const handle = await real(path, flags, mode);
    if (!isDirect(flags)) return handle;
    return wrapHandle(handle, {
      write: async () => {
        throw errnoError("EINVAL");
      },
      close: async () => {
        log.push("close direct");
        await handle.close();
      },
    });
  });
  const { io, dir } = await store(t);
  const c0 = Buffer.alloc(MiB, 5);
  await io.write(A, 0, c0);
  assert.deepEqual(log, ["close direct"], "closed at the refusal, not left for closeAll");
  await io.write(A, MiB, c0);
  await io.sync([A]);
  assert.equal(io.directWrites, 0);
  assert.deepEqual(await readFile(join(dir, A)), Buffer.concat([c0, c0]));
});

test("any other failure of a direct write fails the write, and direct I/O stays on", async (t) => {
  let failures = 1;
  hookOpen(t, async (real, path, flags, mode) => {
    const handle = await real(path, flags, mode);
    if (!isDirect(flags)) return handle;
    return wrapHandle(handle, {
      write: (async (...args: Parameters<typeof handle.write>) => {
        if (failures-- > 0) throw errnoError("EIO");
        return handle.write(...args);
      }) as typeof handle.write,
    });
  });
  const { io, dir } = await store(t);
  const c0 = Buffer.alloc(MiB, 7);
  await assert.rejects(io.write(A, 0, c0), { code: "EIO" });
  await io.write(A, 0, c0);
  await io.sync([A]);
  assert.equal(io.directWrites, 1);
  assert.deepEqual(await readFile(join(dir, A)), c0);
});

test("a direct write taken in pieces goes on where it stopped until the chunk is written", async (t) => {
  const pieces: number[][] = [];
  hookOpen(t, async (real, path, flags, mode) => {
    const handle = await real(path, flags, mode);
    if (!isDirect(flags)) return handle;
    return wrapHandle(handle, {
      // at most three blocks per call, as a kernel may return short
      write: (async (buffer: Buffer, offset: number, length: number, position: number) => {
        pieces.push([offset, position]);
        return handle.write(buffer, offset, Math.min(length, 3 * 4096), position);
      }) as unknown as typeof handle.write,
    });
  });
  const { io, dir } = await store(t);
  const chunk = Buffer.alloc(8 * 4096);
  for (let i = 0; i < chunk.length; i++) chunk[i] = (i * 7 + (i >> 12)) & 0xff;
  await io.write(A, MiB, chunk);
  await io.sync([A]);
  assert.equal(io.directWrites, 1);
  const at = (block: number) => [block * 4096, MiB + block * 4096];
  assert.deepEqual(pieces, [at(0), at(3), at(6)]);
  const onDisk = await readFile(join(dir, A));
  assert.deepEqual(onDisk.subarray(MiB), chunk);
  assert.equal(onDisk.length, MiB + chunk.length);
});

test("a direct write that makes no progress fails, naming the blob", async (t) => {
  hookOpen(t, async (real, path, flags, mode) => {
    const handle = await real(path, flags, mode);
    if (!isDirect(flags)) return handle;
    return wrapHandle(handle, {
      write: (async () => ({ bytesWritten: 0 })) as unknown as typeof handle.write,
    });
  });
  const { io } = await store(t);
  await assert.rejects(io.write(A, 0, Buffer.alloc(MiB)), {
    message: `blob ${A}: a direct write made no progress`,
  });
});

test("a blob created by another open between the two attempts is opened, not refused", async (t) => {
  let raced = false;
  hookOpen(t, async (real, path, flags, mode) => {
    if (raced || flags !== constants.O_RDWR) return real(path, flags, mode);
    try {
      return await real(path, flags, mode);
    } catch (error) {
      raced = true; // the blob appears right after this open found it missing
      await writeFile(path, "xy");
      throw error;
    }
  });
  const { io, dir } = await store(t);
  await io.write(A, 2, Buffer.from("z"));
  await io.sync([A]);
  assert.ok(raced);
  assert.equal(await readFile(join(dir, A), "utf8"), "xyz");
});

test("a sync datasyncs each named blob once, and the directory only while a blob is new", async (t) => {
  const { io, dir } = await store(t);
  const log = logSyncs(t);
  const syncs = () => log.filter((l) => !l.startsWith("close"));
  await io.write(A, 0, Buffer.from("a"));
  await io.write(B, 0, Buffer.from("b"));
  await io.sync([A, B, A]);
  assert.deepEqual(syncs().sort(), [
    `datasync ${join(dir, A)}`,
    `datasync ${join(dir, B)}`,
    `sync ${dirname(dir)}`, // the first new blob makes sure the dir's own name is durable
    `sync ${dir}`,
  ]);
  log.length = 0;
  await io.write(A, 1, Buffer.from("c"));
  await io.sync([A]);
  assert.deepEqual(syncs(), [`datasync ${join(dir, A)}`], "names already durable");
  log.length = 0;
  await io.write(B, 1, Buffer.from("d"));
  await io.sync([B]);
  assert.deepEqual(syncs(), [`datasync ${join(dir, B)}`], "B's name was synced with A's");
});

test("the directory is synced after a blob's data, and after an unlink of an existing blob", async (t) => {
  const { io, dir } = await store(t);
  const log = logSyncs(t);
  await io.write(A, 0, Buffer.from("a"));
  await io.sync([A]);
  const order = log.filter((l) => !l.startsWith("close"));
  assert.deepEqual(order, [`sync ${dirname(dir)}`, `datasync ${join(dir, A)}`, `sync ${dir}`]);
  log.length = 0;
  await io.unlink(A);
  assert.deepEqual(
    log.filter((l) => l.startsWith("sync")),
    [`sync ${dir}`],
  );
  log.length = 0;
  await io.unlink(A);
  assert.deepEqual(log, [], "a missing blob: nothing to sync");
});

test("closeAll forgets the directory was made: removed meanwhile, the next write makes it again", async (t) => {
  const dir = join(await tempDir(t), "blobs");
  const io = new FileBlobIo(dir);
  t.after(() => io.closeAll());
  await io.write(A, 0, Buffer.from("a"));
  await io.closeAll();
  await rm(dir, { recursive: true });
  await io.write(B, 0, Buffer.from("b"));
  await io.sync([B]);
  assert.equal(await readFile(join(dir, B), "utf8"), "b");
});

test("a chunk written directly is not written again through the page cache", async (t) => {
  const cached: number[] = [];
  hookOpen(t, async (real, path, flags, mode) => {
    const handle = await real(path, flags, mode);
    if (isDirect(flags)) return handle;
    return wrapHandle(handle, {
      writev: (async (buffers: readonly Uint8Array[], position: number) => {
        cached.push(position);
        return handle.writev(buffers, position);
      }) as unknown as typeof handle.writev,
    });
  });
  const { io, dir } = await store(t);
  const c0 = Buffer.alloc(MiB, 9);
  await io.write(A, 0, c0);
  await io.write(A, MiB, Buffer.from("tail"));
  await io.sync([A]);
  assert.equal(io.directWrites, 1);
  assert.deepEqual(cached, [MiB], "only the tail took the page cache");
  assert.deepEqual(await readFile(join(dir, A)), Buffer.concat([c0, Buffer.from("tail")]));
});

test("a sync naming an old blob and a new one syncs the directory for the new one", async (t) => {
  const { io, dir } = await store(t);
  await io.write(A, 0, Buffer.from("a"));
  await io.sync([A]);
  const log = logSyncs(t);
  await io.write(B, 0, Buffer.from("b"));
  await io.sync([A, B]);
  assert.deepEqual(
    log.filter((l) => l.startsWith("sync")),
    [`sync ${dir}`],
    "B's name is new",
  );
});

test("a blobs dir whose new name cannot be synced fails the write; the next write tries again", async (t) => {
  const root = await tempDir(t);
  const dir = join(root, "blobs");
  let refusals = 1;
  let rootOpens = 0;
  hookOpen(t, async (real, path, flags, mode) => {
    if (path === root && rootOpens++ < refusals) throw errnoError("EIO"); // syncing the new name
    return real(path, flags, mode);
  });
  const io = new FileBlobIo(dir);
  t.after(() => io.closeAll());
  await assert.rejects(io.write(A, 0, Buffer.from("a")), { code: "EIO" });
  refusals = 0;
  await io.write(A, 0, Buffer.from("b"));
  // the retry finds the directory made, but its name was never synced: it syncs it now
  assert.equal(rootOpens, 2, "the retry syncs the blobs dir's name in its parent");
  await io.sync([A]);
  assert.equal(await readFile(join(dir, A), "utf8"), "b");
});

test("a blob whose creation fails for another reason than EEXIST fails the write with it", async (t) => {
  hookOpen(t, async (real, path, flags, mode) => {
    if (typeof flags === "number" && (flags & constants.O_EXCL) !== 0) throw errnoError("EIO");
    return real(path, flags, mode);
  });
  const { io } = await store(t);
  await assert.rejects(io.write(A, 0, Buffer.from("a")), { code: "EIO" });
  assert.equal(await io.size(A), undefined);
});
