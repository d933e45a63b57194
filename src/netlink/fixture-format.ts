/**
 * The text form of a recorded netlink exchange (a "fixture"): a header that
 * says how to regenerate it, then every datagram in the order it crossed the
 * socket, each netlink message summarised on a comment line and dumped as
 * hex with offsets. Text, not binary, so that a re-recording shows up in a
 * review as a readable diff. The format is specified in docs/fixtures.md.
 *
 * The summary lines are checked against the bytes when a fixture is parsed:
 * an edit by hand that changes one without the other is caught, with the
 * line that disagrees.
 */
import { release } from 'node:os';
import { align, NLMSG_HDRLEN } from './align.js';
import { NETLINK_NETFILTER, NETLINK_ROUTE, NLMSG_DONE, NLMSG_ERROR, NLMSG_NOOP, NLMSG_OVERRUN } from './constants.js';
import { errnoCode, VxnetError } from './errors.js';
import { HOST_LE } from './layout.js';

/** The version of the text format this code reads and writes. */
export const FIXTURE_FORMAT_VERSION = 1;

const MAGIC = '# vxnet netlink fixture: recorded kernel bytes. Never edit by hand: re-record it (docs/fixtures.md).';

/** One thing that crossed the socket, in order. */
export type FixtureEntry =
  /** One sendmsg: the concatenation of the messages passed to Transport.send. */
  | { kind: 'send'; datagram: Buffer; line?: number }
  /** One datagram from the kernel. */
  | { kind: 'recv'; datagram: Buffer; line?: number }
  /**
   * A descriptor the transport opened (Transport.openFd). Its number can
   * appear in request bytes (IFLA_NET_NS_FD), so replay hands out the same one.
   */
  | { kind: 'openfd'; fd: number; line?: number };

/** What a RecordingTransport captured. */
export interface Recording {
  /** Netlink protocol of the socket (NETLINK_ROUTE = 0, ...). */
  protocol: number;
  /** The socket's port id when it was recorded: replies to it carry this pid. */
  port: number;
  entries: FixtureEntry[];
}

/** Header fields a recorder supplies. */
export interface FixtureMeta {
  /** "core/link-dump": area/name, also the file's place under test/fixtures. */
  name: string;
  /** The exact command that regenerates the fixture. */
  recipe: string;
  /** What the scene was and what was asked, in a sentence or two (may span lines). */
  description?: string;
  /** Defaults to os.release() of the recording machine. */
  kernel?: string;
  /** ISO 8601; defaults to now. */
  date?: string;
}

/** The header of a parsed fixture: every field present. */
export interface FixtureHeader extends Required<FixtureMeta> {
  format: number;
  byteOrder: 'little-endian' | 'big-endian';
}

export interface Fixture extends Recording {
  header: FixtureHeader;
}

export interface FormatOptions {
  /**
   * Names message types of the fixture's family (18 → "RTM_GETLINK") for the
   * summary lines. Control messages (NLMSG_ERROR, ...) are always named.
   */
  typeName?: (type: number) => string | undefined;
}

/** A fixture text that does not follow the format; `line` is 1-based. */
export class FixtureParseError extends VxnetError {
  override name = 'FixtureParseError';
  constructor(
    readonly source: string,
    readonly line: number,
    readonly reason: string,
  ) {
    super(`${source}:${line}: ${reason}`);
  }
}

const HOST_ORDER = HOST_LE ? 'little-endian' : 'big-endian';
const PROTOCOL_NAMES: Record<number, string> = {
  [NETLINK_ROUTE]: 'NETLINK_ROUTE',
  [NETLINK_NETFILTER]: 'NETLINK_NETFILTER',
};
const CONTROL_NAMES: Record<number, string> = {
  [NLMSG_NOOP]: 'NLMSG_NOOP',
  [NLMSG_ERROR]: 'NLMSG_ERROR',
  [NLMSG_DONE]: 'NLMSG_DONE',
  [NLMSG_OVERRUN]: 'NLMSG_OVERRUN',
};

// ---------------------------------------------------------------- splitting datagrams

export interface MessageHeader {
  len: number;
  type: number;
  flags: number;
  seq: number;
  pid: number;
}

/**
 * A slice of a datagram: one netlink message with the padding after it, or
 * (`header` undefined) trailing bytes that do not form a message, which the
 * format keeps so that even a malformed datagram can be recorded or faked.
 */
export interface Chunk {
  start: number;
  end: number;
  header?: MessageHeader;
}

