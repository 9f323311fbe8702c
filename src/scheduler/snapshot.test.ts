import { describe, expect, it } from 'vitest';
import { PodInfo, podRequests, Snapshot } from './snapshot.ts';
import { seededRandom } from './schedule.ts';
import { node, pod } from './testutil.ts';
import type { Container, Pod } from './types.ts';

const MI = 1024 * 1024;

function withContainers(containers: Container[], init: Container[] = [], extra: Partial<Pod['spec']> = {}): Pod {
  return { metadata: { name: 'p', namespace: 'default' }, spec: { containers, initContainers: init, ...extra } };
}
const c = (name: string, cpu?: string, memory?: string, restartPolicy?: string): Container => ({
  name,
  resources: { requests: { ...(cpu ? { cpu } : {}), ...(memory ? { memory } : {}) } },
  restartPolicy,
});

describe('pod requests', () => {
  it.each<[string, Pod, number, number]>([
    ['sum of containers', withContainers([c('a', '100m', '64Mi'), c('b', '250m', '64Mi')]), 350, 128 * MI],
    ['init container larger than the sum wins', withContainers([c('a', '200m', '64Mi')], [c('i', '900m', '32Mi')]), 900, 64 * MI],
    ['largest init container, per resource', withContainers([c('a', '100m')], [c('i1', '300m', '10Mi'), c('i2', '50m', '20Mi')]), 300, 20 * MI],
    // A sidecar adds to the containers and to every later init container.
    ['sidecar init container', withContainers([c('a', '100m')], [c('side', '200m', undefined, 'Always'), c('i', '250m')]), 450, 0],
    ['overhead is added', withContainers([c('a', '100m', '10Mi')], [], { overhead: { cpu: '50m', memory: '5Mi' } }), 150, 15 * MI],
    ['containers without requests count 0', withContainers([{ name: 'a' }]), 0, 0],
  ])('%s', (_name, p, cpu, mem) => {
    const r = podRequests(p);
    expect(r.milliCPU).toBe(cpu);
    expect(r.memory).toBe(mem);
  });

  it('uses limits as requests when requests are absent (API defaulting)', () => {
    const p = withContainers([{ name: 'a', resources: { limits: { cpu: '1', memory: '1Gi' }, requests: { cpu: '300m' } } }]);
    expect(podRequests(p).milliCPU).toBe(300);
    expect(podRequests(p).memory).toBe(1024 * MI);
  });

  it('scoring uses 100m / 200Mi for containers that request nothing, but not for explicit zero', () => {
    const none = new PodInfo(withContainers([{ name: 'a' }, c('b', '50m')]));
    expect(none.nonZeroCPU).toBe(150);
    expect(none.nonZeroMemory).toBe(400 * MI);
    const zero = new PodInfo(withContainers([c('a', '0', '0')]));
    expect(zero.nonZeroCPU).toBe(0);
    expect(zero.nonZeroMemory).toBe(0);
  });

  it('keeps extended resources and hugepages, ignores unknown unprefixed names', () => {
    const p = withContainers([{ name: 'a', resources: { requests: { 'nvidia.com/gpu': '2', 'hugepages-2Mi': '4Mi', foo: '3' } } }]);
    const r = podRequests(p);
    expect(r.scalar?.get('nvidia.com/gpu')).toBe(2);
    expect(r.scalar?.get('hugepages-2Mi')).toBe(4 * MI);
    expect(r.scalar?.has('foo')).toBe(false);
  });
});

