// Objects every cluster has from the start: the system namespaces, the `kubernetes` Service and
// the two system PriorityClasses (the values the scheduler and Priority admission know).
import { StatusError } from '../api/status.ts';
import type { KubeObject } from '../api/object.ts';
import type { Registries } from '../apiserver/registries.ts';

const NAMESPACES = ['default', 'kube-system', 'kube-public', 'kube-node-lease'];

async function ensure(regs: Registries, resource: string, namespace: string, obj: KubeObject, group = '', version = 'v1'): Promise<void> {
  const reg = regs.get(group, version, resource);
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
  const classes = [
    ['system-node-critical', 2000001000, 'For pods that keep a node working: they are not moved off their node.'],
    ['system-cluster-critical', 2000000000, 'For pods the cluster needs: they may be moved to another node.'],
  ] as const;
  for (const [name, value, description] of classes) {
    await ensure(regs, 'priorityclasses', '', { apiVersion: 'scheduling.k8s.io/v1', kind: 'PriorityClass', metadata: { name }, value, preemptionPolicy: 'PreemptLowerPriority', description }, 'scheduling.k8s.io');
  }
}
