/**
 * A small etcd v3 client over @grpc/grpc-js: one connection to one member at
 * a time (the membership source decides when to move to another), every
 * unary call with a deadline, and every call with etcd's require-leader
 * metadata (`hasleader: true`): a member that has lost its leader (it is
 * partitioned away, or the cluster has no quorum) then fails the call, and
 * cancels a watch stream, with "etcdserver: no leader" instead of serving a
 * view that may be stale or keeping a watch open that will never deliver.
 */
import { type ChannelCredentials, type ClientDuplexStream, Client, Metadata, type ServiceError } from '@grpc/grpc-js';
import {
  type Codec,
  codec,
  type LeaseGrantResponse,
  type LeaseKeepAliveResponse,
  type LeaseRevokeResponse,
  type RangeResponse,
  type TxnResponse,
  type WatchResponse,
} from './proto.js';
import { VxnetError } from '../../netlink/errors.js';

const codecs = {
  RangeRequest: codec<object>('RangeRequest'),
  RangeResponse: codec<RangeResponse>('RangeResponse'),
  TxnRequest: codec<object>('TxnRequest'),
  TxnResponse: codec<TxnResponse>('TxnResponse'),
  WatchRequest: codec<object>('WatchRequest'),
  WatchResponse: codec<WatchResponse>('WatchResponse'),
  LeaseGrantRequest: codec<object>('LeaseGrantRequest'),
  LeaseGrantResponse: codec<LeaseGrantResponse>('LeaseGrantResponse'),
  LeaseRevokeRequest: codec<object>('LeaseRevokeRequest'),
  LeaseRevokeResponse: codec<LeaseRevokeResponse>('LeaseRevokeResponse'),
  LeaseKeepAliveRequest: codec<object>('LeaseKeepAliveRequest'),
  LeaseKeepAliveResponse: codec<LeaseKeepAliveResponse>('LeaseKeepAliveResponse'),
};

/** etcd's require-leader metadata (clientv3.WithRequireLeader). */
function requireLeader(): Metadata {
  const metadata = new Metadata();
  metadata.set('hasleader', 'true');
  return metadata;
}

/** A failed call in words: grpc's details ("etcdserver: no leader", "No connection established"). */
export function describeCallError(error: unknown): string {
  const e = error as Partial<ServiceError>;
  // grpc-js wraps a refused or failed connection in text that says nothing more than the socket's own error.
  return (e.details || e.message || String(error))
    .replace(/^No connection established\. Last error: (Error: )?/, '')
    .replace(/\.? ?Resolution note: ?$/, '');
}

export type CompareOp =
  | { key: Buffer; target: 'CREATE'; create_revision: string; result?: 'EQUAL' }
  | { key: Buffer; target: 'MOD'; mod_revision: string; result?: 'EQUAL' };

export type RequestOp =
  | { request_range: { key: Buffer; range_end?: Buffer } }
  | { request_put: { key: Buffer; value: Buffer; lease?: string } };

/** A watch response with when its bytes reached this process (performance.now(), before decoding). */
export type ReceivedWatchResponse = WatchResponse & { receivedAt: number };

export class EtcdConnection {
  private readonly client: Client;

  constructor(
    readonly target: string,
    credentials: ChannelCredentials,
    readonly deadlineMs: number,
  ) {
    this.client = new Client(target, credentials, {
      // Fail fast and reconnect soon: the membership source moves to another member rather than wait here.
      'grpc.initial_reconnect_backoff_ms': 250,
      'grpc.max_reconnect_backoff_ms': 1000,
      // A connection whose peer vanished (a cut link) is noticed by pings, not by a hung call.
      'grpc.keepalive_time_ms': 5000,
      'grpc.keepalive_timeout_ms': 2000,
      'grpc.keepalive_permit_without_calls': 1,
    });
  }

  private unary<Req, Res>(method: string, req: Codec<Req>, res: Codec<Res>, value: Req): Promise<Res> {
    return new Promise((resolve, reject) => {
      this.client.makeUnaryRequest(
        method,
        req.serialize,
        res.deserialize,
        value,
        requireLeader(),
        { deadline: Date.now() + this.deadlineMs },
        (error, response) => {
          if (error) reject(error);
          else if (response === undefined) reject(new VxnetError(`etcd ${this.target}: ${method} answered no message`));
          else resolve(response);
        },
      );
    });
  }

