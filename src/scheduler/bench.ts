// Micro benchmark of the scheduling core: 10,000 pods onto 1,000 nodes, each decision followed
// by `assume` (as the real scheduler binds). Prints pods/s and the mean time per decision.
//   PATH=$PWD/node_modules/.bin:$PATH node src/scheduler/bench.ts [pods] [nodes]
import { schedulePod, seededRandom } from './schedule.ts';
import { Snapshot } from './snapshot.ts';
import type { Node, Pod } from './types.ts';

const PODS = Number(process.argv[2] ?? 10_000);
const NODES = Number(process.argv[3] ?? 1_000);
const ZONES = ['zone-a', 'zone-b', 'zone-c'];

function makeNodes(): Node[] {
  const nodes: Node[] = [];
  for (let i = 0; i < NODES; i++) {
    const name = `node-${i}`;
    nodes.push({
      metadata: {
        name,
        labels: {
          'kubernetes.io/hostname': name,
          'topology.kubernetes.io/zone': ZONES[i % ZONES.length],
          'node.kubernetes.io/instance-type': i % 4 === 0 ? 'large' : 'medium',
          'kubernetes.io/os': 'linux',
        },
      },
      spec: { taints: i % 50 === 0 ? [{ key: 'dedicated', value: 'infra', effect: 'NoSchedule' }] : [] },
      status: {
        allocatable: { cpu: '32', memory: '128Gi', pods: '110', 'ephemeral-storage': '100Gi' },
        images: [{ names: ['registry.k8s.io/pause:3.10'], sizeBytes: 300_000 }, { names: ['nginx:1.27'], sizeBytes: 70_000_000 }],
      },
    });
  }
  return nodes;
}

type Kind = 'plain' | 'selector' | 'spread' | 'anti-affinity';

function makePod(i: number, rnd: () => number): { pod: Pod; kind: Kind } {
  const app = `app-${i % 50}`;
  const r = rnd();
  const kind: Kind = r < 0.7 ? 'plain' : r < 0.85 ? 'selector' : r < 0.95 ? 'spread' : 'anti-affinity';
  const pod: Pod = {
    metadata: { name: `pod-${i}`, namespace: 'default', labels: { app } },
    spec: {
      containers: [
        {
          name: 'c',
          image: i % 2 ? 'nginx:1.27' : 'busybox',
          resources: { requests: { cpu: `${100 + (i % 10) * 50}m`, memory: `${128 + (i % 8) * 64}Mi` } },
        },
      ],
    },
  };
  if (kind === 'selector') pod.spec.nodeSelector = { 'node.kubernetes.io/instance-type': 'large' };
  if (kind === 'spread') {
    pod.spec.topologySpreadConstraints = [
      { maxSkew: 1, topologyKey: 'topology.kubernetes.io/zone', whenUnsatisfiable: 'DoNotSchedule', labelSelector: { matchLabels: { app } } },
      { maxSkew: 1, topologyKey: 'kubernetes.io/hostname', whenUnsatisfiable: 'ScheduleAnyway', labelSelector: { matchLabels: { app } } },
    ];
  }
  if (kind === 'anti-affinity') {
    pod.spec.affinity = {
      podAntiAffinity: {
        preferredDuringSchedulingIgnoredDuringExecution: [
          { weight: 100, podAffinityTerm: { topologyKey: 'kubernetes.io/hostname', labelSelector: { matchLabels: { app } } } },
        ],
      },
    };
  }
  return { pod, kind };
}

function run(percentage: number): void {
  const snap = Snapshot.from(makeNodes());
  const rnd = seededRandom(42);
  const pods = Array.from({ length: PODS }, (_, i) => makePod(i, rnd));
  const perKind = new Map<Kind, { n: number; ms: number }>();
  let failed = 0;
  const t0 = performance.now();
  for (const { pod, kind } of pods) {
    const t = performance.now();
    const r = schedulePod(snap, pod, { random: rnd, percentageOfNodesToScore: percentage });
    if ('node' in r) snap.assume(pod, r.node);
    else failed++;
    const k = perKind.get(kind) ?? { n: 0, ms: 0 };
    k.n++;
    k.ms += performance.now() - t;
    perKind.set(kind, k);
  }
  const ms = performance.now() - t0;
  const label = percentage === 100 ? 'all nodes' : percentage === 0 ? 'adaptive percentageOfNodesToScore' : `${percentage}% of nodes`;
  console.log(`${PODS} pods on ${NODES} nodes, ${label}: ${Math.round((PODS / ms) * 1000)} pods/s, ${((ms / PODS) * 1000).toFixed(0)} µs/pod mean (unschedulable: ${failed})`);
  for (const [kind, { n, ms: kms }] of perKind) console.log(`  ${kind.padEnd(14)} ${String(n).padStart(6)} pods  ${((kms / n) * 1000).toFixed(0).padStart(6)} µs/pod`);
}

run(100); // warm-up pass is part of the figure: this is what a fresh scheduler sees
run(100);
run(0);