function readHeader(buf: Buffer, at: number, little: boolean): MessageHeader {
  return little
    ? {
        len: buf.readUInt32LE(at),
        type: buf.readUInt16LE(at + 4),
        flags: buf.readUInt16LE(at + 6),
        seq: buf.readUInt32LE(at + 8),
        pid: buf.readUInt32LE(at + 12),
      }
    : {
        len: buf.readUInt32BE(at),
        type: buf.readUInt16BE(at + 4),
        flags: buf.readUInt16BE(at + 6),
        seq: buf.readUInt32BE(at + 8),
        pid: buf.readUInt32BE(at + 12),
      };
}

/** Splits a datagram into its messages, never throwing: what does not parse becomes one raw chunk. */
export function splitDatagram(datagram: Buffer, little = HOST_LE): Chunk[] {
  const chunks: Chunk[] = [];
  let offset = 0;
  while (offset < datagram.length) {
    const rest = datagram.length - offset;
    const header = rest >= NLMSG_HDRLEN ? readHeader(datagram, offset, little) : undefined;
    if (!header || header.len < NLMSG_HDRLEN || header.len > rest) {
      chunks.push({ start: offset, end: datagram.length });
      break;
    }
    const end = Math.min(offset + align(header.len), datagram.length);
    chunks.push({ start: offset, end, header });
    offset = end;
  }
  return chunks;
}

// ---------------------------------------------------------------- formatting

function hex(value: number, digits: number): string {
  return value.toString(16).padStart(digits, '0');
}

/** The summary line of a message; parse checks the numbers in it against the bytes. */
function summarise(header: MessageHeader, chunk: Buffer, little: boolean, options: FormatOptions): string {
  const name = CONTROL_NAMES[header.type] ?? (header.type >= 0x10 ? options.typeName?.(header.type) : undefined);
  let text =
    `# len=${header.len} type=${header.type}${name ? ` ${name}` : ''} ` +
    `flags=0x${hex(header.flags, 4)} seq=${header.seq} pid=${header.pid}`;
  // Notes for the reader only (not checked): what an error or a done says.
  const payload = chunk.subarray(NLMSG_HDRLEN, header.len);
  if ((header.type === NLMSG_ERROR || header.type === NLMSG_DONE) && payload.length >= 4) {
    const code = little ? payload.readInt32LE(0) : payload.readInt32BE(0);
    if (header.type === NLMSG_ERROR) text += code === 0 ? ' -- ack' : ` -- error ${code} ${errnoCode(-code)}`;
    else if (code < 0) text += ` -- error ${code} ${errnoCode(-code)}`;
  }
  return text;
}

/** Hex lines: the offset in the message, then 16 bytes in groups of 4, in memory order. */
function hexLines(bytes: Buffer, indent: string): string[] {
  const lines: string[] = [];
  for (let at = 0; at < bytes.length; at += 16) {
    const groups: string[] = [];
    for (let g = at; g < Math.min(at + 16, bytes.length); g += 4)
      groups.push(bytes.toString('hex', g, Math.min(g + 4, bytes.length)));
    // 4 digits cover 64 KiB, more than a kernel datagram holds; longer offsets just grow.
    lines.push(`${indent}${hex(at, 4)}: ${groups.join(' ')}`);
  }
  return lines;
}

function checkHeaderValue(key: string, value: string): void {
  if (/[\r\n]/.test(value))
    throw new VxnetError(`fixture header ${key}: must be one line (got ${JSON.stringify(value)})`);
}

/** Writes a recording as fixture text. */
export function formatFixture(recording: Recording, meta: FixtureMeta, options: FormatOptions = {}): string {
  const little = HOST_LE;
  const kernel = meta.kernel ?? release();
  const date = meta.date ?? new Date().toISOString();
  for (const [key, value] of Object.entries({ name: meta.name, recipe: meta.recipe, kernel, date }))
    checkHeaderValue(key, value);
  if (!meta.name || !meta.recipe) throw new VxnetError('fixture header: name and recipe are required');

  const out: string[] = [MAGIC];
  out.push(`format: ${FIXTURE_FORMAT_VERSION}`);
  out.push(`name: ${meta.name}`);
  out.push(`recipe: ${meta.recipe}`);
  out.push(`kernel: ${kernel}`);
  out.push(`date: ${date}`);
  out.push(`byte-order: ${HOST_ORDER}`);
  const protocolName = PROTOCOL_NAMES[recording.protocol];
  out.push(`protocol: ${recording.protocol}${protocolName ? ` ${protocolName}` : ''}`);
  out.push(`port: ${recording.port}`);
  for (const line of (meta.description ?? '').split('\n')) if (line.trim()) out.push(`description: ${line.trim()}`);

  for (const entry of recording.entries) {
    out.push('');
    if (entry.kind === 'openfd') {
      out.push(`openfd ${entry.fd}`);
      continue;
    }
    out.push(entry.kind);
    for (const chunk of splitDatagram(entry.datagram, little)) {
      const bytes = entry.datagram.subarray(chunk.start, chunk.end);
      out.push(
        chunk.header
          ? `  ${summarise(chunk.header, bytes, little, options)}`
          : `  # raw len=${bytes.length} -- not a netlink message`,
      );
      out.push(...hexLines(bytes, '  '));
    }
  }
  return `${out.join('\n')}\n`;
}

