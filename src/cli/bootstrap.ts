// Objects every cluster has from the start: the system namespaces and the `kubernetes` Service.
import { StatusError } from '../api/status.ts';
import type { KubeObject } from '../api/object.ts';
import type { Registries } from '../apiserver/registries.ts';

const NAMESPACES = ['default', 'kube-system', 'kube-public', 'kube-node-lease'];

async function ensure(regs: Registries, resource: string, namespace: string, obj: KubeObject): Promise<void> {
  const reg = regs.get('', 'v1', resource);
  if (!reg) return;
  const name = obj.metadata?.name ?? '';
  const exists = await reg.gs.get(namespace, name).then(() => true, () => false);
  if (exists) return;
  try {
    await reg.gs.create(namespace, obj, { fieldManager: 'kube-apiserver' });
  } catch (err) {
    if (!(err instanceof StatusError && err.code === 409)) throw err;
  }
}

export async function bootstrap(regs: Registries): Promise<void> {
  for (const name of NAMESPACES) {
    await ensure(regs, 'namespaces', '', {
      apiVersion: 'v1',
      kind: 'Namespace',
      metadata: { name, labels: { 'kubernetes.io/metadata.name': name } },
      spec: { finalizers: ['kubernetes'] },
      status: { phase: 'Active' },
    });
  }
  await ensure(regs, 'services', 'default', {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: 'kubernetes', namespace: 'default', labels: { component: 'apiserver', provider: 'kubernetes' } },
    spec: {
      type: 'ClusterIP',
      clusterIP: '10.96.0.1',
      clusterIPs: ['10.96.0.1'],
      ipFamilies: ['IPv4'],
      ipFamilyPolicy: 'SingleStack',
      internalTrafficPolicy: 'Cluster',
      sessionAffinity: 'None',
      ports: [{ name: 'https', port: 443, protocol: 'TCP', targetPort: 6443 }],
    },
    status: { loadBalancer: {} },
  });
}
