/**
 * Several uploads at once on three real `dfs server` processes (issue 22, bench/README.md
 * session 7), with one follower paused (SIGSTOP) while they run: the leader's Raft window
 * to it (RaftTuning.maxInflightAppendBytes) must stop before the peer link's queue is
 * full, so the link drops nothing (`dfs_raft_peer_messages_dropped_total{reason=
 * "link_full"}` stays 0) and every chunk goes to the follower once, when it asks for
 * more. With the count window alone (64 appends of 4 MiB) the link dropped appends here,
 * and the leader read every dropped chunk back from its blob to resend it. The uploads
 * still commit with the other follower; the paused one catches up once resumed, and
 * every file reads back whole.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { DfsClient } from "../../src/client/index.ts";
import { freePorts, LocalCluster, waitFor } from "../../src/cluster/index.ts";
import { parseMetrics, sampleValue } from "../support/prometheus-text.ts";

const MiB = 1024 * 1024;
/** Uploads at once, and MiB each: 96 MiB, far past a link's 24 MiB queue. */
const UPLOADS = 4;
const FILE_MIB = 24;

let cluster: LocalCluster;
let httpPorts: number[];

async function metric(id: number, name: string, labels: Record<string, string> = {}) {
  const res = await fetch(`http://127.0.0.1:${httpPorts[id - 1]}/metrics`);
  return sampleValue(await parseMetrics(await res.text()), name, labels);
}

/** `mib` MiB of bytes that differ per file and per MiB, yielded a MiB at a time. */
function fileOf(file: number, mib: number): () => AsyncIterable<Uint8Array> {
  return async function* () {
    for (let i = 0; i < mib; i++) {
      const b = Buffer.alloc(MiB, (file * 31 + i) & 0xff);
      b.writeUInt32LE(file, 0);
      b.writeUInt32LE(i, 4);
      yield b;
    }
  };
}

before(async () => {
  httpPorts = await freePorts(3);
  cluster = await LocalCluster.start({
    nodeArgs: (node) => ["--http-port", String(httpPorts[node.id - 1])],
  });
});

after(async () => {
  await cluster?.destroy();
});

describe("concurrent uploads", () => {
  it("a paused follower: the leader's window stops short of its link, nothing is dropped", async () => {
    const leader = await cluster.waitForLeader();
    const paused = cluster.nodes.map((n) => n.id).find((id) => id !== leader) as number;
    const client = new DfsClient({ endpoints: [...cluster.endpoints()], timeoutMs: 120_000 });
    try {
      await client.put("warm", Buffer.from("up")); // every link open before the pause
      cluster.pause(paused);
      const results = await Promise.all(
        Array.from({ length: UPLOADS }, (_, f) => client.upload(`conc/${f}`, fileOf(f, FILE_MIB))),
      );
      for (const r of results) assert.equal(r.size, FILE_MIB * MiB);
      const dropped = await metric(leader, "dfs_raft_peer_messages_dropped_total", {
        reason: "link_full",
      });
      cluster.resume(paused);
      assert.equal(dropped, 0, "appends to the paused follower dropped by its full link");
      const target = await metric(leader, "dfs_raft_applied_index");
      await waitFor(
        "the resumed follower catches up",
        async () => ((await metric(paused, "dfs_raft_applied_index")) >= target ? true : undefined),
        60_000,
      );
      for (let f = 0; f < UPLOADS; f++) {
        const got = await client.get(`conc/${f}`, { offset: (FILE_MIB - 1) * MiB, length: 8 });
        const head = Buffer.from(got.value);
        assert.equal(got.size, FILE_MIB * MiB);
        assert.equal(head.readUInt32LE(0), f);
        assert.equal(head.readUInt32LE(4), FILE_MIB - 1);
      }
    } finally {
      cluster.resume(paused);
      client.close();
    }
  });
});