// ---------------------------------------------------------------- parsing

const HEADER_KEYS = [
  'format',
  'name',
  'recipe',
  'kernel',
  'date',
  'byte-order',
  'protocol',
  'port',
  'description',
] as const;
const SUMMARY =
  /^ {2}# len=(\d+) type=(\d+)(?: ([A-Za-z_][A-Za-z0-9_]*))? flags=0x([0-9a-f]{4}) seq=(\d+) pid=(\d+)(?: -- .*)?$/;
const RAW_SUMMARY = /^ {2}# raw len=(\d+)(?: -- .*)?$/;
const HEX_LINE = /^ {2}([0-9a-f]{4,8}): ([0-9a-f]{2,8}(?: [0-9a-f]{2,8}){0,3})$/;

function parseUint(text: string, max: number): number | undefined {
  if (!/^\d+$/.test(text) || (text.length > 1 && text.startsWith('0'))) return undefined;
  const value = Number(text);
  return value <= max ? value : undefined;
}

/** The lines of a fixture text and a cursor; every failure names a line (1-based in the error). */
class FixtureLines {
  private readonly lines: string[];
  /** The line being read (0-based). */
  index = 0;

  constructor(
    text: string,
    private readonly source: string,
  ) {
    this.lines = text.split('\n');
    if (this.lines.length > 0 && this.lines[this.lines.length - 1] === '') this.lines.pop();
  }

  get count(): number {
    return this.lines.length;
  }

  /** True once every line has been read. */
  get done(): boolean {
    return this.index >= this.lines.length;
  }

  /**
   * Line `i` (the cursor's by default) without trailing blanks: editors strip or add them invisibly;
   * nothing else is forgiven.
   */
  at(i = this.index): string {
    const line = this.lines[i];
    // Callers check `done` / `count` first; past the end is a parser bug, reported as a parse error.
    if (line === undefined) this.fail('unexpected end of the fixture', Math.max(0, this.lines.length - 1));
    return line.trimEnd();
  }

  /** True when the cursor is on a line that is there and not blank. */
  get onText(): boolean {
    return !this.done && this.at() !== '';
  }

  /** The line of header field `key`. */
  lineOf(key: string): number {
    return this.lines.findIndex((l) => l.startsWith(`${key}: `));
  }

  fail(reason: string, at = this.index): never {
    throw new FixtureParseError(this.source, at + 1, reason);
  }
}

/** The fields of a fixture's header, checked. */
interface ParsedHeader {
  header: FixtureHeader;
  protocol: number;
  port: number;
}

/**
 * Parses fixture text. Strict: anything that does not follow the format —
 * a missing header field, a hex line at the wrong offset, a summary that
 * disagrees with its bytes — is a FixtureParseError naming the line.
 */
export function parseFixture(text: string, source = 'fixture'): Fixture {
  const lines = new FixtureLines(text, source);
  readBanner(lines);
  const { header, protocol, port } = checkHeader(readHeaderFields(lines), lines);
  const little = header.byteOrder === 'little-endian';
  const entries: FixtureEntry[] = [];
  while (!lines.done) {
    if (lines.onText) entries.push(readBlock(lines, little));
    else lines.index++;
  }
  return { header, protocol, port, entries };
}

function readBanner(lines: FixtureLines): void {
  if (lines.count === 0 || lines.at(0) !== MAGIC) lines.fail(`the first line must be the fixture banner "${MAGIC}"`, 0);
  lines.index = 1;
}

