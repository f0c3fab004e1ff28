/**
 * Write forwarding: a follower relays unary writes to the leader (forwarder.ts,
 * forwarding-service.ts). `writeForwarding` is what the node's assembly calls.
 */
import * as grpc from "@grpc/grpc-js";
import type { DfsServer } from "../../gen/dfs.ts";
import type { NodeTls } from "../config.ts";
import type { MemberDirectory } from "../members.ts";
import type { RaftLoop } from "../raft-loop.ts";
import { Forwarder } from "./forwarder.ts";
import { withForwarding } from "./forwarding-service.ts";

export { FORWARD_MAX_IN_FLIGHT, type ForwardedMethod, Forwarder } from "./forwarder.ts";
export { withForwarding } from "./forwarding-service.ts";

/**
 * `service` relaying writes from a follower to the leader's client port. Only while the
 * client port is plain text: with client TLS a follower has no credentials of its own
 * for the leader's client port (and a client certificate's name could not travel), so it
 * answers NOT_LEADER with the leader's address as before. The pooled connections close
 * with the node (`cleanup`).
 */
export function writeForwarding(
  service: DfsServer,
  tls: NodeTls | undefined,
  loop: Pick<RaftLoop, "softState">,
  members: Pick<MemberDirectory, "clientAddress">,
  cleanup: (() => Promise<void> | void)[],
): DfsServer {
  if (tls?.client !== undefined) return service;
  const forwarder = new Forwarder({
    leaderAddress: () => {
      const ss = loop.softState();
      return ss.role === "follower" && ss.leader !== 0
        ? members.clientAddress(ss.leader)
        : undefined;
    },
    credentials: grpc.credentials.createInsecure(),
  });
  cleanup.push(() => forwarder.close());
  return withForwarding(service, forwarder);
}
