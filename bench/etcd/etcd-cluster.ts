/**
 * A throwaway 3-member etcd cluster on 127.0.0.1 with default durability (its WAL is
 * fsynced before a write is acknowledged) and default Raft timing (heartbeat 100 ms,
 * election 1000 ms randomized up to 2000 ms; dfs defaults to [500, 1000) ms, so the
 * failover comparison is of defaults). Data dirs live under one temp dir on the same
 * disk as the dfs cluster's; `destroy()` kills the members and removes it. With a
 * certificates directory from `dfs certs init`, client and peer URLs are https with
 * client certificates required on both (etcd's `--client-cert-auth` and
 * `--peer-client-cert-auth`), the same setup the dfs TLS comparison uses.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { createWriteStream, readFileSync, type WriteStream } from "node:fs";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type ChannelCredentials, credentials } from "@grpc/grpc-js";
import { CERT_FILES, freePorts, waitFor } from "../../src/cluster/index.ts";
import { type EtcdLogin, EtcdTarget, type EtcdTimeouts } from "./etcd-target.ts";
import type { MemberStatus } from "./etcd-wire.ts";

/** One etcd member process. */
interface Member {
  readonly name: string;
  readonly clientAddress: string;
  /** Its command line (without the binary), the same at every start. */
  readonly args: readonly string[];
  proc: ChildProcess | null;
  log: WriteStream;
}

/** A member stopped with SIGTERM gets this long to finish before SIGKILL. */
const STOP_GRACE_MS = 10_000;

/** A running etcd cluster; always `destroy()` it. */
export class EtcdCluster {
  private constructor(
    private readonly binary: string,
    private readonly members: Member[],
    private readonly root: string,
    /** How clients reach the members (TLS with the client certificate, or plain). */
    private readonly clientCredentials: ChannelCredentials,
  ) {}

  /**
   * Starts `size` members with `binary` and waits until they agree on a leader; with
   * `certsDir` (from `dfs certs init --nodes size`), mutual TLS on both URLs.
   */
  static async start(binary: string, size = 3, certsDir?: string): Promise<EtcdCluster> {
    const root = await mkdtemp(join(tmpdir(), "etcd-bench-"));
    const ports = await freePorts(size * 2);
    const names = Array.from({ length: size }, (_, i) => `m${i + 1}`);
    const scheme = certsDir === undefined ? "http" : "https";
    const peerUrl = (i: number): string => `${scheme}://127.0.0.1:${ports[size + i]}`;
    const initialCluster = names.map((n, i) => `${n}=${peerUrl(i)}`).join(",");
    const token = `bench-${process.pid}-${Date.now()}`;
    const members = names.map((name, i) => {
      const clientUrl = `${scheme}://127.0.0.1:${ports[i]}`;
      const args = [
        `--name=${name}`,
        `--data-dir=${join(root, name)}`,
        `--listen-client-urls=${clientUrl}`,
        `--advertise-client-urls=${clientUrl}`,
        `--listen-peer-urls=${peerUrl(i)}`,
        `--initial-advertise-peer-urls=${peerUrl(i)}`,
        `--initial-cluster=${initialCluster}`,
        "--initial-cluster-state=new",
        `--initial-cluster-token=${token}`,
        "--heartbeat-interval=100",
        "--election-timeout=1000",
        "--logger=zap",
        "--log-level=warn",
        ...(certsDir === undefined ? [] : etcdTlsArgs(certsDir, i + 1)),
      ];
      const log = createWriteStream(join(root, `${name}.log`));
      return { name, clientAddress: `127.0.0.1:${ports[i]}`, args, proc: null, log };
    });
    const cluster = new EtcdCluster(binary, members, root, etcdClientCredentials(certsDir));
    for (const member of members) cluster.launch(member);
    try {
      await cluster.waitForLeader();
    } catch (err) {
      const logs = await cluster.logTails();
      await cluster.destroy();
      throw new Error(`${err instanceof Error ? err.message : String(err)}\n${logs}`);
    }
    return cluster;
  }

  /** Every member's client address (`host:port`). */
  endpoints(): string[] {
    return this.members.map((m) => m.clientAddress);
  }

  /** Pids of the members still running. */
  pids(): number[] {
    return this.members.flatMap((m) => (m.proc?.pid === undefined ? [] : [m.proc.pid]));
  }

  /** Running members by name, with their pids. */
  processes(): { name: string; pid: number }[] {
    return this.members.flatMap((m) =>
      m.proc?.pid === undefined ? [] : [{ name: m.name, pid: m.proc.pid }],
    );
  }

  /** The member name (`m1`, ...) serving client address `address`. */
  nameOf(address: string): string {
    return this.members.find((m) => m.clientAddress === address)?.name ?? address;
  }