describe('snapshot', () => {
  it('reads allocatable, labels, taints and unschedulable', () => {
    const s = Snapshot.from([
      node('n1', { cpu: '3500m', memory: '2Gi', pods: '30', allocatable: { 'example.com/fpga': '2' }, unschedulable: true, taints: [{ key: 'k', effect: 'NoSchedule' }] }),
    ]);
    const n = s.getNode('n1')!;
    expect(n.allocatable.milliCPU).toBe(3500);
    expect(n.allocatable.memory).toBe(2048 * MI);
    expect(n.allowedPods).toBe(30);
    expect(n.allocatable.scalar?.get('example.com/fpga')).toBe(2);
    expect(n.unschedulable).toBe(true);
    expect(n.taints).toEqual([{ key: 'k', effect: 'NoSchedule' }]);
    expect(n.labels['kubernetes.io/hostname']).toBe('n1');
  });

  it('sums assigned pods and skips unassigned and terminal ones', () => {
    const s = Snapshot.from(
      [node('n1')],
      [
        pod('a', { node: 'n1', cpu: '500m', memory: '1Gi' }),
        pod('b', { node: 'n1', cpu: '250m' }),
        pod('done', { node: 'n1', cpu: '1', phase: 'Succeeded' }),
        pod('failed', { node: 'n1', cpu: '1', phase: 'Failed' }),
        pod('pending', { cpu: '1' }),
      ],
    );
    const n = s.getNode('n1')!;
    expect(n.pods.map((p) => p.name)).toEqual(['a', 'b']);
    expect(n.requested.milliCPU).toBe(750);
    expect(n.requested.memory).toBe(1024 * MI);
    expect(n.nonZeroCPU).toBe(750);
    expect(n.nonZeroMemory).toBe(1024 * MI + 200 * MI);
  });

  it('updates incrementally: move, finish and delete pods', () => {
    const s = Snapshot.from([node('n1'), node('n2')], [pod('a', { node: 'n1', cpu: '500m' })]);
    s.upsertPod(pod('a', { node: 'n2', cpu: '700m' }));
    expect(s.getNode('n1')!.requested.milliCPU).toBe(0);
    expect(s.getNode('n2')!.requested.milliCPU).toBe(700);
    s.upsertPod(pod('a', { node: 'n2', cpu: '700m', phase: 'Succeeded' }));
    expect(s.getNode('n2')!.requested.milliCPU).toBe(0);
    expect(s.getNode('n2')!.pods).toHaveLength(0);
    s.assume(pod('b', { cpu: '100m' }), 'n1');
    expect(s.getNode('n1')!.requested.milliCPU).toBe(100);
    s.removePod('default/b');
    expect(s.getNode('n1')!.requested.milliCPU).toBe(0);
  });

  it('keeps pods of a node it has not seen yet and of a deleted node', () => {
    const s = Snapshot.from([], [pod('early', { node: 'later', cpu: '1' })]);
    expect(s.nodeCount).toBe(0);
    s.upsertNode(node('later'));
    expect(s.getNode('later')!.requested.milliCPU).toBe(1000);
    s.removeNode('later');
    expect(s.getNode('later')).toBeUndefined();
    expect(s.nodes).toHaveLength(0);
    s.upsertNode(node('later', { cpu: '8' }));
    expect(s.getNode('later')!.requested.milliCPU).toBe(1000);
    expect(s.getNode('later')!.allocatable.milliCPU).toBe(8000);
    expect(s.nodes).toHaveLength(1);
  });

  it('tracks host ports with reference counts and image spread', () => {
    const s = Snapshot.from(
      [node('n1', { images: [{ names: ['nginx:1.27'], sizeBytes: 100 }] }), node('n2', { images: [{ names: ['nginx:1.27'], sizeBytes: 100 }] })],
      [pod('a', { node: 'n1', hostPorts: [{ port: 80 }] }), pod('b', { node: 'n1', hostPorts: [{ port: 80 }] })],
    );
    expect(s.imageNodeCount.get('nginx:1.27')).toBe(2);
    s.removeNode('n2');
    expect(s.imageNodeCount.get('nginx:1.27')).toBe(1);
    const n1 = s.getNode('n1')!;
    expect(n1.portConflict({ ip: '0.0.0.0', protocol: 'TCP', port: 80 })).toBe(true);
    s.removePod('default/a');
    expect(n1.portConflict({ ip: '0.0.0.0', protocol: 'TCP', port: 80 })).toBe(true);
    s.removePod('default/b');
    expect(n1.portConflict({ ip: '0.0.0.0', protocol: 'TCP', port: 80 })).toBe(false);
  });

  it('incremental updates end where a rebuild from the final objects ends', () => {
    const rnd = seededRandom(7);
    const nodes = ['n0', 'n1', 'n2', 'n3'];
    const inc = Snapshot.from(nodes.map((n) => node(n)));
    const live = new Map<string, Pod>();
    for (let i = 0; i < 500; i++) {
      const name = `p${Math.floor(rnd() * 40)}`;
      if (rnd() < 0.25) {
        inc.removePod(`default/${name}`);
        live.delete(name);
        continue;
      }
      const phase = rnd() < 0.1 ? 'Succeeded' : undefined;
      const p = pod(name, {
        node: rnd() < 0.9 ? nodes[Math.floor(rnd() * 4)] : undefined,
        cpu: `${Math.floor(rnd() * 900) + 1}m`,
        memory: `${Math.floor(rnd() * 500) + 1}Mi`,
        phase,
        hostPorts: rnd() < 0.2 ? [{ port: 8000 + Math.floor(rnd() * 3) }] : undefined,
      });
      inc.upsertPod(p);
      live.set(name, p);
    }
    const fresh = Snapshot.from(nodes.map((n) => node(n)), [...live.values()]);
    for (const n of nodes) {
      const a = inc.getNode(n)!;
      const b = fresh.getNode(n)!;
      expect(a.requested).toEqual(b.requested);
      expect([a.nonZeroCPU, a.nonZeroMemory]).toEqual([b.nonZeroCPU, b.nonZeroMemory]);
      expect(a.pods.map((p) => p.key).sort()).toEqual(b.pods.map((p) => p.key).sort());
      expect(a.usedPorts).toEqual(b.usedPorts);
    }
  });
});
