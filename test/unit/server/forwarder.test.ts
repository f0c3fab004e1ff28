/**
 * Write forwarding's decisions (src/server/forward/): when a follower relays, when it
 * answers for itself, and the bound on relays in flight. The relay itself, against real
 * nodes, is test/integration/any-node.test.ts.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import * as grpc from "@grpc/grpc-js";
import { FORWARDED_METADATA, NO_FORWARD_METADATA } from "../../../src/api/index.ts";
import type { DfsServer } from "../../../src/gen/dfs.ts";
import { Forwarder, withForwarding } from "../../../src/server/forward/index.ts";

const insecure = grpc.credentials.createInsecure();

function metadata(headers: Record<string, string> = {}): grpc.Metadata {
  const md = new grpc.Metadata();
  for (const [k, v] of Object.entries(headers)) md.set(k, v);
  return md;
}

describe("write forwarding", () => {
  test("a follower relays to the leader's address unless relayed already or asked not to", () => {
    const f = new Forwarder({ leaderAddress: () => "127.0.0.1:1", credentials: insecure });
    assert.equal(f.target(metadata()), "127.0.0.1:1");
    assert.equal(f.target(metadata({ [FORWARDED_METADATA]: "1" })), undefined, "never twice");
    assert.equal(f.target(metadata({ [NO_FORWARD_METADATA]: "1" })), undefined, "hint wanted");
    const leaderless = new Forwarder({ leaderAddress: () => undefined, credentials: insecure });
    assert.equal(leaderless.target(metadata()), undefined, "no leader known: answer here");
  });

  test("past the bound, a relay is refused with resource_exhausted naming the leader", () => {
    const f = new Forwarder({
      leaderAddress: () => "127.0.0.1:1",
      credentials: insecure,
      maxInFlight: 0,
    });
    let answer: Partial<grpc.StatusObject> | null = null;
    const call = { request: {}, metadata: metadata(), getDeadline: () => Infinity };
    f.relay(
      "put",
      "127.0.0.1:1",
      call as unknown as grpc.ServerUnaryCall<unknown, unknown>,
      (e) => {
        answer = e as Partial<grpc.StatusObject>;
      },
    );
    const a = answer as Partial<grpc.StatusObject> | null;
    assert.equal(a?.code, grpc.status.RESOURCE_EXHAUSTED);
    assert.equal(a?.metadata?.get("dfs-error")[0], "resource_exhausted");
    assert.equal(f.relayed, 0);
    f.close();
  });

  test("reads and read-only batches are served here; writes and batches with one go to the leader", () => {
    const local: string[] = [];
    const handler =
      (name: string) =>
      (_call: unknown, callback: (e: null, r: unknown) => void): void => {
        local.push(name);
        callback(null, {});
      };
    const service = {
      put: handler("put"),
      get: handler("get"),
      batch: handler("batch"),
      delete: handler("delete"),
      deletePrefix: handler("deletePrefix"),
    } as unknown as DfsServer;
    const relayed: string[] = [];
    const f = new Forwarder({ leaderAddress: () => "127.0.0.1:1", credentials: insecure });
    f.relay = (method) => {
      relayed.push(method);
    };
    const served = withForwarding(service, f);
    const run = (name: keyof DfsServer, request: unknown): void => {
      const call = { request, metadata: metadata() };
      (served[name] as (c: unknown, cb: () => void) => void)(call, () => undefined);
    };
    run("get", { key: "k" });
    run("batch", { ops: [{ get: { key: "k" } }, { stat: { key: "k" } }] });
    run("put", { key: "k" });
    run("delete", { key: "k" });
    run("deletePrefix", { prefix: "k" });
    run("batch", { ops: [{ get: { key: "k" } }, { put: { key: "k" } }] });
    assert.deepEqual(local, ["get", "batch"]);
    assert.deepEqual(relayed, ["put", "delete", "deletePrefix", "batch"]);
  });
});
