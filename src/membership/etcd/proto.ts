/**
 * The part of etcd's v3 API (api/etcdserverpb/rpc.proto and mvccpb/kv.proto
 * of etcd 3.4) that membership uses: KV (Range, Put, DeleteRange, Txn),
 * Watch, Lease. Field numbers are etcd's; messages and fields we never send
 * or read are left out (protobuf skips unknown fields on decode). Written as
 * descriptors for our own codec (protobuf.ts) rather than a .proto file, so
 * the built package needs no asset beside its JavaScript and no proto parser
 * at run time.
 */
import { decodeMessage, defineEnum, defineMessage, encodeMessage, field, type MessageDescriptor } from './protobuf.js';

const ResponseHeader = defineMessage('etcdserverpb.ResponseHeader', [
  field(1, 'cluster_id', 'uint64'),
  field(2, 'member_id', 'uint64'),
  field(3, 'revision', 'int64'),
  field(4, 'raft_term', 'uint64'),
]);

const KeyValue = defineMessage('mvccpb.KeyValue', [
  field(1, 'key', 'bytes'),
  field(2, 'create_revision', 'int64'),
  field(3, 'mod_revision', 'int64'),
  field(4, 'version', 'int64'),
  field(5, 'value', 'bytes'),
  field(6, 'lease', 'int64'),
]);

const RangeRequest = defineMessage('etcdserverpb.RangeRequest', [
  field(1, 'key', 'bytes'),
  field(2, 'range_end', 'bytes'),
  field(3, 'limit', 'int64'),
  field(4, 'revision', 'int64'),
  field(7, 'serializable', 'bool'),
  field(8, 'keys_only', 'bool'),
  field(9, 'count_only', 'bool'),
]);
const RangeResponse = defineMessage('etcdserverpb.RangeResponse', [
  field(1, 'header', ResponseHeader),
  field(2, 'kvs', KeyValue, { repeated: true }),
  field(3, 'more', 'bool'),
  field(4, 'count', 'int64'),
]);

const PutRequest = defineMessage('etcdserverpb.PutRequest', [
  field(1, 'key', 'bytes'),
  field(2, 'value', 'bytes'),
  field(3, 'lease', 'int64'),
  field(4, 'prev_kv', 'bool'),
]);
const PutResponse = defineMessage('etcdserverpb.PutResponse', [
  field(1, 'header', ResponseHeader),
  field(2, 'prev_kv', KeyValue),
]);

const DeleteRangeRequest = defineMessage('etcdserverpb.DeleteRangeRequest', [
  field(1, 'key', 'bytes'),
  field(2, 'range_end', 'bytes'),
  field(3, 'prev_kv', 'bool'),
]);
const DeleteRangeResponse = defineMessage('etcdserverpb.DeleteRangeResponse', [
  field(1, 'header', ResponseHeader),
  field(2, 'deleted', 'int64'),
]);

const RequestOp = defineMessage('etcdserverpb.RequestOp', [
  field(1, 'request_range', RangeRequest, { oneof: 'request' }),
  field(2, 'request_put', PutRequest, { oneof: 'request' }),
  field(3, 'request_delete_range', DeleteRangeRequest, { oneof: 'request' }),
]);
const ResponseOp = defineMessage('etcdserverpb.ResponseOp', [
  field(1, 'response_range', RangeResponse, { oneof: 'response' }),
  field(2, 'response_put', PutResponse, { oneof: 'response' }),
  field(3, 'response_delete_range', DeleteRangeResponse, { oneof: 'response' }),
]);

const CompareResult = defineEnum('etcdserverpb.Compare.CompareResult', ['EQUAL', 'GREATER', 'LESS', 'NOT_EQUAL']);
const CompareTarget = defineEnum('etcdserverpb.Compare.CompareTarget', ['VERSION', 'CREATE', 'MOD', 'VALUE', 'LEASE']);
const Compare = defineMessage('etcdserverpb.Compare', [
  field(1, 'result', CompareResult),
  field(2, 'target', CompareTarget),
  field(3, 'key', 'bytes'),
  field(4, 'version', 'int64', { oneof: 'target_union' }),
  field(5, 'create_revision', 'int64', { oneof: 'target_union' }),
  field(6, 'mod_revision', 'int64', { oneof: 'target_union' }),
  field(7, 'value', 'bytes', { oneof: 'target_union' }),
  field(8, 'lease', 'int64', { oneof: 'target_union' }),
]);

const TxnRequest = defineMessage('etcdserverpb.TxnRequest', [
  field(1, 'compare', Compare, { repeated: true }),
  field(2, 'success', RequestOp, { repeated: true }),
  field(3, 'failure', RequestOp, { repeated: true }),
]);
const TxnResponse = defineMessage('etcdserverpb.TxnResponse', [
  field(1, 'header', ResponseHeader),
  field(2, 'succeeded', 'bool'),
  field(3, 'responses', ResponseOp, { repeated: true }),
]);

