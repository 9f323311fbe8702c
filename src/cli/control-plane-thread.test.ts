// How long watch bytes bound for the control-plane worker may wait to cross in one message.
import { describe, expect, it } from 'vitest';
import { holdMsFor } from './control-plane-thread.ts';

describe('holdMsFor', () => {
  it('never holds requests, holds watches briefly and Lease watches up to a second', () => {
    expect(holdMsFor(false, '/apis/coordination.k8s.io/v1/leases?watch=true')).toBe(0);
    expect(holdMsFor(true, '/api/v1/pods?watch=true&resourceVersion=5')).toBe(50);
    expect(holdMsFor(true, '/apis/coordination.k8s.io/v1/leases?watch=true')).toBe(1000);
    expect(holdMsFor(true, '/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases?watch=true')).toBe(1000);
    // Not a Lease list: a single Lease's path or another group's "leases".
    expect(holdMsFor(true, '/apis/coordination.k8s.io/v1/namespaces/kube-system/leases/x?watch=true')).toBe(50);
    expect(holdMsFor(true, '/apis/example.com/v1/leases?watch=true')).toBe(50);
  });
});
