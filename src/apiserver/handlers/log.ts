// pods/log. Logs live on the node running the pod; a pod not yet on a node has none.
import type { ServerResponse } from 'node:http';
import { badRequest } from '../../api/status.ts';
import type { Registry } from '../registries.ts';
import type { RequestInfo } from '../request-info.ts';

export async function handleLog(reg: Registry, ri: RequestInfo, q: URLSearchParams, res: ServerResponse): Promise<void> {
  const pod = await reg.gs.get(ri.namespace, ri.name);
  const spec = (pod.spec ?? {}) as { nodeName?: string; containers?: Array<{ name: string }>; initContainers?: Array<{ name: string }> };
  const names = [...(spec.containers ?? []), ...(spec.initContainers ?? [])].map((c) => c.name);
  const container = q.get('container');
  if (container && !names.includes(container)) throw badRequest(`container ${container} is not valid for pod ${ri.name}`);
  if (!container && (spec.containers ?? []).length > 1) {
    throw badRequest(`a container name must be specified for pod ${ri.name}, choose one of: [${(spec.containers ?? []).map((c) => c.name).join(' ')}]`);
  }
  if (spec.nodeName) throw badRequest(`container logs of pod ${ri.name} are not available: no node agent serves node ${spec.nodeName} yet`);
  res.writeHead(200, { 'Content-Type': 'text/plain', 'Cache-Control': 'no-cache, private', 'Content-Length': 0 });
  res.end();
}
