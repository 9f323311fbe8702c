import { describe, expect, it } from 'vitest';
import { parseRequestInfo } from './request-info.ts';

const parse = (method: string, url: string) => {
  const qi = url.indexOf('?');
  return parseRequestInfo(method, qi >= 0 ? url.slice(0, qi) : url, new URLSearchParams(qi >= 0 ? url.slice(qi + 1) : ''));
};

describe('parseRequestInfo', () => {
  it('reads a namespaced object, its subresource and the verb from the method', () => {
    const ri = parse('PUT', '/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/node-1');
    expect(ri).toMatchObject({ isResourceRequest: true, verb: 'update', apiPrefix: 'apis', group: 'coordination.k8s.io', version: 'v1', namespace: 'kube-node-lease', resource: 'leases', name: 'node-1', subresource: '', parts: [] });
    expect(parse('PATCH', '/api/v1/namespaces/default/pods/web/status')).toMatchObject({ verb: 'patch', group: '', resource: 'pods', name: 'web', subresource: 'status' });
  });

  it('decodes percent-escaped segments and ignores empty ones', () => {
    expect(parse('GET', '/api//v1/namespaces/default/configmaps/a%3Ab')).toMatchObject({ namespace: 'default', resource: 'configmaps', name: 'a:b', verb: 'get' });
  });

  it('tells list, watch and deletecollection apart', () => {
    expect(parse('GET', '/api/v1/pods').verb).toBe('list');
    expect(parse('GET', '/api/v1/namespaces/ns/pods?watch=true').verb).toBe('watch');
    expect(parse('GET', '/api/v1/watch/namespaces/ns/pods')).toMatchObject({ verb: 'watch', namespace: 'ns', resource: 'pods' });
    expect(parse('DELETE', '/api/v1/namespaces/ns/pods').verb).toBe('deletecollection');
  });

  it('treats a namespace, its status and finalize as the namespaces resource', () => {
    expect(parse('GET', '/api/v1/namespaces/ns')).toMatchObject({ resource: 'namespaces', name: 'ns', namespace: 'ns' });
    expect(parse('PUT', '/api/v1/namespaces/ns/finalize')).toMatchObject({ resource: 'namespaces', name: 'ns', subresource: 'finalize' });
  });

  it('keeps the path after a proxy subresource, and leaves non-resource paths alone', () => {
    expect(parse('GET', '/api/v1/namespaces/ns/services/web:80/proxy/a/b')).toMatchObject({ resource: 'services', name: 'web:80', subresource: 'proxy', parts: ['a', 'b'] });
    expect(parse('GET', '/apis/apps')).toMatchObject({ isResourceRequest: false, verb: 'get' });
    expect(parse('GET', '/api/v1')).toMatchObject({ isResourceRequest: false, version: 'v1' });
    expect(parse('GET', '/healthz').isResourceRequest).toBe(false);
  });
});
