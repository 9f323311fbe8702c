// Strategy of Lease: a node's renewal of its own Lease in kube-node-lease (same holder) is a
// heartbeat, whose write may wait a moment to share a durable write with the other nodes'
// renewals (TxnRequest.coalesce). A change of holder, any other Lease (leader election) and every
// other write go to disk without waiting.
import type { KubeObject } from '../../api/object.ts';
import { registerStrategy, type Strategy } from '../strategy.ts';

const NODE_LEASE_NAMESPACE = 'kube-node-lease';

const holder = (o: KubeObject) => (o.spec as { holderIdentity?: unknown } | undefined)?.holderIdentity;

registerStrategy('coordination.k8s.io/Lease', (base: Strategy): Strategy => ({
  ...base,
  isHeartbeat: (obj, old) => obj.metadata?.namespace === NODE_LEASE_NAMESPACE && holder(obj) !== undefined && holder(obj) === holder(old),
}));