/** The header fields every fixture has (all but `description`, which may repeat or be absent). */
type HeaderFields = Record<Exclude<(typeof HEADER_KEYS)[number], 'description'>, string>;

/** "key: value" lines up to the first blank line; `description` may repeat, nothing else. */
function readHeaderFields(lines: FixtureLines): { fields: HeaderFields; descriptions: string[] } {
  const fields: Record<string, string> = {};
  const descriptions: string[] = [];
  for (; lines.onText; lines.index++) {
    const match = /^([a-z-]+): (.*)$/.exec(lines.at());
    if (!match) lines.fail('expected a header line "key: value"');
    // Both groups are non-optional: a match has them.
    const [, key = '', value = ''] = match;
    if (!(HEADER_KEYS as readonly string[]).includes(key))
      lines.fail(`unknown header field "${key}" (known: ${HEADER_KEYS.join(', ')})`);
    if (key === 'description') descriptions.push(value);
    else if (key in fields) lines.fail(`header field "${key}" appears twice`);
    else fields[key] = value;
  }
  for (const key of HEADER_KEYS) {
    if (key !== 'description' && !(key in fields))
      lines.fail(`the header lacks "${key}"`, Math.max(0, lines.index - 1));
  }
  // Every key but `description` was just checked to be present.
  return { fields: fields as HeaderFields, descriptions };
}

/** Every header field's value checked, each failure on the field's own line. */
function checkHeader(
  { fields, descriptions }: { fields: HeaderFields; descriptions: string[] },
  lines: FixtureLines,
): ParsedHeader {
  const format = parseUint(fields.format, 1000);
  if (format !== FIXTURE_FORMAT_VERSION) {
    lines.fail(
      `format ${fields.format} is not supported (this code reads format ${FIXTURE_FORMAT_VERSION})`,
      lines.lineOf('format'),
    );
  }
  const byteOrder = fields['byte-order'];
  if (byteOrder !== 'little-endian' && byteOrder !== 'big-endian')
    lines.fail('byte-order is little-endian or big-endian', lines.lineOf('byte-order'));
  const protocolMatch = /^(\d+)(?: ([A-Z_]+))?$/.exec(fields.protocol);
  const protocol = protocolMatch?.[1] !== undefined ? parseUint(protocolMatch[1], 31) : undefined;
  if (protocol === undefined) {
    lines.fail(
      `protocol is a netlink protocol number, optionally followed by its name (got "${fields.protocol}")`,
      lines.lineOf('protocol'),
    );
  }
  const port = parseUint(fields.port, 0xffffffff);
  if (port === undefined) lines.fail(`port is an unsigned 32-bit number (got "${fields.port}")`, lines.lineOf('port'));
  if (!fields.name) lines.fail('name is empty', lines.lineOf('name'));
  if (!fields.recipe) lines.fail('recipe is empty', lines.lineOf('recipe'));
  return {
    header: {
      format,
      name: fields.name,
      recipe: fields.recipe,
      kernel: fields.kernel,
      date: fields.date,
      byteOrder,
      description: descriptions.join('\n'),
    },
    protocol,
    port,
  };
}

/** One block of the body: "openfd N", or "send" / "recv" and the messages of one datagram. */
function readBlock(lines: FixtureLines, little: boolean): FixtureEntry {
  const blockLine = lines.index;
  const opening = lines.at();
  const fdText = /^openfd (\d+)$/.exec(opening)?.[1];
  if (fdText !== undefined) {
    const fd = parseUint(fdText, 0x7fffffff);
    if (fd === undefined) lines.fail('openfd takes a descriptor number');
    lines.index++;
    return { kind: 'openfd', fd, line: blockLine + 1 };
  }
  if (opening !== 'send' && opening !== 'recv')
    lines.fail(`expected a block: "send", "recv" or "openfd N" (got ${JSON.stringify(opening)})`);
  lines.index++;
  const parts: Buffer[] = [];
  let previous: ReadChunk | undefined;
  while (lines.onText) {
    previous = readChunk(lines, little, previous);
    parts.push(previous.bytes);
  }
  if (parts.length === 0) lines.fail(`a ${opening} block needs at least one message`, blockLine);
  return { kind: opening, datagram: Buffer.concat(parts), line: blockLine + 1 };
}

/** Bytes between a summary line and the next, with the message header they hold (none for raw bytes). */
interface ReadChunk {
  bytes: Buffer;
  header?: MessageHeader;
}

