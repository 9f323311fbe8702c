// The machine's floor for Lease renewals: what 100 PUTs a second (1,000 nodes every 10 s) cost a
// bare Node HTTPS server that does nothing a Kubernetes server must do (no store, no watch, no
// validation: it parses the JSON body, bumps a number and sends it back), with and without one
// durable 1 KB write per request (an O_DSYNC write, as the embedded store's log does). The
// scheduler bench prints it beside the Lease rows, so the target can be read against this machine.
//
//   node hack/bench/lease-floor.ts server plain|dsync DIR   prints "PORT <n>", serves until killed
//   node hack/bench/lease-floor.ts client PORT              1,000 keep-alive renewers, every 10 s
import { closeSync, constants, openSync, writeSync } from 'node:fs';
import { Agent, createServer, request } from 'node:https';
import { join } from 'node:path';
import { ensurePki } from '../../src/apiserver/pki/index.ts';

const NODES = 1000;
const INTERVAL_MS = 10_000;
const SEGMENT = 16 << 20;

function lease(i: number): string {
  const now = new Date().toISOString().replace('Z', '000Z');
  return JSON.stringify({
    apiVersion: 'coordination.k8s.io/v1',
    kind: 'Lease',
    metadata: {
      name: `node-${i}`,
      namespace: 'kube-node-lease',
      uid: '0b6b7d7e-6c2f-4b8e-9a51-6f2d3c1e0a9b',
      resourceVersion: '12345',
      creationTimestamp: '2026-01-01T00:00:00Z',
      ownerReferences: [{ apiVersion: 'v1', kind: 'Node', name: `node-${i}`, uid: '5d1c7a4e-2f3b-4c6d-8e9f-0a1b2c3d4e5f' }],
      managedFields: [{ manager: 'k8ts-agent', operation: 'Update', apiVersion: 'coordination.k8s.io/v1', time: '2026-01-01T00:00:00Z', fieldsType: 'FieldsV1', fieldsV1: { 'f:metadata': { 'f:ownerReferences': { '.': {}, 'k:{"uid":"5d1c7a4e-2f3b-4c6d-8e9f-0a1b2c3d4e5f"}': {} } }, 'f:spec': { 'f:holderIdentity': {}, 'f:leaseDurationSeconds': {}, 'f:renewTime': {} } } }],
    },
    spec: { holderIdentity: `node-${i}`, leaseDurationSeconds: 40, renewTime: now },
  });
}

async function server(mode: string, dir: string): Promise<void> {
  const pki = await ensurePki({ dir: join(dir, 'pki') });
  let fd = -1;
  let offset = 0;
  if (mode === 'dsync') {
    // A zero-filled file written in place, as the store's log segments are (no block allocation).
    const file = join(dir, 'log');
    const w = openSync(file, 'w');
    writeSync(w, Buffer.alloc(SEGMENT));
    closeSync(w);
    fd = openSync(file, constants.O_RDWR | constants.O_DSYNC);
  }
  const srv = createServer({ key: pki.servingKeyPem, cert: pki.servingCertPem }, (req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const obj = JSON.parse(Buffer.concat(chunks).toString()) as { metadata: { resourceVersion: string } };
      obj.metadata.resourceVersion = String(Number(obj.metadata.resourceVersion) + 1);
      const out = Buffer.from(JSON.stringify(obj));
      if (fd >= 0) {
        writeSync(fd, out, 0, out.length, offset);
        offset = (offset + 4096) % SEGMENT;
      }
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': out.length });
      res.end(out);
    });
  });
  srv.listen(0, '127.0.0.1', () => {
    const addr = srv.address();
    process.stdout.write(`PORT ${typeof addr === 'object' && addr ? addr.port : 0}\n`);
  });
}

function client(port: number): void {
  const agent = new Agent({ keepAlive: true, maxSockets: 64, rejectUnauthorized: false });
  for (let i = 0; i < NODES; i++) {
    const renew = () => {
      const req = request({ host: '127.0.0.1', port, method: 'PUT', path: `/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/node-${i}`, agent, headers: { 'content-type': 'application/json' } }, (res) => {
        res.resume();
        res.on('end', () => setTimeout(renew, INTERVAL_MS));
      });
      req.on('error', () => setTimeout(renew, INTERVAL_MS));
      req.end(lease(i));
    };
    // Spread over the interval, as the simulated nodes spread their first renewal.
    setTimeout(renew, Math.floor(Math.random() * INTERVAL_MS));
  }
}

const [role, arg, dir] = process.argv.slice(2);
if (role === 'server') await server(arg, dir);
else if (role === 'client') client(Number(arg));
else {
  console.error('usage: lease-floor.ts server plain|dsync DIR | client PORT');
  process.exit(2);
}
