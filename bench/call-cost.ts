/**
 * What one unary call costs a grpc-js server by itself, with the client port's server
 * options, channelz on (grpc-js's default) and off (ours since issue 24): a server
 * process with a handler that answers at once, a client process keeping `--conc` Put
 * calls in flight; the server's CPU (utime + stime from /proc) per call over each window.
 * Rounds alternate the two settings on fresh server processes; medians are printed.
 *
 *   npx tsx bench/call-cost.ts [--rounds 5] [--seconds 3] [--conc 64]
 */
import { fork } from "node:child_process";
import { parseArgs } from "node:util";
import * as grpc from "@grpc/grpc-js";
import { DfsService, DfsClient as DfsStub } from "../src/gen/dfs.ts";
import { median } from "../src/loadgen/index.ts";
import { clientServerOptions } from "../src/server/client-server-options.ts";
import { cpuMsOf } from "./lib/proc-stat.ts";

const role = process.env.CALL_COST_ROLE;
if (role === "server") {
  const options = {
    ...clientServerOptions(),
    "grpc.enable_channelz": Number(process.env.CHANNELZ),
  };
  const server = new grpc.Server(options);
  server.addService(DfsService, {
    put: (_call: unknown, cb: grpc.sendUnaryData<unknown>) => cb(null, { version: 1, index: 1 }),
  } as unknown as grpc.UntypedServiceImplementation);
  server.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (e, port) => {
    if (e !== null) throw e;
    process.send?.({ port });
  });
} else {
  const { values } = parseArgs({
    options: {
      rounds: { type: "string", default: "5" },
      seconds: { type: "string", default: "3" },
      conc: { type: "string", default: "64" },
    },
  });
  const results: Record<string, number[]> = { on: [], off: [] };
  for (let round = 0; round < Number(values.rounds); round++) {
    const order = round % 2 === 0 ? ["on", "off"] : ["off", "on"];
    for (const setting of order) {
      const us = await measure(
        setting === "on" ? 1 : 0,
        Number(values.seconds),
        Number(values.conc),
      );
      results[setting]?.push(us);
      process.stdout.write(
        `round ${round + 1} channelz ${setting}: ${us.toFixed(1)} µs server CPU per call\n`,
      );
    }
  }
  const on = median(results.on ?? []);
  const off = median(results.off ?? []);
  process.stdout.write(
    `median: channelz on ${on.toFixed(1)} µs, off ${off.toFixed(1)} µs per call (off/on ${(off / on).toFixed(2)}×)\n`,
  );
}

/** One window against a fresh server process; server CPU µs per completed call. */
async function measure(channelz: number, seconds: number, conc: number): Promise<number> {
  const child = fork(import.meta.filename, [], {
    env: { ...process.env, CALL_COST_ROLE: "server", CHANNELZ: String(channelz) },
  });
  const port = await new Promise<number>((resolve) =>
    child.once("message", (m: { port: number }) => resolve(m.port)),
  );
  const stub = new DfsStub(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
  const request = { key: "k", value: Buffer.alloc(256), metadata: {}, session: undefined };
  const one = (): Promise<void> =>
    new Promise((resolve, reject) =>
      stub.put(request, (e) => (e === null ? resolve() : reject(e))),
    );
  let running = true;
  let calls = 0;
  let counting = false;
  const worker = async (): Promise<void> => {
    while (running) {
      await one();
      if (counting) calls++;
    }
  };
  const workers = Array.from({ length: conc }, worker);
  await new Promise((r) => setTimeout(r, 1000)); // warm-up
  const pid = child.pid as number;
  const before = cpuMsOf([pid]);
  counting = true;
  await new Promise((r) => setTimeout(r, seconds * 1000));
  counting = false;
  const cpuMs = cpuMsOf([pid]) - before;
  running = false;
  await Promise.all(workers);
  stub.close();
  child.kill();
  return (cpuMs * 1000) / calls;
}
