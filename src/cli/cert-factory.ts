/**
 * Makes the certificates of a dev or test cluster: one CA, one certificate per node
 * (usable as server AND client certificate on the peer port, and as the client port's
 * server certificate) and one client certificate for the CLI. ECDSA P-256 keys from
 * Node's WebCrypto, X.509 encoding by `@peculiar/x509`: no hand-written ASN.1, and key
 * generation is native (milliseconds), unlike pure-JS RSA.
 */
import "reflect-metadata"; // @peculiar/x509 resolves its ASN.1 providers through tsyringe, which needs it
import { webcrypto } from "node:crypto";
import * as x509 from "@peculiar/x509";
import { nodeCommonName } from "../api/index.ts";

type Crypto = webcrypto.Crypto;
type CryptoKey = webcrypto.CryptoKey;
type CryptoKeyPair = webcrypto.CryptoKeyPair;

/** Hosts every generated server certificate names, so loopback clusters verify. */
export const DEFAULT_CERT_HOSTS: readonly string[] = ["localhost", "127.0.0.1", "::1"];

/** Common name of the generated client certificate. */
export const CLIENT_COMMON_NAME = "dfs-client";

/** Validity of generated certificates: long enough for a dev cluster, short enough to notice. */
const VALID_DAYS = 825;

const ALGORITHM = { name: "ECDSA", namedCurve: "P-256", hash: "SHA-256" } as const;

/** One certificate and its private key, PEM-encoded. */
export interface PemPair {
  readonly cert: string;
  readonly key: string;
}

/** Everything `dfs certs init` writes. */
export interface ClusterCerts {
  readonly ca: PemPair;
  /** Node certificates by member id (1..N). */
  readonly nodes: ReadonlyMap<number, PemPair>;
  readonly client: PemPair;
}

/** Options of {@link makeClusterCerts}. */
export interface CertOptions {
  /** Members 1..nodes get a certificate each. */
  readonly nodes: number;
  /** Extra DNS names or IP addresses for the node certificates' SANs. */
  readonly hosts?: readonly string[];
  /** Common name of the CA (distinct CAs in tests get distinct names). */
  readonly caName?: string;
}

/** Generates a fresh CA and the node and client certificates it signs. */
export async function makeClusterCerts(options: CertOptions): Promise<ClusterCerts> {
  const crypto: Crypto = webcrypto;
  const caKeys = await generateKeys(crypto);
  const caName = `CN=${options.caName ?? "dfs cluster CA"}`;
  const { notBefore, notAfter } = validity();
  const caCert = await x509.X509CertificateGenerator.createSelfSigned(
    {
      name: caName,
      keys: caKeys,
      notBefore,
      notAfter,
      signingAlgorithm: ALGORITHM,
      extensions: [
        new x509.BasicConstraintsExtension(true, 0, true),
        new x509.KeyUsagesExtension(
          x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign,
          true,
        ),
        await x509.SubjectKeyIdentifierExtension.create(caKeys.publicKey, false, crypto),
      ],
    },
    crypto,
  );
  const issuer = { cert: caCert, keys: caKeys, crypto };
  const hosts = [...DEFAULT_CERT_HOSTS, ...(options.hosts ?? [])];
  const nodes = new Map<number, PemPair>();
  for (let id = 1; id <= options.nodes; id++) {
    nodes.set(id, await leaf(issuer, nodeCommonName(id), hosts, true));
  }
  return {
    ca: { cert: caCert.toString("pem"), key: await keyPem(caKeys.privateKey, crypto) },
    nodes,
    client: await leaf(issuer, CLIENT_COMMON_NAME, [], false),
  };
}

interface Issuer {
  readonly cert: x509.X509Certificate;
  readonly keys: CryptoKeyPair;
  readonly crypto: Crypto;
}

/** A certificate signed by the CA: server+client for nodes, client-only for the CLI. */
async function leaf(
  issuer: Issuer,
  commonName: string,
  hosts: readonly string[],
  server: boolean,
): Promise<PemPair> {
  const keys = await generateKeys(issuer.crypto);
  const { notBefore, notAfter } = validity();
  const usages = server
    ? [x509.ExtendedKeyUsage.serverAuth, x509.ExtendedKeyUsage.clientAuth]
    : [x509.ExtendedKeyUsage.clientAuth];
  const extensions: x509.Extension[] = [
    new x509.BasicConstraintsExtension(false, undefined, true),
    new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
    new x509.ExtendedKeyUsageExtension(usages, false),
    await x509.AuthorityKeyIdentifierExtension.create(issuer.keys.publicKey, false, issuer.crypto),
  ];
  if (hosts.length > 0) extensions.push(new x509.SubjectAlternativeNameExtension(sans(hosts)));
  const cert = await x509.X509CertificateGenerator.create(
    {
      subject: `CN=${commonName}`,
      issuer: issuer.cert.subject,
      publicKey: keys.publicKey,
      signingKey: issuer.keys.privateKey,
      notBefore,
      notAfter,
      signingAlgorithm: ALGORITHM,
      extensions,
    },
    issuer.crypto,
  );
  return { cert: cert.toString("pem"), key: await keyPem(keys.privateKey, issuer.crypto) };
}

/** SAN entries: IP addresses as `ip`, everything else as `dns`. */
function sans(hosts: readonly string[]): { type: "ip" | "dns"; value: string }[] {
  const unique = [...new Set(hosts)];
  return unique.map((host) => ({ type: isIp(host) ? "ip" : "dns", value: host }));
}

function isIp(host: string): boolean {
  return /^[0-9.]+$/.test(host) || host.includes(":");
}

function generateKeys(crypto: Crypto): Promise<CryptoKeyPair> {
  return crypto.subtle.generateKey(ALGORITHM, true, ["sign", "verify"]) as Promise<CryptoKeyPair>;
}

async function keyPem(key: CryptoKey, crypto: Crypto): Promise<string> {
  const der = await crypto.subtle.exportKey("pkcs8", key);
  return `${x509.PemConverter.encode(der, "PRIVATE KEY")}\n`;
}

/** Backdated by an hour so a peer whose clock is slightly behind still accepts it. */
function validity(): { notBefore: Date; notAfter: Date } {
  const now = Date.now();
  return {
    notBefore: new Date(now - 3600_000),
    notAfter: new Date(now + VALID_DAYS * 86_400_000),
  };
}