  /**
   * Waits until every running member reports the same leader; returns the leader's
   * client address.
   */
  async waitForLeader(timeoutMs = 20_000): Promise<string> {
    const probe = new EtcdTarget(
      this.endpoints(),
      { timeoutMs: 1000, attemptTimeoutMs: 1000 },
      this.clientCredentials,
    );
    try {
      return await waitFor(
        "an etcd leader",
        async () => {
          const running = this.members.filter((m) => m.proc !== null);
          const answers = await Promise.all(
            running.map((m) => probe.status(m.clientAddress, 1000).catch(() => undefined)),
          );
          const statuses = answers.filter((s): s is MemberStatus => s !== undefined);
          if (statuses.length < running.length) return undefined;
          const leader = statuses[0]?.leader;
          if (leader === undefined || leader === "0") return undefined;
          if (!statuses.every((s) => s.leader === leader)) return undefined;
          const index = statuses.findIndex((s) => s.memberId === leader);
          return index < 0 ? undefined : running[index]?.clientAddress;
        },
        timeoutMs,
      );
    } finally {
      probe.close();
    }
  }

  /**
   * A target whose first endpoint is the current leader (logged in as `login` if given);
   * with `spreadReads`, its gets go round-robin over every member.
   */
  async target(
    timeouts: EtcdTimeouts,
    login?: EtcdLogin,
    spreadReads = false,
  ): Promise<EtcdTarget> {
    const leader = await this.waitForLeader();
    const others = this.endpoints().filter((e) => e !== leader);
    return new EtcdTarget(
      [leader, ...others],
      timeouts,
      this.clientCredentials,
      login,
      spreadReads,
    );
  }

  /**
   * Sends `signal` (default SIGKILL) to the member serving `address` and waits until it
   * is gone; after SIGTERM (etcd's graceful stop: a leader first hands its leadership
   * over) it gets SIGKILL if it is still there after {@link STOP_GRACE_MS}.
   */
  async kill(address: string, signal: NodeJS.Signals = "SIGKILL"): Promise<void> {
    const member = this.members.find((m) => m.clientAddress === address);
    const proc = member?.proc;
    if (member === undefined || proc === null || proc === undefined) return;
    member.proc = null;
    if (proc.exitCode !== null || proc.signalCode !== null) return;
    const timer = setTimeout(() => proc.kill("SIGKILL"), STOP_GRACE_MS);
    await new Promise<void>((done) => {
      proc.once("exit", () => done());
      proc.kill(signal);
    });
    clearTimeout(timer);
  }

  /**
   * Starts the stopped member serving `address` again on its data dir and waits until
   * every running member, it included, agrees on a leader.
   */
  async restart(address: string): Promise<void> {
    const member = this.members.find((m) => m.clientAddress === address);
    if (member === undefined || member.proc !== null) return;
    this.launch(member);
    await this.waitForLeader();
  }

  /** Spawns `member`'s process, its warnings appended to its log. */
  private launch(member: Member): void {
    const proc = spawn(this.binary, member.args, { stdio: ["ignore", "ignore", "pipe"] });
    proc.stderr?.pipe(member.log, { end: false });
    member.proc = proc;
  }

  /** The last lines each member logged (warnings and errors only), for failure messages. */
  async logTails(lines = 5): Promise<string> {
    const tails = await Promise.all(
      this.members.map(async (m) => {
        const text = await readFile(join(this.root, `${m.name}.log`), "utf8").catch(() => "");
        return `--- etcd ${m.name} ---\n${text.trimEnd().split("\n").slice(-lines).join("\n")}`;
      }),
    );
    return tails.join("\n");
  }

  /** Kills every member and removes the data dirs. */
  async destroy(): Promise<void> {
    await Promise.all(this.members.map((m) => this.kill(m.clientAddress)));
    await Promise.all(
      this.members.map((m) => new Promise<void>((done) => m.log.end(() => done()))),
    );
    await rm(this.root, { recursive: true, force: true });
  }
}

/** etcd's flags for mutual TLS on client and peer URLs with member `id`'s node certificate. */
function etcdTlsArgs(dir: string, id: number): string[] {
  const cert = join(dir, CERT_FILES.nodeCert(id));
  const key = join(dir, CERT_FILES.nodeKey(id));
  const ca = join(dir, CERT_FILES.caCert);
  return [
    `--cert-file=${cert}`,
    `--key-file=${key}`,
    "--client-cert-auth",
    `--trusted-ca-file=${ca}`,
    `--peer-cert-file=${cert}`,
    `--peer-key-file=${key}`,
    "--peer-client-cert-auth",
    `--peer-trusted-ca-file=${ca}`,
  ];
}

/** The benchmark client's credentials: client.crt of `dir`, or plain text. */
function etcdClientCredentials(dir: string | undefined): ChannelCredentials {
  if (dir === undefined) return credentials.createInsecure();
  const file = (name: string) => readFileSync(join(dir, name));
  return credentials.createSsl(
    file(CERT_FILES.caCert),
    file(CERT_FILES.clientKey),
    file(CERT_FILES.clientCert),
  );
}
