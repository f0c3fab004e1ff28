/**
 * gRPC credentials of a node's two listeners and of its outgoing peer connections, from
 * {@link NodeTls}. Without TLS settings everything is plain text (the loopback default).
 * The material is checked up front (each PEM parses, each key matches its certificate)
 * so a mistake is one clear startup line, not a failed handshake later.
 */
import { X509Certificate } from "node:crypto";
import { createSecureContext } from "node:tls";
import * as grpc from "@grpc/grpc-js";
import { memberIdOfCommonName, nodeCommonName, StartupError } from "../api/index.ts";
import type { NodeTls, TlsKeyPair } from "./config.ts";

/**
 * The peer listener: with `tls.peer`, mutual TLS (a client certificate signed by the
 * cluster CA is required); otherwise plain text.
 */
export function peerServerCredentials(tls: NodeTls | undefined): grpc.ServerCredentials {
  const peer = tls?.peer;
  if (peer === undefined) return grpc.ServerCredentials.createInsecure();
  return grpc.ServerCredentials.createSsl(peer.ca, [keyCertPair(peer)], true);
}

/**
 * Outgoing peer connections: present this node's certificate and verify the peer's
 * server certificate against the cluster CA; plain text without `tls.peer`.
 */
export function peerChannelCredentials(tls: NodeTls | undefined): grpc.ChannelCredentials {
  const peer = tls?.peer;
  if (peer === undefined) return grpc.credentials.createInsecure();
  return grpc.credentials.createSsl(peer.ca, peer.key, peer.cert);
}

/**
 * The client listener: TLS with `tls.client`, requiring client certificates signed by
 * `clientCa` when that is given; otherwise plain text.
 */
export function clientServerCredentials(tls: NodeTls | undefined): grpc.ServerCredentials {
  const client = tls?.client;
  if (client === undefined) return grpc.ServerCredentials.createInsecure();
  const ca = client.clientCa ?? null;
  return grpc.ServerCredentials.createSsl(ca, [keyCertPair(client)], ca !== null);
}

/**
 * Throws StartupError("config") naming the first unusable piece of TLS material,
 * including a peer certificate that names another member than `selfId`: its peers
 * would refuse every message it sends (see transport/peer-auth.ts).
 */
export function checkNodeTls(tls: NodeTls | undefined, selfId: number): void {
  if (tls?.peer !== undefined) {
    checkPair("peer", tls.peer);
    checkCa("peer CA (--peer-ca)", tls.peer.ca);
    checkIdentity(tls.peer.cert, selfId);
  }
  if (tls?.client !== undefined) {
    checkPair("client-port", tls.client);
    if (tls.client.clientCa !== undefined) checkCa("client CA (--client-ca)", tls.client.clientCa);
  }
}

function checkPair(what: string, pair: TlsKeyPair): void {
  try {
    new X509Certificate(pair.cert);
  } catch {
    throw new StartupError("config", `the ${what} certificate is not a PEM certificate`);
  }
  try {
    createSecureContext({ cert: pair.cert, key: pair.key });
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    const mismatch = /mismatch/i.test(reason);
    throw new StartupError(
      "config",
      mismatch
        ? `the ${what} key does not belong to its certificate`
        : `the ${what} key is not a usable PEM private key (${reason})`,
    );
  }
}

function checkIdentity(pem: Buffer, selfId: number): void {
  const subject = new X509Certificate(pem).subject;
  const cn = subject
    .split("\n")
    .find((line) => line.startsWith("CN="))
    ?.slice(3);
  if (memberIdOfCommonName(cn) !== selfId) {
    throw new StartupError(
      "config",
      `the peer certificate's CN is '${cn ?? ""}' but this node is ${nodeCommonName(selfId)}; peers would refuse its messages`,
    );
  }
}

function checkCa(what: string, pem: Buffer): void {
  try {
    new X509Certificate(pem);
  } catch {
    throw new StartupError("config", `the ${what} is not a PEM certificate`);
  }
}

function keyCertPair(pair: TlsKeyPair): grpc.KeyCertPair {
  return { private_key: pair.key, cert_chain: pair.cert };
}