  /** Keys from `key` to `rangeEnd` (or just `key`), linearizable (through the leader). */
  range(key: Buffer, rangeEnd?: Buffer): Promise<RangeResponse> {
    return this.unary('/etcdserverpb.KV/Range', codecs.RangeRequest, codecs.RangeResponse, {
      key,
      ...(rangeEnd ? { range_end: rangeEnd } : {}),
    });
  }

  txn(compare: CompareOp[], success: RequestOp[], failure: RequestOp[]): Promise<TxnResponse> {
    return this.unary('/etcdserverpb.KV/Txn', codecs.TxnRequest, codecs.TxnResponse, {
      compare: compare.map((c) => ({ result: 'EQUAL', ...c })),
      success,
      failure,
    });
  }

  put(key: Buffer, value: Buffer, lease?: string): Promise<TxnResponse> {
    return this.txn([], [{ request_put: { key, value, ...(lease ? { lease } : {}) } }], []);
  }

  leaseGrant(ttl: number): Promise<LeaseGrantResponse> {
    return this.unary('/etcdserverpb.Lease/LeaseGrant', codecs.LeaseGrantRequest, codecs.LeaseGrantResponse, {
      TTL: String(ttl),
    });
  }

  leaseRevoke(id: string): Promise<LeaseRevokeResponse> {
    return this.unary('/etcdserverpb.Lease/LeaseRevoke', codecs.LeaseRevokeRequest, codecs.LeaseRevokeResponse, {
      ID: id,
    });
  }

  /** A keep-alive stream: keepAlive(id) renews once and resolves with the lease's TTL left (0: it has expired). */
  keepAliveStream(): { keepAlive(id: string): Promise<number>; close(): void } {
    const stream = this.client.makeBidiStreamRequest(
      '/etcdserverpb.Lease/LeaseKeepAlive',
      codecs.LeaseKeepAliveRequest.serialize,
      codecs.LeaseKeepAliveResponse.deserialize,
      requireLeader(),
    ) as ClientDuplexStream<object, LeaseKeepAliveResponse>;
    let waiting: { resolve: (ttl: number) => void; reject: (error: Error) => void } | undefined;
    let failed: Error | undefined;
    stream.on('data', (response: LeaseKeepAliveResponse) => {
      const w = waiting;
      waiting = undefined;
      w?.resolve(Number(response.TTL));
    });
    const fail = (error: Error): void => {
      failed = error;
      const w = waiting;
      waiting = undefined;
      w?.reject(error);
    };
    stream.on('error', fail);
    stream.on('end', () => fail(new Error('the keep-alive stream ended')));
    return {
      keepAlive: (id) =>
        new Promise<number>((resolve, reject) => {
          if (failed) return reject(failed);
          const timer = setTimeout(() => {
            waiting = undefined;
            reject(new Error(`no keep-alive answer within ${this.deadlineMs} ms`));
          }, this.deadlineMs);
          waiting = {
            resolve: (ttl) => {
              clearTimeout(timer);
              resolve(ttl);
            },
            reject: (error) => {
              clearTimeout(timer);
              reject(error);
            },
          };
          stream.write({ ID: id });
        }),
      close: () => {
        stream.removeAllListeners('error');
        stream.on('error', () => undefined);
        stream.cancel();
      },
    };
  }

  /** A watch stream of every key from `key` to `rangeEnd`, starting at `startRevision`. */
  watch(key: Buffer, rangeEnd: Buffer, startRevision: string): ClientDuplexStream<object, ReceivedWatchResponse> {
    const stream = this.client.makeBidiStreamRequest(
      '/etcdserverpb.Watch/Watch',
      codecs.WatchRequest.serialize,
      (bytes: Buffer): ReceivedWatchResponse => {
        const receivedAt = performance.now();
        return Object.assign(codecs.WatchResponse.deserialize(bytes), { receivedAt });
      },
      requireLeader(),
    ) as ClientDuplexStream<object, ReceivedWatchResponse>;
    stream.write({
      create_request: { key, range_end: rangeEnd, start_revision: startRevision, progress_notify: true },
    });
    return stream;
  }

  close(): void {
    this.client.close();
  }
}
