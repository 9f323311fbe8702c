// The admin kubeconfig written by `k8ts server`: one cluster, one user, one context, credentials embedded.

import { mkdir } from 'node:fs/promises';
import { writeFileAtomic } from './files.ts';
import path from 'node:path';
import { stringify } from 'yaml';

export interface KubeconfigOptions {
  /** e.g. `https://127.0.0.1:6443` */
  server: string;
  caPem: string;
  clientCertPem: string;
  clientKeyPem: string;
  /** Cluster entry name; default `k8ts`. */
  cluster?: string;
  /** User entry name; default `<cluster>-admin`. */
  user?: string;
  /** Context name (also current-context); default the cluster name. */
  context?: string;
}

const b64 = (pem: string): string => Buffer.from(pem, 'utf8').toString('base64');

export function kubeconfigYaml(opts: KubeconfigOptions): string {
  const cluster = opts.cluster ?? 'k8ts';
  const user = opts.user ?? `${cluster}-admin`;
  const context = opts.context ?? cluster;
  const config = {
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: cluster, cluster: { server: opts.server, 'certificate-authority-data': b64(opts.caPem) } }],
    users: [
      {
        name: user,
        user: { 'client-certificate-data': b64(opts.clientCertPem), 'client-key-data': b64(opts.clientKeyPem) },
      },
    ],
    contexts: [{ name: context, context: { cluster, user } }],
    'current-context': context,
    preferences: {},
  };
  // lineWidth 0: never fold the long base64 scalars.
  return stringify(config, { lineWidth: 0, minContentWidth: 0 });
}

/** Write the kubeconfig with mode 0600 (also when replacing an existing file), creating parent directories. */
export async function writeKubeconfig(file: string, yaml: string): Promise<void> {
  await mkdir(path.dirname(path.resolve(file)), { recursive: true, mode: 0o700 });
  await writeFileAtomic(file, yaml, 0o600);
}
