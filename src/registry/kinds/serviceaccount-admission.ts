// What upstream's ServiceAccount admission plugin does to a new pod: the `default` service account
// when none is named, and (unless the pod opts out) a projected volume with the account's token,
// the cluster CA and the namespace, mounted read-only where client libraries look for them.
// Refusing pods whose account does not exist needs the service account controller (not yet here).
import { generateNameSuffix } from '../generic.ts';
import type { Obj } from './spec.ts';

export const SERVICE_ACCOUNT_MOUNT = '/var/run/secrets/kubernetes.io/serviceaccount';

function tokenVolume(name: string): Obj {
  return {
    name,
    projected: {
      defaultMode: 420,
      sources: [
        { serviceAccountToken: { expirationSeconds: 3607, path: 'token' } },
        { configMap: { name: 'kube-root-ca.crt', items: [{ key: 'ca.crt', path: 'ca.crt' }] } },
        { downwardAPI: { items: [{ path: 'namespace', fieldRef: { apiVersion: 'v1', fieldPath: 'metadata.namespace' } }] } },
      ],
    },
  };
}

export function admitServiceAccount(spec: Obj): void {
  if (!spec.serviceAccountName) spec.serviceAccountName = typeof spec.serviceAccount === 'string' && spec.serviceAccount ? spec.serviceAccount : 'default';
  spec.serviceAccount = spec.serviceAccountName;
  if (spec.automountServiceAccountToken === false) return;
  const volumes = (spec.volumes ??= []) as Obj[];
  const existing = volumes.find((v) => typeof v.name === 'string' && v.name.startsWith('kube-api-access-') && v.projected);
  const name = (existing?.name as string | undefined) ?? `kube-api-access-${generateNameSuffix()}`;
  if (!existing) volumes.push(tokenVolume(name));
  for (const list of ['initContainers', 'containers', 'ephemeralContainers'] as const) {
    for (const c of (spec[list] as Obj[] | undefined) ?? []) {
      const mounts = (c.volumeMounts ??= []) as Obj[];
      if (mounts.some((m) => m.mountPath === SERVICE_ACCOUNT_MOUNT)) continue;
      mounts.push({ name, readOnly: true, mountPath: SERVICE_ACCOUNT_MOUNT });
    }
  }
}
