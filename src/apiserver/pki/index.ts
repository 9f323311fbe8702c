// Certificates for `k8ts server`: a cluster CA, the API server's serving certificate and the admin
// client certificate, kept as PEM files under <data-dir>/pki.
//
// Cold start matters: when the files exist and are still good, ensurePki() only reads and checks them
// with node:crypto (well under a few milliseconds). @peculiar/x509 (about 200 ms to load) is imported
// lazily, only when something has to be generated.

import { X509Certificate, createPrivateKey, type KeyObject, type webcrypto } from 'node:crypto';
import { mkdir, readFile } from 'node:fs/promises';
import { writeFileAtomic } from './files.ts';
import { isIP } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import type * as X509 from '@peculiar/x509';

type CryptoKey = webcrypto.CryptoKey;
type CryptoKeyPair = webcrypto.CryptoKeyPair;
type Algorithm = webcrypto.Algorithm;

export interface EnsurePkiOptions {
  /** Directory holding the PEM files, e.g. `<data-dir>/pki`. Created (mode 0700) if missing. */
  dir: string;
  /** Extra subject alternative names (`--tls-san`): IP literals become IP SANs, anything else DNS SANs. */
  hostnames?: string[];
  /** The address the API server binds to; added as an IP SAN when it is a specific IP. */
  bindAddress?: string;
  /** Clock, for tests. */
  now?: () => Date;
}

export interface Pki {
  dir: string;
  caPath: string;
  caKeyPath: string;
  servingCertPath: string;
  servingKeyPath: string;
  adminCertPath: string;
  adminKeyPath: string;

  caCertPem: string;
  /** The CA's private key; needed to issue further certificates (node agents, `k8ts kubeconfig`). */
  caKeyPem: string;
  servingCertPem: string;
  servingKeyPem: string;
  adminCertPem: string;
  adminKeyPem: string;

  /** The SANs the serving certificate was required to carry on this start. */
  sans: { dns: string[]; ips: string[] };
  /** What this call generated (true) rather than reused from disk. Rewrite the admin kubeconfig when `admin` is true. */
  generated: { ca: boolean; serving: boolean; admin: boolean };
}

export const CA_COMMON_NAME = 'k8ts-ca';
export const SERVING_COMMON_NAME = 'kube-apiserver';
export const ADMIN_USER = 'kubernetes-admin';
export const ADMIN_GROUP = 'system:masters';

const DAY_MS = 24 * 60 * 60 * 1000;
const CA_VALIDITY_DAYS = 3650;
const LEAF_VALIDITY_DAYS = 365;
/** Leaf certificates closer than this to expiry are reissued at start. */
const RENEW_BEFORE_DAYS = 30;
/** notBefore is backdated a little to tolerate clock skew between hosts (client-go does the same). */
const BACKDATE_MS = 60 * 60 * 1000;

const OID_SERVER_AUTH = '1.3.6.1.5.5.7.3.1';
const OID_CLIENT_AUTH = '1.3.6.1.5.5.7.3.2';

const FILES = {
  ca: 'ca.crt',
  caKey: 'ca.key',
  serving: 'apiserver.crt',
  servingKey: 'apiserver.key',
  admin: 'admin.crt',
  adminKey: 'admin.key',
} as const;

