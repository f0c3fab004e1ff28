/**
 * Run by lmdb-check.ts in a child process, only when a store file is shorter than its
 * meta says (argv[2] is the file): reads every key and value, so that a page past the
 * end of the file kills this child with SIGBUS instead of the node. Exit 0 means every
 * page the tree uses is in the file (the missing tail held only free pages).
 * Plain JavaScript so that it starts without a TypeScript loader.
 */
import { open } from "lmdb";

const db = open({
  path: process.argv[2],
  readOnly: true,
  encoding: "binary",
  compression: false,
  cache: false,
});
let keys = 0;
for (const { value } of db.getRange()) keys += value.length >= 0 ? 1 : 0;
await db.close();
process.stdout.write(`ok ${keys}\n`);
