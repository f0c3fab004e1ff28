/**
 * Which node to talk to next. A client knows a few addresses, learns the leader from
 * redirects, and walks the rest when the leader is gone; this file holds that memory so
 * the retry loop stays a loop.
 */

/** A parsed `host:port`; IPv6 hosts are kept in brackets, as gRPC targets expect them. */
export interface HostPort {
  readonly host: string;
  readonly port: number;
}

/** Either a parsed address or one human line saying why the text is not one. */
export type HostPortResult =
  | { readonly ok: true; readonly value: HostPort }
  | { readonly ok: false; readonly problem: string };

/** Highest TCP port; 0 is excluded because it means "any port" to a listener. */
const MAX_PORT = 65535;

/**
 * Parses `host:port` or `[v6]:port`. Shared by the client (endpoints, leader hints) and
 * the CLI (`--peers`, `--endpoints`) so every address in the system obeys one grammar.
 */
export function parseHostPort(text: string): HostPortResult {
  const colon = text.lastIndexOf(":");
  if (colon < 0) return fail(`'${text}' has no ':port'`);
  const host = text.slice(0, colon);
  const portText = text.slice(colon + 1);
  const hostIssue = hostProblem(host);
  if (hostIssue !== null) return fail(`'${text}': ${hostIssue}`);
  if (!/^[0-9]+$/.test(portText)) return fail(`'${text}': port '${portText}' is not a number`);
  const port = Number(portText);
  if (port < 1 || port > MAX_PORT) return fail(`'${text}': port ${port} is not in 1..${MAX_PORT}`);
  return { ok: true, value: { host, port } };
}

function fail(problem: string): HostPortResult {
  return { ok: false, problem };
}

function hostProblem(host: string): string | null {
  if (host === "") return "host is empty";
  if (host.startsWith("[")) {
    return /^\[[0-9a-fA-F:.]+\]$/.test(host)
      ? null
      : `host '${host}' is not a bracketed IPv6 address`;
  }
  if (host.includes(":")) return `IPv6 host '${host}' must be written in brackets ([::1]:port)`;
  if (!/^[A-Za-z0-9._-]+$/.test(host))
    return `host '${host}' has characters a host name cannot have`;
  return null;
}

/**
 * The endpoints a client may use, plus the leader it last saw. Kept deliberately small:
 * try the leader if one is known, otherwise walk the list round-robin from wherever the
 * last failure left off, so a dead node is not retried before every other one was.
 */
export class EndpointSet {
  private readonly endpoints: string[];
  private leader: string | undefined;
  private cursor = 0;
  private readCursor = 0;

  /** @param endpoints at least one `host:port`, already validated */
  constructor(endpoints: readonly string[]) {
    this.endpoints = [...new Set(endpoints)];
  }

  /** Every endpoint known so far, including leaders learned from redirects. */
  all(): readonly string[] {
    return this.endpoints;
  }

  /** The endpoint the next attempt should use. */
  next(): string {
    return this.leader ?? (this.endpoints[this.cursor] as string);
  }

  /** The endpoint for the next spread read: every endpoint in turn. */
  spread(): string {
    const endpoint = this.endpoints[this.readCursor % this.endpoints.length] as string;
    this.readCursor = (this.readCursor + 1) % this.endpoints.length;
    return endpoint;
  }

  /** A call succeeded here: whoever answered a leader-only call is the leader. */
  succeeded(endpoint: string): void {
    this.leader = endpoint;
  }

  /** A node named `hint` as the leader; believe it, and remember it if it is new. */
  redirect(hint: string): void {
    if (!this.endpoints.includes(hint)) this.endpoints.push(hint);
    this.leader = hint;
  }

  /** `endpoint` could not serve: forget it as leader and move on to the one after it. */
  failed(endpoint: string): void {
    if (this.leader === endpoint) this.leader = undefined;
    const index = this.endpoints.indexOf(endpoint);
    this.cursor = (index + 1) % this.endpoints.length;
  }
}
