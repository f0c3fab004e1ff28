/**
 * `--join`: a node whose data dir is new asks a running member which cluster it is in, so
 * its data dir records that cluster (meta.json) and its peers accept it. The node then
 * starts with no configuration and waits for the leader, which replicates the log (or a
 * snapshot) to it once an operator added it (`dfs member add`).
 */
import * as grpc from "@grpc/grpc-js";
import { StartupError } from "../api/index.ts";
import { DfsClient, type StatusResponse } from "../gen/dfs.ts";
import { isHostPort } from "./validate-config.ts";

/** How long one member may take to answer. */
const JOIN_CALL_MS = 3000;

/** Rounds over the members before giving up (they may be starting too). */
const JOIN_ROUNDS = 5;

/** Pause between rounds. */
const JOIN_ROUND_PAUSE_MS = 500;

/** Where a member listens, as a running member reported it. */
export interface MemberAddresses {
  readonly peerAddr: string;
  readonly clientAddr: string;
}

/** What the join learned from a member. */
export interface JoinInfo {
  readonly clusterId: string;
  /** The member that answered (client address). */
  readonly from: string;
  /**
   * Every member's addresses as it reported them: until the joining node learns the
   * configuration from the log, it answers the leader (and hints clients) through these.
   */
  readonly members: ReadonlyMap<number, MemberAddresses>;
}

/**
 * Asks the members at `addresses` (client host:port) for their cluster id; the first that
 * answers wins. Throws StartupError("config") naming every address when none answers.
 */
export async function fetchClusterId(
  addresses: readonly string[],
  credentials: grpc.ChannelCredentials = grpc.credentials.createInsecure(),
): Promise<JoinInfo> {
  const failures = new Map<string, string>();
  for (let round = 0; round < JOIN_ROUNDS; round++) {
    for (const address of addresses) {
      try {
        const status = await statusOf(address, credentials);
        if (status.clusterId === "") throw new Error("it reported no cluster id");
        const members = new Map<number, MemberAddresses>();
        for (const m of status.members.slice(0, 64)) {
          if (isHostPort(m.peerAddress) && isHostPort(m.address))
            members.set(m.id, { peerAddr: m.peerAddress, clientAddr: m.address });
        }
        return { clusterId: status.clusterId, from: address, members };
      } catch (error) {
        failures.set(address, error instanceof Error ? error.message : String(error));
      }
    }
    await new Promise((resolve) => setTimeout(resolve, JOIN_ROUND_PAUSE_MS));
  }
  const why = [...failures].map(([a, e]) => `${a}: ${e}`).join("; ");
  throw new StartupError(
    "config",
    `--join: no member answered (${why}); give client addresses of running members`,
  );
}

function statusOf(address: string, credentials: grpc.ChannelCredentials): Promise<StatusResponse> {
  const client = new DfsClient(address, credentials);
  return new Promise<StatusResponse>((resolve, reject) => {
    client.status(
      {},
      new grpc.Metadata(),
      { deadline: Date.now() + JOIN_CALL_MS },
      (error, response) => {
        client.close();
        if (error !== null) reject(new Error(error.details || error.message));
        else resolve(response);
      },
    );
  });
}
