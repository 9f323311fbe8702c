import { execFile } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import tls from 'node:tls';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { identityFromPeerCertificate, identityFromTlsSocket } from './client-identity.ts';
import { ensurePki, issueClientCertificate, type Pki } from './index.ts';
import { kubeconfigYaml, writeKubeconfig } from './kubeconfig.ts';

const KUBECTL = '/usr/bin/kubectl';

let tmp: string;
let pkiDir: string;
let pki: Pki;
let firstMs: number;
let server: https.Server;
let port: number;

beforeAll(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), 'k8ts-pki-'));
  pkiDir = path.join(tmp, 'data', 'pki');
  const t0 = performance.now();
  pki = await ensurePki({ dir: pkiDir });
  firstMs = performance.now() - t0;
  console.log(`pki: first-time generation took ${firstMs.toFixed(1)} ms`);

  server = https.createServer(
    { cert: pki.servingCertPem, key: pki.servingKeyPem, ca: pki.caCertPem, requestCert: true, rejectUnauthorized: false },
    (req, res) => {
      const socket = req.socket as tls.TLSSocket;
      res.setHeader('content-type', 'application/json');
      res.end(
        JSON.stringify({
          authorized: socket.authorized,
          peer: identityFromPeerCertificate(socket.getPeerCertificate()) ?? null,
          verified: identityFromTlsSocket(socket) ?? null,
        }),
      );
    },
  );
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as AddressInfo).port;
});

afterAll(async () => {
  await new Promise<void>((resolve) => server?.close(() => resolve()));
  if (tmp) await rm(tmp, { recursive: true, force: true });
});

interface Seen {
  authorized: boolean;
  peer: { user: string; groups: string[] } | null;
  verified: { user: string; groups: string[] } | null;
}

function get(opts: https.RequestOptions): Promise<Seen> {
  return new Promise((resolve, reject) => {
    const req = https.get({ host: '127.0.0.1', port, path: '/', agent: false, ...opts }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve(JSON.parse(body) as Seen));
    });
    req.on('error', reject);
  });
}

describe('ensurePki', () => {
  it('writes PEM files, keys with mode 0600, PKCS#8', async () => {
    for (const f of [pki.caKeyPath, pki.servingKeyPath, pki.adminKeyPath]) {
      expect((await stat(f)).mode & 0o777).toBe(0o600);
      expect(await readFile(f, 'utf8')).toMatch(/^-----BEGIN PRIVATE KEY-----\n/);
    }
    for (const f of [pki.caPath, pki.servingCertPath, pki.adminCertPath]) {
      expect(await readFile(f, 'utf8')).toMatch(/^-----BEGIN CERTIFICATE-----\n[\s\S]*-----END CERTIFICATE-----\n$/);
    }
    expect((await stat(pkiDir)).mode & 0o777).toBe(0o700);
    expect(pki.generated).toEqual({ ca: true, serving: true, admin: true });
    expect(firstMs).toBeLessThan(5000);
  });

  it('issues the expected certificates', () => {
    const ca = new X509Certificate(pki.caCertPem);
    const serving = new X509Certificate(pki.servingCertPem);
    const admin = new X509Certificate(pki.adminCertPem);
    expect(ca.ca).toBe(true);
    expect(ca.subject).toBe('CN=k8ts-ca');
    const caYears = (ca.validToDate.getTime() - Date.now()) / (365 * 86400_000);
    expect(caYears).toBeGreaterThan(9.9);
    expect(serving.ca).toBe(false);
    expect(serving.subject).toBe('CN=kube-apiserver');
    expect(serving.checkIssued(ca) && serving.verify(ca.publicKey)).toBe(true);
    expect(serving.keyUsage).toEqual(['1.3.6.1.5.5.7.3.1']);
    for (const h of ['localhost', 'kubernetes', 'kubernetes.default.svc.cluster.local', os.hostname().toLowerCase()]) {
      expect(serving.checkHost(h), h).toBe(h);
    }
    expect(serving.checkIP('127.0.0.1')).toBe('127.0.0.1');
    expect(serving.checkIP('::1')).toBeDefined();
    expect(admin.subject.split('\n').sort()).toEqual(['CN=kubernetes-admin', 'O=system:masters']);
    expect(admin.keyUsage).toEqual(['1.3.6.1.5.5.7.3.2']);
    expect(admin.checkIssued(ca) && admin.verify(ca.publicKey)).toBe(true);
  });
});

