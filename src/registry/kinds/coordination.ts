// Strategy of Lease: a node's renewal of its own Lease in kube-node-lease (same holder, nothing
// changed but spec.renewTime) is a heartbeat, whose write may wait a moment to share a durable
// write with the other nodes' renewals (TxnRequest.coalesce). Any other change of such a Lease
// (a new holder, a label), any other Lease (leader election) and every other write go to disk
// without waiting.
import { jsonDeepEqual, type KubeObject } from '../../api/object.ts';
import { registerStrategy, type Strategy } from '../strategy.ts';

const NODE_LEASE_NAMESPACE = 'kube-node-lease';

/** The Lease without what a renewal changes: spec.renewTime, and the metadata the server keeps. */
function beyondRenewal(o: KubeObject): unknown {
  const { managedFields: _mf, resourceVersion: _rv, ...metadata } = o.metadata ?? {};
  const { renewTime: _rt, ...spec } = (o.spec ?? {}) as Record<string, unknown>;
  return { ...o, metadata, spec };
}

const holder = (o: KubeObject) => (o.spec as { holderIdentity?: unknown } | undefined)?.holderIdentity;

registerStrategy('coordination.k8s.io/Lease', (base: Strategy): Strategy => ({
  ...base,
  isHeartbeat: (obj, old) =>
    obj.metadata?.namespace === NODE_LEASE_NAMESPACE && holder(obj) !== undefined && jsonDeepEqual(beyondRenewal(obj), beyondRenewal(old)),
}));