/** Generate on first start, reuse afterwards; reissue leaf certificates that are missing, broken, expiring or lack a SAN. */
export async function ensurePki(opts: EnsurePkiOptions): Promise<Pki> {
  const now = opts.now ?? (() => new Date());
  const dir = path.resolve(opts.dir);
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const p = (name: string): string => path.join(dir, name);
  const sans = requiredSans(opts.hostnames ?? [], opts.bindAddress);
  const generated = { ca: false, serving: false, admin: false };

  // --- CA ---------------------------------------------------------------------------------------
  let ca = await loadCa(p(FILES.ca), p(FILES.caKey), now());
  if (!ca) {
    const issued = await createCa(now());
    await writeFileAtomic(p(FILES.caKey), issued.keyPem, 0o600);
    await writeFileAtomic(p(FILES.ca), issued.certPem, 0o644);
    ca = parsePair(issued.certPem, issued.keyPem);
    generated.ca = true;
  }

  // --- serving certificate ------------------------------------------------------------------------
  let serving = generated.ca ? undefined : await loadLeaf(p(FILES.serving), p(FILES.servingKey), ca, now());
  if (!serving || !hasSans(serving.cert, sans)) {
    const issued = await issueCertificate(ca, {
      subject: [{ CN: [SERVING_COMMON_NAME] }],
      dnsNames: sans.dns,
      ipAddresses: sans.ips,
      extKeyUsage: [OID_SERVER_AUTH],
      validityDays: LEAF_VALIDITY_DAYS,
      now: now(),
    });
    await writeFileAtomic(p(FILES.servingKey), issued.keyPem, 0o600);
    await writeFileAtomic(p(FILES.serving), issued.certPem, 0o644);
    serving = { certPem: issued.certPem, keyPem: issued.keyPem, cert: new X509Certificate(issued.certPem) };
    generated.serving = true;
  }

  // --- admin client certificate -------------------------------------------------------------------
  let admin = generated.ca ? undefined : await loadLeaf(p(FILES.admin), p(FILES.adminKey), ca, now());
  if (!admin) {
    const issued = await issueClientCertificate(
      { caCertPem: ca.certPem, caKeyPem: ca.keyPem },
      { commonName: ADMIN_USER, organizations: [ADMIN_GROUP], now: now() },
    );
    await writeFileAtomic(p(FILES.adminKey), issued.keyPem, 0o600);
    await writeFileAtomic(p(FILES.admin), issued.certPem, 0o644);
    admin = { certPem: issued.certPem, keyPem: issued.keyPem, cert: new X509Certificate(issued.certPem) };
    generated.admin = true;
  }

  return {
    dir,
    caPath: p(FILES.ca),
    caKeyPath: p(FILES.caKey),
    servingCertPath: p(FILES.serving),
    servingKeyPath: p(FILES.servingKey),
    adminCertPath: p(FILES.admin),
    adminKeyPath: p(FILES.adminKey),
    caCertPem: ca.certPem,
    caKeyPem: ca.keyPem,
    servingCertPem: serving.certPem,
    servingKeyPem: serving.keyPem,
    adminCertPem: admin.certPem,
    adminKeyPem: admin.keyPem,
    sans,
    generated,
  };
}

export interface IssueClientCertificateOptions {
  /** Becomes the user name (CN). */
  commonName: string;
  /** Become the groups (O). */
  organizations?: string[];
  validityDays?: number;
  now?: Date;
}

/** Issue a client certificate (clientAuth) signed by the cluster CA, e.g. for a node agent or an extra admin. */
export async function issueClientCertificate(
  ca: { caCertPem: string; caKeyPem: string },
  opts: IssueClientCertificateOptions,
): Promise<{ certPem: string; keyPem: string }> {
  if (!opts.commonName) throw new Error('client certificate needs a common name');
  const subject: X509.JsonName = (opts.organizations ?? []).map((o) => ({ O: [o] }));
  subject.push({ CN: [opts.commonName] });
  return issueCertificate(parsePair(ca.caCertPem, ca.caKeyPem), {
    subject,
    extKeyUsage: [OID_CLIENT_AUTH],
    validityDays: opts.validityDays ?? LEAF_VALIDITY_DAYS,
    now: opts.now ?? new Date(),
  });
}

/** The SANs the serving certificate must carry for these options (exported for tests and diagnostics). */
export function requiredSans(hostnames: readonly string[], bindAddress?: string): { dns: string[]; ips: string[] } {
  const dns = new Set<string>([
    'localhost',
    'kubernetes',
    'kubernetes.default',
    'kubernetes.default.svc',
    'kubernetes.default.svc.cluster.local',
  ]);
  const host = normalizeDnsName(os.hostname());
  if (host) dns.add(host);
  const ips = new Set<string>(['127.0.0.1', '::1']);
  const bind = bindAddress ? stripBrackets(bindAddress.trim()) : '';
  if (isIP(bind) && bind !== '0.0.0.0' && bind !== '::') ips.add(bind);
  for (const raw of hostnames) {
    const h = stripBrackets(raw.trim());
    if (!h) continue;
    if (isIP(h)) {
      ips.add(h);
      continue;
    }
    const name = normalizeDnsName(h);
    if (!name) throw new Error(`invalid TLS subject alternative name ${JSON.stringify(raw)}`);
    dns.add(name);
  }
  return { dns: [...dns], ips: [...ips] };
}

// ------------------------------------------------------------------------------------------------
// Loading and checking (node:crypto only)

interface Pair {
  certPem: string;
  keyPem: string;
  cert: X509Certificate;
  key: KeyObject;
}

interface Leaf {
  certPem: string;
  keyPem: string;
  cert: X509Certificate;
}

function parsePair(certPem: string, keyPem: string): Pair {
  const cert = new X509Certificate(certPem);
  const key = createPrivateKey(keyPem);
  if (!cert.checkPrivateKey(key)) throw new Error('private key does not match certificate');
  return { certPem, keyPem, cert, key };
}

