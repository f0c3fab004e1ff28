/**
 * TLS flags and `dfs certs init` through the real CLI: every unusable piece of material
 * is one line and exit 2 before a node touches its data dir; the generated files have
 * the identities, usages and permissions docs/security.md promises.
 */
import assert from "node:assert/strict";
import { X509Certificate } from "node:crypto";
import { existsSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { assertOneLineError, runDfs } from "./run-dfs.ts";

const PEERS = "1@127.0.0.1:7001,2@127.0.0.1:7002,3@127.0.0.1:7003";

describe("TLS flags and dfs certs init", () => {
  let root: string;
  let certs: string;
  const file = (name: string) => join(certs, name);
  const server = (dataDir: string, extra: string[]) => [
    "server",
    ...["--id", "1", "--port", "7001", "--peers", PEERS, "--data-dir", dataDir],
    ...extra,
  ];

  before(async () => {
    root = await mkdtemp(join(tmpdir(), "dfs-tls-flags-"));
    certs = join(root, "certs");
    const run = await runDfs([
      "certs",
      "init",
      certs,
      "--nodes",
      "2",
      "--hosts",
      "db.example,10.9.8.7",
    ]);
    assert.equal(run.code, 0, run.stderr);
    writeFileSync(join(root, "not-pem.txt"), "hello\n");
  });
  after(() => rm(root, { recursive: true, force: true }));

  test("certs init writes a CA, node and client certificates with the documented identities", () => {
    const ca = new X509Certificate(readFileSync(file("ca.crt")));
    assert.equal(ca.ca, true);
    for (const id of [1, 2]) {
      const cert = new X509Certificate(readFileSync(file(`node${id}.crt`)));
      assert.equal(cert.subject, `CN=dfs-node-${id}`);
      assert.ok(cert.checkIssued(ca) && cert.verify(ca.publicKey));
      assert.deepEqual(cert.keyUsage?.sort(), ["1.3.6.1.5.5.7.3.1", "1.3.6.1.5.5.7.3.2"]);
      for (const name of [
        "DNS:localhost",
        "IP Address:127.0.0.1",
        "DNS:db.example",
        "IP Address:10.9.8.7",
      ]) {
        assert.ok(cert.subjectAltName?.includes(name), `${name} in ${cert.subjectAltName}`);
      }
    }
    const client = new X509Certificate(readFileSync(file("client.crt")));
    assert.equal(client.subject, "CN=dfs-client");
    assert.deepEqual(client.keyUsage, ["1.3.6.1.5.5.7.3.2"]);
    for (const key of ["ca.key", "node1.key", "node2.key", "client.key"]) {
      assert.equal(statSync(file(key)).mode & 0o777, 0o600, key);
    }
    assert.equal(existsSync(file("node3.crt")), false);
  });

  test("certs init never overwrites an existing CA", async () => {
    const before = readFileSync(file("ca.crt"));
    const run = await runDfs(["certs", "init", certs, "--nodes", "2"]);
    assertOneLineError(run, 2, /ca\.crt already exists; pick an empty directory/);
    assert.deepEqual(readFileSync(file("ca.crt")), before);
  });

  test("server: unusable TLS material is one line, exit 2, and no data dir", async () => {
    const dataDir = join(root, "never-created");
    const cases: [string[], RegExp][] = [
      [["--peer-cert", file("node1.crt")], /--peer-cert also needs --peer-key and --peer-ca/],
      [
        [
          "--peer-cert",
          join(root, "missing.crt"),
          "--peer-key",
          file("node1.key"),
          "--peer-ca",
          file("ca.crt"),
        ],
        /--peer-cert .*missing\.crt: cannot read it \(no such file\)/,
      ],
      [
        [
          "--peer-cert",
          file("node1.crt"),
          "--peer-key",
          file("node1.key"),
          "--peer-ca",
          join(root, "not-pem.txt"),
        ],
        /--peer-ca .*not-pem\.txt: not a PEM file/,
      ],
      [
        [
          "--peer-cert",
          file("node1.crt"),
          "--peer-key",
          file("node2.key"),
          "--peer-ca",
          file("ca.crt"),
        ],
        /the peer key does not belong to its certificate/,
      ],
      [
        ["--cert", file("node1.crt"), "--key", file("ca.key")],
        /the client-port key does not belong/,
      ],
      [["--client-ca", file("ca.crt")], /--client-ca also needs --cert and --key/],
      [
        [
          "--peer-cert",
          file("node2.crt"),
          "--peer-key",
          file("node2.key"),
          "--peer-ca",
          file("ca.crt"),
        ],
        /the peer certificate's CN is 'dfs-node-2' but this node is dfs-node-1/,
      ],
    ];
    for (const [flags, message] of cases) {
      const run = await runDfs(server(dataDir, flags));
      assertOneLineError(run, 2, message);
      assert.equal(existsSync(dataDir), false, `data dir created for ${flags.join(" ")}`);
    }
  });

  test("client commands: --cert needs --key, unreadable files are usage errors", async () => {
    const get = ["get", "k", "--endpoints", "127.0.0.1:1", "--timeout", "500"];
    assertOneLineError(
      await runDfs([...get, "--cert", file("client.crt")]),
      2,
      /--cert also needs --key/,
    );
    assertOneLineError(
      await runDfs([...get, "--cacert", join(root, "nope.crt")]),
      2,
      /--cacert .*nope\.crt: cannot read it \(no such file\)/,
    );
  });
});