const WatchCreateRequest = defineMessage('etcdserverpb.WatchCreateRequest', [
  field(1, 'key', 'bytes'),
  field(2, 'range_end', 'bytes'),
  field(3, 'start_revision', 'int64'),
  field(4, 'progress_notify', 'bool'),
  field(6, 'prev_kv', 'bool'),
  field(7, 'watch_id', 'int64'),
]);
const WatchCancelRequest = defineMessage('etcdserverpb.WatchCancelRequest', [field(1, 'watch_id', 'int64')]);
const WatchProgressRequest = defineMessage('etcdserverpb.WatchProgressRequest', []);
const WatchRequest = defineMessage('etcdserverpb.WatchRequest', [
  field(1, 'create_request', WatchCreateRequest, { oneof: 'request_union' }),
  field(2, 'cancel_request', WatchCancelRequest, { oneof: 'request_union' }),
  field(3, 'progress_request', WatchProgressRequest, { oneof: 'request_union' }),
]);
const EventType = defineEnum('mvccpb.Event.EventType', ['PUT', 'DELETE']);
const Event = defineMessage('mvccpb.Event', [
  field(1, 'type', EventType),
  field(2, 'kv', KeyValue),
  field(3, 'prev_kv', KeyValue),
]);
const WatchResponse = defineMessage('etcdserverpb.WatchResponse', [
  field(1, 'header', ResponseHeader),
  field(2, 'watch_id', 'int64'),
  field(3, 'created', 'bool'),
  field(4, 'canceled', 'bool'),
  field(5, 'compact_revision', 'int64'),
  field(6, 'cancel_reason', 'string'),
  field(7, 'fragment', 'bool'),
  field(11, 'events', Event, { repeated: true }),
]);

const LeaseGrantRequest = defineMessage('etcdserverpb.LeaseGrantRequest', [
  field(1, 'TTL', 'int64'),
  field(2, 'ID', 'int64'),
]);
const LeaseGrantResponse = defineMessage('etcdserverpb.LeaseGrantResponse', [
  field(1, 'header', ResponseHeader),
  field(2, 'ID', 'int64'),
  field(3, 'TTL', 'int64'),
  field(4, 'error', 'string'),
]);
const LeaseRevokeRequest = defineMessage('etcdserverpb.LeaseRevokeRequest', [field(1, 'ID', 'int64')]);
const LeaseRevokeResponse = defineMessage('etcdserverpb.LeaseRevokeResponse', [field(1, 'header', ResponseHeader)]);
const LeaseKeepAliveRequest = defineMessage('etcdserverpb.LeaseKeepAliveRequest', [field(1, 'ID', 'int64')]);
const LeaseKeepAliveResponse = defineMessage('etcdserverpb.LeaseKeepAliveResponse', [
  field(1, 'header', ResponseHeader),
  field(2, 'ID', 'int64'),
  field(3, 'TTL', 'int64'),
]);

/** Every message by its short name: codec() takes these (grpc calls carry the *Request and *Response ones). */
export const ETCD_MESSAGES = {
  RangeRequest,
  RangeResponse,
  PutRequest,
  PutResponse,
  DeleteRangeRequest,
  DeleteRangeResponse,
  Compare,
  RequestOp,
  ResponseOp,
  TxnRequest,
  TxnResponse,
  WatchRequest,
  WatchCreateRequest,
  WatchCancelRequest,
  WatchProgressRequest,
  WatchResponse,
  Event,
  KeyValue,
  ResponseHeader,
  LeaseGrantRequest,
  LeaseGrantResponse,
  LeaseRevokeRequest,
  LeaseRevokeResponse,
  LeaseKeepAliveRequest,
  LeaseKeepAliveResponse,
} satisfies Record<string, MessageDescriptor>;

export type EtcdMessageName = keyof typeof ETCD_MESSAGES;

/** A message type's encode/decode for grpc-js (int64 as decimal strings: lease IDs exceed 2^53). */
export interface Codec<T> {
  serialize(value: T): Buffer;
  deserialize(bytes: Buffer): T;
}

export function codec<T>(name: EtcdMessageName): Codec<T> {
  const type = ETCD_MESSAGES[name];
  return {
    serialize: (value) => encodeMessage(type, value as object),
    deserialize: (bytes) => decodeMessage(type, bytes) as T,
  };
}

/*
 * The decoded responses (protobuf.ts's shapes: int64/uint64 as decimal strings, enums by name, scalars always
 * present). Message fields are optional where etcd may leave them out; `header` and an event's `kv` are typed
 * as present because etcd always sends them (if one were missing, the decoder would leave it undefined).
 */

export interface KeyValue {
  key: Buffer;
  create_revision: string;
  mod_revision: string;
  version: string;
  value: Buffer;
  lease: string;
}

export interface ResponseHeader {
  cluster_id: string;
  member_id: string;
  revision: string;
  raft_term: string;
}

export interface RangeResponse {
  header: ResponseHeader;
  kvs: KeyValue[];
  more: boolean;
  count: string;
}

export interface PutResponse {
  header: ResponseHeader;
  prev_kv?: KeyValue;
}

export interface DeleteRangeResponse {
  header: ResponseHeader;
  deleted: string;
}

/** One of the three, by the request it answers. */
export interface ResponseOp {
  response_range?: RangeResponse;
  response_put?: PutResponse;
  response_delete_range?: DeleteRangeResponse;
}

export interface TxnResponse {
  header: ResponseHeader;
  succeeded: boolean;
  responses: ResponseOp[];
}

export interface WatchEvent {
  /** A number only for an event type newer than etcd 3.4's two. */
  type: 'PUT' | 'DELETE' | number;
  kv: KeyValue;
  prev_kv?: KeyValue;
}

export interface WatchResponse {
  header: ResponseHeader;
  watch_id: string;
  created: boolean;
  canceled: boolean;
  compact_revision: string;
  cancel_reason: string;
  fragment: boolean;
  events: WatchEvent[];
}

export interface LeaseGrantResponse {
  header: ResponseHeader;
  ID: string;
  TTL: string;
  error: string;
}

export interface LeaseRevokeResponse {
  header: ResponseHeader;
}

export interface LeaseKeepAliveResponse {
  header: ResponseHeader;
  ID: string;
  TTL: string;
}