describe('mutual TLS with a real node:https server', () => {
  it('admin client certificate + CA: handshake succeeds and the server sees the admin identity', async () => {
    const seen = await get({ ca: pki.caCertPem, cert: pki.adminCertPem, key: pki.adminKeyPem });
    expect(seen.authorized).toBe(true);
    expect(seen.peer).toEqual({ user: 'kubernetes-admin', groups: ['system:masters'] });
    expect(seen.verified).toEqual({ user: 'kubernetes-admin', groups: ['system:masters'] });
  });

  it('hostname verification passes for localhost and 127.0.0.1', async () => {
    const viaName = await get({ host: 'localhost', family: 4, servername: 'localhost', ca: pki.caCertPem });
    expect(viaName.authorized).toBe(false); // no client certificate sent
    expect(viaName.peer).toBeNull();
    const viaIp = await get({ ca: pki.caCertPem });
    expect(viaIp.verified).toBeNull();
    const served = new X509Certificate(pki.servingCertPem).toLegacyObject();
    expect(tls.checkServerIdentity('localhost', served)).toBeUndefined();
    expect(tls.checkServerIdentity('127.0.0.1', served)).toBeUndefined();
    expect(tls.checkServerIdentity('example.com', served)).toBeInstanceOf(Error);
  });

  it('a client without the CA fails verification', async () => {
    // The server also sends the CA (it is in its `ca` store), hence SELF_SIGNED_CERT_IN_CHAIN rather than
    // UNABLE_TO_VERIFY_LEAF_SIGNATURE; either way the chain does not end in a trusted root.
    const err = await get({ cert: pki.adminCertPem, key: pki.adminKeyPem }).then(
      () => undefined,
      (e: unknown) => e as NodeJS.ErrnoException,
    );
    expect(['SELF_SIGNED_CERT_IN_CHAIN', 'UNABLE_TO_VERIFY_LEAF_SIGNATURE']).toContain(err?.code);
  });

  it('a client certificate from another CA is not trusted', async () => {
    const other = await ensurePki({ dir: path.join(tmp, 'other-pki') });
    const seen = await get({ ca: pki.caCertPem, cert: other.adminCertPem, key: other.adminKeyPem });
    expect(seen.authorized).toBe(false);
    expect(seen.peer).toEqual({ user: 'kubernetes-admin', groups: ['system:masters'] }); // unverified, visible
    expect(seen.verified).toBeNull(); // ...but not trusted
  });

  it('the serving certificate cannot be used as a client certificate', async () => {
    const seen = await get({ ca: pki.caCertPem, cert: pki.servingCertPem, key: pki.servingKeyPem });
    expect(seen.verified).toBeNull();
  });

  it('issueClientCertificate issues further identities', async () => {
    const node = await issueClientCertificate(pki, { commonName: 'system:node:n1', organizations: ['system:nodes'] });
    const seen = await get({ ca: pki.caCertPem, cert: node.certPem, key: node.keyPem });
    expect(seen.verified).toEqual({ user: 'system:node:n1', groups: ['system:nodes'] });
  });
});

describe('identityFromPeerCertificate', () => {
  it('maps CN to user and O (string or array) to groups', () => {
    const cert = (subject: Record<string, string | string[]>) => ({ subject }) as unknown as tls.PeerCertificate;
    expect(identityFromPeerCertificate(undefined)).toBeUndefined();
    expect(identityFromPeerCertificate({} as tls.PeerCertificate)).toBeUndefined();
    expect(identityFromPeerCertificate(cert({ CN: 'alice' }))).toEqual({ user: 'alice', groups: [] });
    expect(identityFromPeerCertificate(cert({ CN: 'alice', O: 'dev' }))).toEqual({ user: 'alice', groups: ['dev'] });
    expect(identityFromPeerCertificate(cert({ CN: 'alice', O: ['a', 'b'] }))).toEqual({ user: 'alice', groups: ['a', 'b'] });
    expect(identityFromPeerCertificate(cert({ O: 'dev' }))).toBeUndefined();
    expect(identityFromPeerCertificate(cert({ CN: ['a', 'b'] }))).toBeUndefined();
  });
});

