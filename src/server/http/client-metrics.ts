/**
 * Client API metrics: request duration by method and gRPC result code, requests in
 * flight by method, upload and download bytes. Every (method, code) histogram cell and
 * every in-flight cell is bound once (OK at start, other codes the first time they
 * occur), so timing a request costs two clock reads and a few additions (cells.ts).
 * A BatchStream is timed per request on it (batch-stream.ts), not per stream: a stream
 * lives as long as its client.
 */
import * as grpc from "@grpc/grpc-js";
import type { Registry } from "prom-client";
import type { UploadRequest } from "../../gen/dfs.ts";
import {
  type CounterCell,
  Counters,
  type GaugeCell,
  Gauges,
  type HistogramCell,
  Histograms,
} from "./cells.ts";

/**
 * Buckets for client requests: 250 µs to ~16 s, doubling. A put in a healthy cluster
 * takes 1–10 ms; a request waits at most 30 s in a node (loop/waiters.ts), so the top
 * buckets catch stalls and elections.
 */
export const REQUEST_BUCKETS = [
  0.00025, 0.0005, 0.001, 0.002, 0.004, 0.008, 0.016, 0.032, 0.064, 0.128, 0.256, 0.512, 1.024,
  2.048, 4.096, 8.192, 16.384,
];

/** Name of each gRPC status code, indexed by code, for the `code` label ("OK", "UNAVAILABLE"). */
const CODE_NAMES: readonly string[] = Array.from(
  { length: 17 },
  (_, code) => grpc.status[code] ?? String(code),
);

/** One method's cells: time a request with {@link start} and {@link end}. */
export class MethodMetrics {
  private readonly byCode: (HistogramCell | undefined)[] = [];

  constructor(
    private readonly method: string,
    private readonly duration: Histograms,
    private readonly inFlight: GaugeCell,
  ) {
    this.byCode[grpc.status.OK] = duration.cell(method, "OK");
  }

  /** A request began; returns its start time for {@link end}. */
  start(): number {
    this.inFlight.inc();
    return performance.now();
  }

  /** The request that began at `started` ended with gRPC status `code`. */
  end(started: number, code: number): void {
    this.inFlight.dec();
    this.cellOf(code).observe((performance.now() - started) / 1000);
  }

  private cellOf(code: number): HistogramCell {
    const bound = this.byCode[code];
    if (bound !== undefined) return bound;
    const created = this.duration.cell(this.method, CODE_NAMES[code] ?? String(code));
    this.byCode[code] = created;
    return created;
  }
}

/** The client API's metrics of one node. */
export class ClientApiMetrics {
  private readonly duration: Histograms;
  private readonly inFlight: Gauges;
  private readonly methods = new Map<string, MethodMetrics>();
  /** Bytes of file contents received by Upload streams. */
  readonly uploadBytes: CounterCell;
  /** Bytes of file contents sent by Download streams. */
  readonly downloadBytes: CounterCell;

  constructor(registry: Registry) {
    this.duration = new Histograms(
      registry,
      "dfs_client_request_duration_seconds",
      "Time from a client request's arrival to its answer, by method and gRPC code (BatchStream: per request on the stream).",
      REQUEST_BUCKETS,
      ["method", "code"],
    );
    this.inFlight = new Gauges(
      registry,
      "dfs_client_requests_in_flight",
      "Client requests being served now, by method.",
      ["method"],
    );
    this.uploadBytes = new Counters(
      registry,
      "dfs_client_upload_bytes_total",
      "Bytes of file contents received through Upload.",
    ).cell();
    this.downloadBytes = new Counters(
      registry,
      "dfs_client_download_bytes_total",
      "Bytes of file contents sent through Download.",
    ).cell();
  }

  /** The cells of `method` (made on the first call; the service build asks for all). */
  method(name: string): MethodMetrics {
    let m = this.methods.get(name);
    if (m === undefined) {
      m = new MethodMetrics(name, this.duration, this.inFlight.cell(name));
      this.methods.set(name, m);
    }
    return m;
  }

  /** Counts an Upload stream's bytes as its messages arrive. */
  countUpload(call: { on(event: "data", listener: (m: UploadRequest) => void): unknown }): void {
    call.on("data", (m) => this.uploadBytes.inc(m.data.length));
  }
}