async function readOptional(file: string): Promise<string | undefined> {
  try {
    return await readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

/**
 * The CA is the trust root of every credential handed out, so it is never replaced silently: it is
 * generated only when ca.crt does not exist, and any other problem with it is an error.
 * (An operator may place their own ca.crt/ca.key, EC or RSA, before the first start.)
 */
async function loadCa(certFile: string, keyFile: string, now: Date): Promise<Pair | undefined> {
  const [certPem, keyPem] = await Promise.all([readOptional(certFile), readOptional(keyFile)]);
  if (certPem === undefined) return undefined; // key alone: a first start interrupted between the two writes
  const hint = `; fix it or remove ${path.dirname(certFile)} to generate a new cluster CA (every issued credential becomes invalid)`;
  if (keyPem === undefined) throw new Error(`${certFile} exists but ${keyFile} is missing${hint}`);
  let pair: Pair;
  try {
    pair = parsePair(certPem, keyPem);
  } catch (err) {
    throw new Error(`cannot use cluster CA ${certFile}: ${(err as Error).message}${hint}`, { cause: err });
  }
  if (!pair.cert.ca) throw new Error(`${certFile} is not a CA certificate${hint}`);
  if (pair.cert.validToDate.getTime() <= now.getTime()) {
    throw new Error(`cluster CA ${certFile} expired on ${pair.cert.validToDate.toISOString()}${hint}`);
  }
  return pair;
}

/** A leaf that is missing, unreadable, not matching its key, not issued by the CA or near expiry reads as undefined (reissue). */
async function loadLeaf(certFile: string, keyFile: string, ca: Pair, now: Date): Promise<Leaf | undefined> {
  const [certPem, keyPem] = await Promise.all([readOptional(certFile), readOptional(keyFile)]);
  if (certPem === undefined || keyPem === undefined) return undefined;
  try {
    const { cert } = parsePair(certPem, keyPem);
    if (!cert.checkIssued(ca.cert) || !cert.verify(ca.cert.publicKey)) return undefined;
    if (cert.validToDate.getTime() - now.getTime() < RENEW_BEFORE_DAYS * DAY_MS) return undefined;
    if (cert.validFromDate.getTime() > now.getTime()) return undefined;
    return { certPem, keyPem, cert };
  } catch {
    return undefined;
  }
}

function hasSans(cert: X509Certificate, sans: { dns: string[]; ips: string[] }): boolean {
  const present = new Set(
    splitSubjectAltName(cert.subjectAltName ?? '')
      .filter((e) => e.startsWith('DNS:'))
      .map((e) => e.slice(4).toLowerCase()),
  );
  return sans.dns.every((d) => present.has(d)) && sans.ips.every((ip) => cert.checkIP(ip) !== undefined);
}

/** Node renders SANs as `DNS:a, IP Address:1.2.3.4`, JSON-quoting entries that contain special characters. */
function splitSubjectAltName(s: string): string[] {
  const out: string[] = [];
  const re = /([A-Za-z ]+):("(?:[^"\\]|\\.)*"|[^,]*)(?:, |$)/g;
  for (let m = re.exec(s); m !== null && m[0] !== ''; m = re.exec(s)) {
    const value = m[2]!.startsWith('"') ? (JSON.parse(m[2]!) as string) : m[2]!;
    out.push(`${m[1]!}:${value}`);
  }
  return out;
}

function stripBrackets(s: string): string {
  return s.startsWith('[') && s.endsWith(']') ? s.slice(1, -1) : s;
}

/** Lower-cased DNS name (wildcard label allowed first), or undefined if it cannot be a dNSName SAN. */
function normalizeDnsName(raw: string): string | undefined {
  const name = raw.trim().toLowerCase().replace(/\.$/, '');
  if (!name || name.length > 253) return undefined;
  const labels = name.split('.');
  const ok = labels.every(
    (l, i) => (i === 0 && l === '*' && labels.length > 1) || /^[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?$/.test(l),
  );
  return ok ? name : undefined;
}

// ------------------------------------------------------------------------------------------------
// Generation (@peculiar/x509 over WebCrypto, loaded on demand)

type X509Module = typeof X509;
let x509Loaded: Promise<X509Module> | undefined;

function loadX509(): Promise<X509Module> {
  x509Loaded ??= (async () => {
    // @peculiar/x509 uses tsyringe, which refuses to load without a Reflect metadata polyfill.
    await import('reflect-metadata');
    const mod = await import('@peculiar/x509');
    mod.cryptoProvider.set(globalThis.crypto);
    return mod;
  })();
  return x509Loaded;
}

const EC_P256 = { name: 'ECDSA', namedCurve: 'P-256' } as const;

async function newKeyPair(): Promise<CryptoKeyPair> {
  return globalThis.crypto.subtle.generateKey(EC_P256, true, ['sign', 'verify']);
}

async function privateKeyPem(key: CryptoKey): Promise<string> {
  const der = Buffer.from(await globalThis.crypto.subtle.exportKey('pkcs8', key));
  return createPrivateKey({ key: der, format: 'der', type: 'pkcs8' }).export({ type: 'pkcs8', format: 'pem' }) as string;
}

function certPem(cert: X509.X509Certificate): string {
  return `${cert.toString('pem').replace(/\r\n/g, '\n').trimEnd()}\n`;
}

/** The WebCrypto signing algorithm and key for a CA private key (EC P-256/P-384/P-521 or RSA). */
async function signingKey(key: KeyObject): Promise<{ algorithm: Algorithm; key: CryptoKey }> {
  const der = key.export({ type: 'pkcs8', format: 'der' });
  if (key.asymmetricKeyType === 'ec') {
    const curve = { prime256v1: 'P-256', secp384r1: 'P-384', secp521r1: 'P-521' }[
      key.asymmetricKeyDetails?.namedCurve ?? ''
    ];
    if (!curve) throw new Error(`unsupported CA key curve ${key.asymmetricKeyDetails?.namedCurve ?? '?'}`);
    const hash = { 'P-256': 'SHA-256', 'P-384': 'SHA-384', 'P-521': 'SHA-512' }[curve];
    const imported = await globalThis.crypto.subtle.importKey('pkcs8', der, { name: 'ECDSA', namedCurve: curve }, false, [
      'sign',
    ]);
    return { algorithm: { name: 'ECDSA', hash } as Algorithm, key: imported };
  }
  if (key.asymmetricKeyType === 'rsa') {
    const algorithm = { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' };
    const imported = await globalThis.crypto.subtle.importKey('pkcs8', der, algorithm, false, ['sign']);
    return { algorithm, key: imported };
  }
  throw new Error(`unsupported CA key type ${key.asymmetricKeyType ?? '?'}`);
}

async function createCa(now: Date): Promise<{ certPem: string; keyPem: string }> {
  const x509 = await loadX509();
  const keys = await newKeyPair();
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    name: [{ CN: [CA_COMMON_NAME] }],
    keys,
    signingAlgorithm: { name: 'ECDSA', hash: 'SHA-256' } as Algorithm,
    notBefore: new Date(now.getTime() - BACKDATE_MS),
    notAfter: new Date(now.getTime() + CA_VALIDITY_DAYS * DAY_MS),
    extensions: [
      new x509.BasicConstraintsExtension(true, undefined, true),
      new x509.KeyUsagesExtension(
        x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign | x509.KeyUsageFlags.digitalSignature,
        true,
      ),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  return { certPem: certPem(cert), keyPem: await privateKeyPem(keys.privateKey) };
}

interface LeafRequest {
  subject: X509.JsonName;
  dnsNames?: string[];
  ipAddresses?: string[];
  extKeyUsage: string[];
  validityDays: number;
  now: Date;
}

async function issueCertificate(ca: Pair, req: LeafRequest): Promise<{ certPem: string; keyPem: string }> {
  const x509 = await loadX509();
  const [keys, signer] = await Promise.all([newKeyPair(), signingKey(ca.key)]);
  const caCert = new x509.X509Certificate(ca.certPem);
  const caKeyId = caCert.getExtension(x509.SubjectKeyIdentifierExtension)?.keyId;
  const notAfter = Math.min(req.now.getTime() + req.validityDays * DAY_MS, caCert.notAfter.getTime());
  const extensions: X509.Extension[] = [
    new x509.BasicConstraintsExtension(false, undefined, true),
    new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment, true),
    new x509.ExtendedKeyUsageExtension(req.extKeyUsage, false),
    caKeyId
      ? new x509.AuthorityKeyIdentifierExtension(caKeyId, false)
      : await x509.AuthorityKeyIdentifierExtension.create(caCert.publicKey, false),
    await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
  ];
  const names = [
    ...(req.dnsNames ?? []).map((value) => ({ type: 'dns' as const, value })),
    ...(req.ipAddresses ?? []).map((value) => ({ type: 'ip' as const, value })),
  ];
  if (names.length > 0) extensions.push(new x509.SubjectAlternativeNameExtension(names, false));
  const cert = await x509.X509CertificateGenerator.create({
    subject: req.subject,
    issuer: caCert.subjectName, // the CA's subject, byte for byte
    notBefore: new Date(req.now.getTime() - BACKDATE_MS),
    notAfter: new Date(notAfter),
    publicKey: keys.publicKey,
    signingKey: signer.key,
    signingAlgorithm: signer.algorithm,
    extensions,
  });
  return { certPem: certPem(cert), keyPem: await privateKeyPem(keys.privateKey) };
}

// ------------------------------------------------------------------------------------------------