describe('reuse', () => {
  it('a second ensurePki reuses every file quickly', async () => {
    const before = await Promise.all([pki.caPath, pki.servingCertPath, pki.adminCertPath].map((f) => readFile(f)));
    const t0 = performance.now();
    const again = await ensurePki({ dir: pkiDir });
    const ms = performance.now() - t0;
    console.log(`pki: reuse took ${ms.toFixed(1)} ms`);
    expect(again.generated).toEqual({ ca: false, serving: false, admin: false });
    expect(again.caCertPem).toBe(pki.caCertPem);
    expect(again.caKeyPem).toBe(pki.caKeyPem);
    expect(again.servingCertPem).toBe(pki.servingCertPem);
    expect(again.adminCertPem).toBe(pki.adminCertPem);
    expect(again.adminKeyPem).toBe(pki.adminKeyPem);
    const after = await Promise.all([pki.caPath, pki.servingCertPath, pki.adminCertPath].map((f) => readFile(f)));
    expect(after).toEqual(before);
    expect(ms).toBeLessThan(100);
  });

  it('a new SAN regenerates only the serving certificate', async () => {
    const opts = { dir: pkiDir, hostnames: ['k8ts.example.com', '10.9.8.7', '[fd00::7]'], bindAddress: '127.0.0.2' };
    const next = await ensurePki(opts);
    expect(next.generated).toEqual({ ca: false, serving: true, admin: false });
    expect(next.caCertPem).toBe(pki.caCertPem);
    expect(next.adminCertPem).toBe(pki.adminCertPem);
    expect(next.servingCertPem).not.toBe(pki.servingCertPem);
    const serving = new X509Certificate(next.servingCertPem);
    expect(serving.checkHost('k8ts.example.com')).toBe('k8ts.example.com');
    expect(serving.checkIP('10.9.8.7')).toBe('10.9.8.7');
    expect(serving.checkIP('fd00::7')).toBeDefined();
    expect(serving.checkIP('127.0.0.2')).toBe('127.0.0.2');
    expect(serving.checkHost('localhost')).toBe('localhost');
    expect(serving.verify(new X509Certificate(pki.caCertPem).publicKey)).toBe(true);
    // Same SANs again (any order, any case): nothing to do.
    const same = await ensurePki({ ...opts, hostnames: ['K8TS.example.com.', '10.9.8.7', 'fd00::7'] });
    expect(same.generated).toEqual({ ca: false, serving: false, admin: false });
    // The unspecified address is not a SAN; nothing changes.
    const any = await ensurePki({ ...opts, bindAddress: '0.0.0.0' });
    expect(any.generated.serving).toBe(false);
  });

  it('rejects a malformed SAN', async () => {
    await expect(ensurePki({ dir: pkiDir, hostnames: ['not a name'] })).rejects.toThrow(/invalid TLS subject alternative name/);
  });

  it('reissues a leaf whose files are damaged or near expiry, and never replaces a broken CA silently', async () => {
    const dir = path.join(tmp, 'damage');
    const first = await ensurePki({ dir });
    await writeFile(first.adminKeyPath, 'garbage');
    const repaired = await ensurePki({ dir });
    expect(repaired.generated).toEqual({ ca: false, serving: false, admin: true });

    const in340days = new Date(Date.now() + 340 * 86400_000);
    const renewed = await ensurePki({ dir, now: () => in340days });
    expect(renewed.generated).toEqual({ ca: false, serving: true, admin: true });

    await writeFile(first.caKeyPath, 'garbage');
    await expect(ensurePki({ dir })).rejects.toThrow(/cluster CA/);
  });
});

describe('kubeconfig', () => {
  it('embeds the credentials, writes mode 0600 and parses with kubectl', async () => {
    const server = `https://127.0.0.1:${port}`;
    const yaml = kubeconfigYaml({ server, caPem: pki.caCertPem, clientCertPem: pki.adminCertPem, clientKeyPem: pki.adminKeyPem });
    expect(yaml).toContain(`certificate-authority-data: ${Buffer.from(pki.caCertPem).toString('base64')}\n`);
    expect(yaml).toContain(`client-certificate-data: ${Buffer.from(pki.adminCertPem).toString('base64')}\n`);
    expect(yaml).toContain(`client-key-data: ${Buffer.from(pki.adminKeyPem).toString('base64')}\n`);
    expect(yaml).toContain('current-context: k8ts\n');
    const file = path.join(tmp, 'home', '.kube', 'config');
    await writeKubeconfig(file, yaml);
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    expect(await readFile(file, 'utf8')).toBe(yaml);
    await writeFile(file, 'old', { mode: 0o644 });
    await writeKubeconfig(file, yaml);
    expect((await stat(file)).mode & 0o777).toBe(0o600);

    if (!existsSync(KUBECTL)) {
      console.log('pki: /usr/bin/kubectl absent; kubectl assertions skipped');
      return;
    }
    const run = promisify(execFile);
    const env = { ...process.env, KUBECONFIG: '', HOME: path.join(tmp, 'home') };
    const view = await run(
      KUBECTL,
      ['--kubeconfig', file, 'config', 'view', '--raw', '-o', 'jsonpath={.clusters[0].cluster.server}'],
      { env },
    );
    expect(view.stdout).toBe(server);
    // Go's TLS stack against our server: verifies the serving cert for 127.0.0.1 with the CA and presents the admin cert.
    const raw = await run(KUBECTL, ['--kubeconfig', file, 'get', '--raw', '/'], { env });
    expect(JSON.parse(raw.stdout)).toMatchObject({ verified: { user: 'kubernetes-admin', groups: ['system:masters'] } });
  });
});
