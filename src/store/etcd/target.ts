// Turns etcd client URLs into a gRPC target and credentials.
import { isIPv4, isIPv6 } from 'node:net';
import { credentials, type ChannelCredentials } from '@grpc/grpc-js';
import { InvalidRequestError } from '../errors.ts';

export interface Target {
  target: string;
  credentials: ChannelCredentials;
}

function parse(endpoint: string): URL {
  const url = new URL(endpoint.includes('://') ? endpoint : `http://${endpoint}`);
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new InvalidRequestError(`etcd endpoint ${JSON.stringify(endpoint)}: unsupported scheme ${url.protocol}`);
  }
  return url;
}

/**
 * Several endpoints become one multi-address target when they are all IP literals of one family
 * (gRPC then fails over between them); otherwise only the first endpoint is used.
 */
export function toTarget(endpoints: string[]): Target {
  if (endpoints.length === 0) throw new InvalidRequestError('no etcd endpoints given');
  const urls = endpoints.map(parse);
  const secure = urls[0]!.protocol === 'https:';
  if (urls.some((u) => (u.protocol === 'https:') !== secure)) throw new InvalidRequestError('etcd endpoints mix http and https');
  const hostPort = (u: URL) => `${u.hostname}:${u.port || '2379'}`;
  const bare = (u: URL) => u.hostname.replace(/^\[|\]$/g, '');
  let target = hostPort(urls[0]!);
  if (urls.length > 1 && urls.every((u) => isIPv4(bare(u)))) target = `ipv4:${urls.map(hostPort).join(',')}`;
  else if (urls.length > 1 && urls.every((u) => isIPv6(bare(u)))) target = `ipv6:${urls.map(hostPort).join(',')}`;
  return { target, credentials: secure ? credentials.createSsl() : credentials.createInsecure() };
}
