// Create-only "review" resources that store nothing: who am I, and may I. Without RBAC (a later
// issue) every authenticated user is a cluster admin, so access reviews allow everything.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { badRequest } from '../../api/status.ts';
import { isPlainObject, type KubeObject } from '../../api/object.ts';
import type { ClientIdentity } from '../pki/client-identity.ts';
import { decodeBody, readBody, writeJson, type Negotiated } from '../http.ts';
import type { RequestInfo } from '../request-info.ts';

const REVIEWS = new Set(['selfsubjectreviews', 'selfsubjectaccessreviews', 'selfsubjectrulesreviews', 'subjectaccessreviews', 'localsubjectaccessreviews']);

export function isReview(ri: RequestInfo): boolean {
  return REVIEWS.has(ri.resource) && (ri.group === 'authentication.k8s.io' || ri.group === 'authorization.k8s.io');
}

export async function handleReview(ri: RequestInfo, user: ClientIdentity, neg: Negotiated, req: IncomingMessage, res: ServerResponse): Promise<void> {
  if (req.method !== 'POST' || ri.name) {
    res.writeHead(405, { 'Content-Type': 'application/json' });
    res.end(JSON.stringify({ kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message: 'the server does not allow this method on the requested resource', reason: 'MethodNotAllowed', code: 405 }));
    return;
  }
  const body = decodeBody(await readBody(req), String(req.headers['content-type'] ?? 'application/json'));
  if (!isPlainObject(body)) throw badRequest('the request body must be an object');
  const obj = body as KubeObject;
  const userInfo = { username: user.user, groups: [...user.groups, 'system:authenticated'] };
  switch (ri.resource) {
    case 'selfsubjectreviews':
      obj.status = { userInfo };
      break;
    case 'selfsubjectrulesreviews':
      obj.status = {
        resourceRules: [{ verbs: ['*'], apiGroups: ['*'], resources: ['*'] }],
        nonResourceRules: [{ verbs: ['*'], nonResourceURLs: ['*'] }],
        incomplete: false,
      };
      break;
    default:
      obj.status = { allowed: true, reason: 'k8ts authorizes every authenticated user (RBAC is not enforced yet)' };
  }
  obj.metadata = { ...(isPlainObject(obj.metadata) ? obj.metadata : {}), creationTimestamp: null };
  writeJson(res, 201, obj, neg.gzip);
}
