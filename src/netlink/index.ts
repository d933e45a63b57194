/**
 * vxnet/netlink: the family-agnostic netlink core. Everything above it
 * (rtnetlink, nftables, the building blocks) uses only what is exported here.
 */
export { align, attrSpace, messageLength, messageSpace, NLA_HDRLEN, NLMSG_HDRLEN } from './align.js';
export * from './constants.js';
export {
  type FieldKind,
  type FieldSpec,
  type Layout,
  HOST_LE,
  layout,
  nlattr,
  nlmsghdr,
  nlmsgerr,
  u8,
  s8,
  u16,
  s16,
  u32,
  s32,
  u64,
  be16,
  be32,
  be64,
  pad,
  type NlMsgHdr,
  type NlAttr,
  type NlMsgErr,
} from './layout.js';
export { attr, attrSet, type Attr, type AttrDef, type AttrKind, type AttrSet, type SubMessage } from './schema.js';
export {
  decodeAttrs,
  encodeAttrs,
  formatIPv4,
  formatIPv6,
  formatMac,
  parseIP,
  parseIPv4,
  parseIPv6,
  parseMac,
  type Decoded,
  type RawAttr,
  STRUCT_TAIL,
  UNFLAGGED_NEST,
} from './codec.js';
export { Writer } from './writer.js';
export {
  type Ack,
  decodeMessage,
  decodePayload,
  doneErrno,
  encodeMessage,
  encodePayloadInto,
  encodeRaw,
  finishMessage,
  forEachMessage,
  type MessageSchema,
  parseAck,
  parseMessages,
  type RawMessage,
  stamp,
} from './message.js';
export {
  AbortError,
  ClosedError,
  DecodeError,
  DumpInterruptedError,
  errnoCode,
  errnoMessage,
  NetlinkError,
  type NetlinkErrorDetails,
  OverrunError,
  TimeoutError,
  ValidationError,
  VxnetError,
} from './errors.js';
export {
  type BatchFailure,
  type BatchOptions,
  type BatchResult,
  Connection,
  type ConnectionOptions,
  type DumpOptions,
  type GroupReply,
  type RequestContext,
  type RequestOptions,
} from './connection.js';
export { NativeTransport, type NativeTransportOptions, type Transport, type TransportHandlers } from './transport.js';
export { RelayTransport, type RelayOptions } from './relay.js';
export {
  type NamespaceIdentity,
  namespaceIdentity,
  namespacePath,
  type NamespaceRef,
  namespaceRef,
  NETNS_RUN_DIR,
  validateNamespaceName,
} from './namespace.js';
export { Subscription, type SubscriptionEvent, type SubscriptionOptions } from './subscription.js';
export {
  type Chunk,
  comparedBytes,
  DEFAULT_REPLAY_PORT,
  firstDifference,
  type Fixture,
  type FixtureEntry,
  type FixtureHeader,
  type FixtureMeta,
  FixtureParseError,
  FIXTURE_FORMAT_VERSION,
  formatFixture,
  type FormatOptions,
  hexDiff,
  type HexDiffOptions,
  type MessageHeader,
  parseFixture,
  type Recording,
  RecordingTransport,
  ReplayMismatchError,
  type ReplayOptions,
  ReplayTransport,
  splitDatagram,
} from './fixtures.js';
