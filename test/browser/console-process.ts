/**
 * A web console alone in its own process, for measuring what serving transfers costs the
 * console itself (a node's memory also moves with its own replication work). Usage:
 * `node --import tsx test/browser/console-process.ts HOST:PORT,...`; prints
 * `listening http://127.0.0.1:PORT` once it serves, and runs until killed.
 */
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { createConsole } from "../../src/web/index.ts";

const endpoints = (process.argv[2] ?? "").split(",").filter((e) => e !== "");
const web = createConsole({ endpoints });
const server = createServer((req, res) => {
  if (!web.extension(req, res)) res.writeHead(404).end("not found\n");
});
server.listen(0, "127.0.0.1", () => {
  const { port } = server.address() as AddressInfo;
  process.stdout.write(`listening http://127.0.0.1:${port}\n`);
});
