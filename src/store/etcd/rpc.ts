// A thin typed gRPC client for the etcd v3 services we use, over one channel.
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import type {
  WireCompactionRequest, WireCompactionResponse, WireDeleteRangeRequest, WireDeleteRangeResponse,
  WireLeaseGrantRequest, WireLeaseGrantResponse, WireLeaseIdRequest, WireLeaseKeepAliveResponse,
  WireLeaseRevokeResponse, WireLeaseTimeToLiveResponse, WirePutRequest, WirePutResponse,
  WireRangeRequest, WireRangeResponse, WireTxnRequest, WireTxnResponse, WireWatchRequest, WireWatchResponse,
} from './wire.ts';

/** Where the .proto files live: next to this module, or in the source tree when run from dist/. */
function protoDir(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  const candidates = [join(here, 'proto'), join(here, '..', '..', '..', 'src', 'store', 'etcd', 'proto')];
  return candidates.find((d) => existsSync(join(d, 'rpc.proto'))) ?? candidates[0]!;
}

let definition: protoLoader.PackageDefinition | undefined;
function loadDefinition(): protoLoader.PackageDefinition {
  definition ??= protoLoader.loadSync('rpc.proto', {
    includeDirs: [protoDir()],
    keepCase: true,
    longs: Number,
    enums: String,
    defaults: true,
    oneofs: true,
  });
  return definition;
}

function method(service: string, name: string): protoLoader.MethodDefinition<object, object> {
  const svc = loadDefinition()[`etcdserverpb.${service}`] as protoLoader.ServiceDefinition | undefined;
  const m = svc?.[name];
  if (!m) throw new Error(`etcd proto: ${service}.${name} not defined`);
  return m;
}

export interface RpcOptions {
  /** Deadline of each unary call. */
  requestTimeoutMs: number;
}

/** Rejection reason of calls cut short by `close()`. */
export class ClosedError extends Error {
  constructor() {
    super('etcd client closed');
    this.name = 'ClosedError';
  }
}

export type Duplex<Req, Res> = grpc.ClientDuplexStream<Req, Res>;

export class EtcdRpc {
  readonly client: grpc.Client;
  readonly #opts: RpcOptions;
  readonly #calls = new Set<{ cancel(): void }>();
  #closed = false;

  constructor(target: string, credentials: grpc.ChannelCredentials, opts: RpcOptions) {
    this.#opts = opts;
    this.client = new grpc.Client(target, credentials, {
      'grpc.max_send_message_length': 8 * 1024 * 1024,
      'grpc.max_receive_message_length': -1,
      'grpc.keepalive_time_ms': 30_000,
      'grpc.keepalive_timeout_ms': 10_000,
      'grpc.initial_reconnect_backoff_ms': 100,
      'grpc.max_reconnect_backoff_ms': 2_000,
      'grpc.use_local_subchannel_pool': 1,
      'grpc.enable_http_proxy': 0,
    });
  }

  get closed(): boolean {
    return this.#closed;
  }

  waitForReady(timeoutMs: number): Promise<void> {
    return new Promise((resolve, reject) => {
      this.client.waitForReady(Date.now() + timeoutMs, (err) => (err ? reject(err) : resolve()));
    });
  }

  #unary<Req, Res>(service: string, name: string, req: Req): Promise<Res> {
    if (this.#closed) return Promise.reject(new ClosedError());
    const m = method(service, name);
    return new Promise<Res>((resolve, reject) => {
      const call = this.client.makeUnaryRequest<Req, Res>(
        m.path,
        m.requestSerialize as (v: Req) => Buffer,
        m.responseDeserialize as (b: Buffer) => Res,
        req,
        new grpc.Metadata(),
        { deadline: Date.now() + this.#opts.requestTimeoutMs },
        (err, res) => {
          this.#calls.delete(call);
          if (this.#closed) reject(new ClosedError());
          else if (err || res === undefined) reject(err ?? new Error('empty response'));
          else resolve(res);
        },
      );
      this.#calls.add(call);
    });
  }

  #bidi<Req, Res>(service: string, name: string): Duplex<Req, Res> {
    if (this.#closed) throw new ClosedError();
    const m = method(service, name);
    const call = this.client.makeBidiStreamRequest<Req, Res>(
      m.path,
      m.requestSerialize as (v: Req) => Buffer,
      m.responseDeserialize as (b: Buffer) => Res,
      new grpc.Metadata(),
    );
    this.#calls.add(call);
    const forget = () => this.#calls.delete(call);
    call.once('close', forget);
    call.once('error', forget);
    return call;
  }

  range(req: WireRangeRequest): Promise<WireRangeResponse> { return this.#unary('KV', 'Range', req); }
  put(req: WirePutRequest): Promise<WirePutResponse> { return this.#unary('KV', 'Put', req); }
  deleteRange(req: WireDeleteRangeRequest): Promise<WireDeleteRangeResponse> { return this.#unary('KV', 'DeleteRange', req); }
  txn(req: WireTxnRequest): Promise<WireTxnResponse> { return this.#unary('KV', 'Txn', req); }
  compact(req: WireCompactionRequest): Promise<WireCompactionResponse> { return this.#unary('KV', 'Compact', req); }
  leaseGrant(req: WireLeaseGrantRequest): Promise<WireLeaseGrantResponse> { return this.#unary('Lease', 'LeaseGrant', req); }
  leaseRevoke(req: WireLeaseIdRequest): Promise<WireLeaseRevokeResponse> { return this.#unary('Lease', 'LeaseRevoke', req); }
  leaseTimeToLive(req: WireLeaseIdRequest): Promise<WireLeaseTimeToLiveResponse> { return this.#unary('Lease', 'LeaseTimeToLive', req); }
  watchStream(): Duplex<WireWatchRequest, WireWatchResponse> { return this.#bidi('Watch', 'Watch'); }
  keepAliveStream(): Duplex<WireLeaseIdRequest, WireLeaseKeepAliveResponse> { return this.#bidi('Lease', 'LeaseKeepAlive'); }

  /** Cancels every call in flight (they fail with ClosedError) and closes the channel. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const c of [...this.#calls]) c.cancel();
    this.#calls.clear();
    this.client.close();
  }
}
