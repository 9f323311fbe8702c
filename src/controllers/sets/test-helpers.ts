// Helpers for this folder's integration tests: polling, kubectl, events, and a fallback binder
// for pods the scheduler has not bound after a few seconds (daemon pods go to the node their
// affinity pins them to; pods with a nodeSelector are left alone).
import type { TestServer } from '../../apiserver/testing/server.ts';
import type { KubeClient } from '../../client/kube-client.ts';
import { Resources } from '../../client/resources.ts';
import { targetNodeName } from './daemonset-nodes.ts';
import type { Pod } from './types.ts';

/** Polls `fn` every 200 ms until it returns a value other than undefined, for at most `ms`. */
export async function until<T>(what: string, ms: number, fn: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + ms;
  let last: unknown;
  for (let i = 0; i < 100_000; i++) {
    try {
      const v = await fn();
      if (v !== undefined) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) break;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`timed out after ${ms} ms waiting for ${what}${last ? ` (last error: ${String(last)})` : ''}`);
}

export async function kubectlOk(server: TestServer, args: string[], input?: string): Promise<string> {
  const r = await server.kubectl(args, { input, timeoutMs: 120_000 });
  if (r.code !== 0) throw new Error(`kubectl ${args.join(' ')} failed (${r.code}): ${r.stderr}${r.stdout}`);
  return r.stdout;
}

export interface EventItem {
  type: string;
  reason: string;
  message: string;
  involvedObject: { kind?: string; name?: string };
  source?: { component?: string };
}

export async function eventsAbout(client: KubeClient, ns: string, kind: string, name: string): Promise<EventItem[]> {
  const l = await client.list(Resources.events, ns, { fieldSelector: `involvedObject.kind=${kind},involvedObject.name=${name}` });
  return l.items as unknown as EventItem[];
}

/** Binds pods left unscheduled for two rounds (~3 s) in `ns` to the nodes there were at start; stop() ends it. */
export function startBinder(client: KubeClient, ns: string): { stop(): Promise<void> } {
  let running = true;
  const seen = new Set<string>();
  const loop = (async () => {
    let nodes: string[] = [];
    for (let round = 0; running; round++) {
      try {
        if (nodes.length === 0) nodes = (await client.list(Resources.nodes, undefined)).items.map((n) => n.metadata?.name ?? '');
        const pods = (await client.list<Pod>(Resources.pods, ns, { fieldSelector: 'spec.nodeName=' })).items;
        const now = new Set<string>();
        for (const [j, p] of pods.entries()) {
          const uid = p.metadata.uid ?? '';
          if (p.metadata.deletionTimestamp || Object.keys(p.spec.nodeSelector ?? {}).length > 0) continue;
          now.add(uid);
          if (!seen.has(uid)) continue;
          const target = targetNodeName(p) ?? nodes[(round + j) % nodes.length];
          if (!nodes.includes(target)) continue; // pinned to a node without an agent
          await client
            .createSubresource(Resources.pods, ns, p.metadata.name!, 'binding', { apiVersion: 'v1', kind: 'Binding', metadata: { name: p.metadata.name, namespace: ns }, target: { apiVersion: 'v1', kind: 'Node', name: target } })
            .catch(() => undefined);
        }
        seen.clear();
        for (const u of now) seen.add(u);
      } catch {
        // starting or stopping
      }
      for (let i = 0; running && i < 10; i++) await new Promise((r) => setTimeout(r, 150));
    }
  })();
  return {
    stop: async () => {
      running = false;
      await loop;
    },
  };
}
