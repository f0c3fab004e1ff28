/**
 * The gRPC server options of the client port, in one place so the node passes them to
 * its client server with one line: message size, concurrent streams per connection and
 * keepalive (and {@link CLIENT_STREAM_RECEIVE_WINDOW}, which grpc-js has no option for).
 * grpc-js 1.14's server honours `grpc.max_concurrent_streams`, `grpc.keepalive_time_ms`,
 * `grpc.keepalive_timeout_ms` and `grpc.max_connection_idle_ms`; it has no ping-strike
 * enforcement (`grpc.http2.min_ping_interval_without_data_ms`,
 * `grpc.http2.max_ping_strikes`, the server side of `grpc.keepalive_permit_without_calls`
 * are ignored), so a ping flood is left to Node's HTTP/2 session, which refuses a peer
 * that does not read its PING acks. See docs/security.md "Resource limits".
 */
import type { ServerOptions } from "@grpc/grpc-js";
import { MAX_GRPC_MESSAGE_BYTES, MAX_GRPC_RESPONSE_BYTES } from "../api/index.ts";
import {
  CLIENT_KEEPALIVE_TIME_MS,
  CLIENT_KEEPALIVE_TIMEOUT_MS,
  CLIENT_MAX_CONCURRENT_STREAMS,
  CLIENT_MAX_CONNECTION_IDLE_MS,
} from "./resource-limits.ts";

/**
 * Options for the client port's grpc.Server. Requests are limited to one value plus
 * framing ({@link MAX_GRPC_MESSAGE_BYTES}): a larger one is refused by gRPC with
 * RESOURCE_EXHAUSTED as soon as its length prefix arrives, before it is buffered, and
 * the client library never builds one. Responses may reach {@link
 * MAX_GRPC_RESPONSE_BYTES} (a Batch of gets), which is what clients accept.
 */
export function clientServerOptions(): ServerOptions {
  return {
    "grpc.max_receive_message_length": MAX_GRPC_MESSAGE_BYTES,
    "grpc.max_send_message_length": MAX_GRPC_RESPONSE_BYTES,
    "grpc.max_concurrent_streams": CLIENT_MAX_CONCURRENT_STREAMS,
    "grpc.keepalive_time_ms": CLIENT_KEEPALIVE_TIME_MS,
    "grpc.keepalive_timeout_ms": CLIENT_KEEPALIVE_TIMEOUT_MS,
    "grpc.max_connection_idle_ms": CLIENT_MAX_CONNECTION_IDLE_MS,
    // channelz (grpc-js's call statistics, never read here) costs closures, timestamps
    // and counters on every call; off, as on every channel of ours.
    "grpc.enable_channelz": 0,
  };
}

/**
 * HTTP/2 receive window of each call on the client port (the node passes it to
 * raiseStreamWindow; the peer port keeps 8 MiB, one append batch). Node's HTTP/2 frees
 * the connection's window as data arrives, so the 16 MiB connection window does not
 * bound what a connection's paused calls hold: each may hold its stream window, up to
 * 128 calls. Measured on one connection with 100 paused BatchStreams sent 10 MiB each,
 * the server grew about 1,100 MiB over the same run without the large requests at 8 MiB,
 * about 300 MiB at 2 MiB, nothing visible at 64 KiB. Uploads (256 MiB) and 1 MiB puts at
 * 16 in flight on a loaded 2-core machine ran no slower at 2 MiB than at 8 MiB; 2 MiB
 * still covers one call at 1 Gbit/s over a 16 ms round trip, where 64 KiB would cap a
 * remote client's upload at 64 KiB per round trip. See docs/security.md.
 */
export const CLIENT_STREAM_RECEIVE_WINDOW = 2 * 1024 * 1024;
