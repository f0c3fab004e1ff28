/**
 * The S3 endpoint: a node:http server that authenticates each request (SigV4 header or
 * presigned query, or anonymous when allowed), resolves bucket and key (path-style
 * `/b/k`, or virtual-host-style `b.<domain>/k`), wraps the body, and dispatches to the
 * operation's handler through the router; every failure becomes S3's XML error.
 */
import { randomBytes } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { requestBody } from "./body.ts";
import type { S3Context } from "./context.ts";
import { s3Errors, toS3Error } from "./errors.ts";
import type { S3Identity, SigningKeySource } from "./keys.ts";
import { sendError } from "./respond.ts";
import { S3Router, type S3Target } from "./router.ts";
import { allRoutes } from "./routes.ts";
import { checkTime, parseClaims, verifySignature } from "./sigv4.ts";

/** How a gateway runs. */
export interface S3GatewayOptions {
  readonly keys: SigningKeySource;
  /** The region answered in HeadBucket (default `us-east-1`; signatures of any region pass). */
  readonly region?: string;
  /** Host names under which `<bucket>.<domain>` is virtual-host-style (default `localhost`). */
  readonly domains?: readonly string[];
  /** Clock (tests). */
  readonly now?: () => number;
  /** One line per failed request (default: none). */
  readonly log?: (line: string) => void;
}

/** An S3 endpoint in front of a dfs cluster. */
export class S3Gateway {
  private readonly server: Server;
  private readonly router = new S3Router(allRoutes());
  private readonly region: string;
  private readonly domains: readonly string[];
  private readonly now: () => number;

  constructor(private readonly options: S3GatewayOptions) {
    this.region = options.region ?? "us-east-1";
    this.domains = options.domains ?? ["localhost"];
    this.now = options.now ?? Date.now;
    this.server = createServer((req, res) => {
      void this.handle(req, res);
    });
    this.server.keepAliveTimeout = 65_000;
    this.server.requestTimeout = 0;
  }

  /** Listens on `port` (0: any) of `host`; resolves with the port bound. */
  async listen(port: number, host = "0.0.0.0"): Promise<number> {
    await new Promise<void>((resolve, reject) => {
      this.server.once("error", reject);
      this.server.listen(port, host, () => {
        this.server.off("error", reject);
        resolve();
      });
    });
    return (this.server.address() as AddressInfo).port;
  }

  /** Stops accepting and closes idle connections; resolves when all are closed. */
  async close(): Promise<void> {
    await new Promise<void>((resolve) => {
      this.server.close(() => resolve());
      this.server.closeIdleConnections();
      setTimeout(() => this.server.closeAllConnections(), 2000).unref();
    });
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const requestId = randomBytes(8).toString("hex").toUpperCase();
    res.setHeader("x-amz-request-id", requestId);
    res.setHeader("server", "dfs");
    const url = req.url ?? "/";
    const q = url.indexOf("?");
    const rawPath = q < 0 ? url : url.slice(0, q);
    const rawQuery = q < 0 ? "" : url.slice(q + 1);
    const method = req.method ?? "GET";
    let key = "";
    try {
      const query = new URLSearchParams(rawQuery);
      const address = this.address(req, rawPath);
      key = address.key;
      const { identity, claims, signingKey } = await this.authenticate(
        req,
        method,
        rawPath,
        rawQuery,
        query,
      );
      const body = requestBody(req, claims, signingKey);
      const route = this.router.match({
        method,
        target: address.target,
        query,
        headers: req.headers,
      });
      const ctx: S3Context = {
        req,
        res,
        requestId,
        method,
        bucket: address.bucket,
        key: address.key,
        query,
        headers: req.headers,
        client: identity.client,
        caller: { accessKey: claims?.accessKey ?? "", user: identity.user },
        region: this.region,
        body: body.body,
        contentLength: body.contentLength,
        bodyMd5: body.md5,
      };
      await route.handler(ctx);
    } catch (error) {
      const e = toS3Error(error, key);
      if (e.status >= 500) this.options.log?.(`s3 ${method} ${rawPath}: ${e.code} ${e.message}`);
      sendError({ res, requestId, method }, e, rawPath);
    }
  }

  private async authenticate(
    req: IncomingMessage,
    method: string,
    rawPath: string,
    rawQuery: string,
    query: URLSearchParams,
  ) {
    const signed = { method, rawPath, rawQuery, headers: req.headers };
    const claims = parseClaims(signed, query);
    if (claims === null) {
      const identity: S3Identity | null = await this.options.keys.anonymous();
      if (identity === null)
        throw s3Errors.accessDenied("Anonymous access is not allowed; sign the request");
      return { identity, claims, signingKey: null };
    }
    checkTime(claims, this.now());
    const { key, identity } = await this.options.keys.resolve(claims);
    verifySignature(signed, claims, key);
    return { identity, claims, signingKey: key };
  }

  /** Bucket, key and target of a request, from the Host header and the path. */
  private address(
    req: IncomingMessage,
    rawPath: string,
  ): { bucket: string; key: string; target: S3Target } {
    const host = (req.headers.host ?? "").replace(/:\d+$/, "").toLowerCase();
    let path: string;
    try {
      path = decodeURIComponent(rawPath);
    } catch {
      throw s3Errors.invalidArgument("the request path is not valid URL encoding");
    }
    const domain = this.domains.find((d) => host.endsWith(`.${d}`));
    let bucket: string;
    let key: string;
    if (domain !== undefined) {
      bucket = host.slice(0, -domain.length - 1);
      key = path.replace(/^\//, "");
    } else {
      const rest = path.replace(/^\//, "");
      const slash = rest.indexOf("/");
      bucket = slash < 0 ? rest : rest.slice(0, slash);
      key = slash < 0 ? "" : rest.slice(slash + 1);
    }
    const target: S3Target = bucket === "" ? "service" : key === "" ? "bucket" : "object";
    return { bucket, key, target };
  }
}