/**
 * A summary line and its hex lines: one message (its header checked against
 * the summary) or raw bytes. `previous` is the datagram's chunk before it:
 * only a message that has its padding may be followed.
 */
function readChunk(lines: FixtureLines, little: boolean, previous: ReadChunk | undefined): ReadChunk {
  const summaryLine = lines.index;
  const summary = lines.at();
  const message = SUMMARY.exec(summary);
  const raw = message ? null : RAW_SUMMARY.exec(summary);
  if (!message && !raw)
    lines.fail('expected a message summary ("  # len=N type=N flags=0xNNNN seq=N pid=N") or "  # raw len=N"');
  if (previous && !previous.header) lines.fail('nothing may follow raw bytes in a datagram');
  if (previous?.header && previous.bytes.length !== align(previous.header.len))
    lines.fail('only the last message of a datagram may lack its padding');
  lines.index++;
  const bytes = readHexLines(lines);
  if (!lines.done && lines.at() !== '' && !lines.at().startsWith('  # ')) {
    lines.fail('expected a hex line ("  0000: 00112233 ..."), a message summary or a blank line');
  }
  if (!message) {
    // `raw` matched (checked above); its one group is non-optional.
    const rawLen = raw?.[1] ?? '';
    if (parseUint(rawLen, 0xffffffff) !== bytes.length)
      lines.fail(`raw len=${rawLen} but ${bytes.length} bytes follow`, summaryLine);
    if (bytes.length === 0) lines.fail('raw bytes cannot be empty', summaryLine);
    return { bytes };
  }
  return { bytes, header: checkSummary(message, bytes, little, lines, summaryLine) };
}

/** The hex lines under a summary, as bytes: offsets in order, 16 bytes a line, only the last line shorter. */
function readHexLines(lines: FixtureLines): Buffer {
  const bytes: number[] = [];
  let lastLineShort = false;
  for (;;) {
    const match = lines.done ? null : HEX_LINE.exec(lines.at());
    if (!match) break;
    // Both groups are non-optional: a match has them.
    const [, offsetText = '', groupText = ''] = match;
    if (lastLineShort)
      lines.fail('a hex line with fewer than 16 bytes must be the last of its message', lines.index - 1);
    if (parseInt(offsetText, 16) !== bytes.length)
      lines.fail(`hex line offset ${offsetText} should be ${hex(bytes.length, 4)}`);
    if (offsetText.length > 4 && offsetText.startsWith('0'))
      lines.fail('offsets use 4 hex digits, more only when needed');
    const groups = groupText.split(' ');
    groups.forEach((group, g) => {
      if (group.length % 2 !== 0) lines.fail('a group has an odd number of hex digits');
      if (group.length < 8 && g < groups.length - 1)
        lines.fail('only the last group of a line may have fewer than 4 bytes');
    });
    const lineBytes = Buffer.from(groups.join(''), 'hex');
    if (lineBytes.length < 16) lastLineShort = true;
    for (const byte of lineBytes) bytes.push(byte);
    lines.index++;
  }
  return Buffer.from(bytes);
}

/** The message header in `bytes`, which must say what the summary line says and fit the bytes that follow. */
function checkSummary(
  summary: RegExpExecArray,
  bytes: Buffer,
  little: boolean,
  lines: FixtureLines,
  summaryLine: number,
): MessageHeader {
  // The groups read here are non-optional in SUMMARY: a match has them.
  const [, len, type, , flags = '', seq, pid] = summary;
  if (bytes.length < NLMSG_HDRLEN)
    lines.fail(`a message has at least ${NLMSG_HDRLEN} bytes, ${bytes.length} follow`, summaryLine);
  const actual = readHeader(bytes, 0, little);
  const claimed = {
    len: Number(len),
    type: Number(type),
    flags: parseInt(flags, 16),
    seq: Number(seq),
    pid: Number(pid),
  };
  for (const field of ['len', 'type', 'flags', 'seq', 'pid'] as const) {
    if (claimed[field] !== actual[field])
      lines.fail(`the summary says ${field}=${claimed[field]} but the bytes say ${actual[field]}`, summaryLine);
  }
  if (actual.len < NLMSG_HDRLEN) lines.fail(`len=${actual.len} is shorter than the message header`, summaryLine);
  if (bytes.length !== actual.len && bytes.length !== align(actual.len)) {
    lines.fail(
      `len=${actual.len} needs ${actual.len} bytes (${align(actual.len)} with padding), ${bytes.length} follow`,
      summaryLine,
    );
  }
  return actual;
}
