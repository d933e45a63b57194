/**
 * Spec files, from bytes to a parsed value: strict UTF-8 (a byte that is not
 * UTF-8 must not become U+FFFD in a device name), then JSON or YAML, every
 * failure one line that says where (file:line:column) and what. Nothing here
 * opens a socket or writes anything.
 */
import { parseDocument } from 'yaml';
import { ValidationError } from '../netlink/errors.js';

// ------------------------------------------------------------------ UTF-8

/**
 * The byte offset of the first ill-formed UTF-8 sequence in `bytes` (from
 * `start`), or -1 when all of it is well-formed. Well-formed is Table 3-7 of
 * the Unicode standard, the same as the WHATWG decoder behind TextDecoder:
 * no overlong forms (C0, C1, E0 80–9F, F0 80–8F), no surrogates (ED A0–BF),
 * nothing above U+10FFFF (F4 90–BF, F5–FF), no stray continuation bytes, no
 * sequence cut short. The offset is that of the sequence's first byte: the
 * bytes before it decode to whole characters.
 */
export function firstInvalidUtf8(bytes: Uint8Array, start = 0): number {
  const n = bytes.length;
  let i = start;
  while (i < n) {
    const b = bytes[i]!; // i < n
    if (b < 0x80) {
      i++;
      continue;
    }
    let need: number;
    let low = 0x80;
    let high = 0xbf;
    if (b >= 0xc2 && b <= 0xdf) need = 1;
    else if (b >= 0xe0 && b <= 0xef) {
      need = 2;
      if (b === 0xe0)
        low = 0xa0; // overlong below U+0800
      else if (b === 0xed) high = 0x9f; // surrogates D800–DFFF
    } else if (b >= 0xf0 && b <= 0xf4) {
      need = 3;
      if (b === 0xf0)
        low = 0x90; // overlong below U+10000
      else if (b === 0xf4) high = 0x8f; // above U+10FFFF
    } else return i; // 80–BF (no lead), C0–C1 (overlong), F5–FF (above U+10FFFF / never used)
    if (i + need >= n) return i; // cut short by the end of the data
    // i + need < n: the bytes up to i + need are there.
    const second = bytes[i + 1]!;
    if (second < low || second > high) return i;
    for (let k = 2; k <= need; k++) {
      const c = bytes[i + k]!;
      if (c < 0x80 || c > 0xbf) return i;
    }
    i += need + 1;
  }
  return -1;
}

function hex(byte: number): string {
  return `0x${byte.toString(16).toUpperCase().padStart(2, '0')}`;
}

/** Why the sequence at `offset` (as found by firstInvalidUtf8) is not UTF-8, in words. */
export function describeInvalidUtf8(bytes: Uint8Array, offset: number): string {
  const b = bytes[offset];
  if (b === undefined) return `offset ${offset} is past the end of the data (${bytes.length} bytes)`;
  const next = bytes[offset + 1];
  if (b >= 0x80 && b <= 0xbf) return `byte ${hex(b)} is a continuation byte with no character to continue`;
  if (b === 0xc0 || b === 0xc1) return `byte ${hex(b)} starts an overlong (non-shortest) form`;
  if (b >= 0xf5) return `byte ${hex(b)} never occurs in UTF-8`;
  if (b === 0xe0 && next !== undefined && next >= 0x80 && next < 0xa0)
    return `bytes ${hex(b)} ${hex(next)} start an overlong (non-shortest) form`;
  if (b === 0xf0 && next !== undefined && next >= 0x80 && next < 0x90)
    return `bytes ${hex(b)} ${hex(next)} start an overlong (non-shortest) form`;
  if (b === 0xed && next !== undefined && next >= 0xa0 && next <= 0xbf)
    return `bytes ${hex(b)} ${hex(next)} start a UTF-16 surrogate (U+D800–DFFF), which UTF-8 does not encode`;
  if (b === 0xf4 && next !== undefined && next >= 0x90 && next <= 0xbf)
    return `bytes ${hex(b)} ${hex(next)} start a code point above U+10FFFF`;
  const length = b >= 0xf0 ? 4 : b >= 0xe0 ? 3 : 2;
  for (let k = 1; k < length; k++) {
    const c = bytes[offset + k];
    if (c === undefined) return `the file ends inside the ${length}-byte character that byte ${hex(b)} starts`;
    if (c < 0x80 || c > 0xbf) return `byte ${hex(b)} starts a ${length}-byte character but byte ${hex(c)} follows it`;
  }
  return `byte ${hex(b)} does not start a valid character`;
}

// ----------------------------------------------------------- positions

/** Line and column (both 1-based; the column counts characters) of a UTF-16 index in `text`. */
export function lineColumn(text: string, index: number): { line: number; column: number } {
  let line = 1;
  let lineStart = 0;
  const end = Math.min(index, text.length);
  for (let i = 0; i < end; i++) {
    if (text.charCodeAt(i) === 0x0a) {
      line++;
      lineStart = i + 1;
    }
  }
  let column = 1;
  for (let i = lineStart; i < end; i++) {
    const unit = text.charCodeAt(i);
    if (unit >= 0xd800 && unit <= 0xdbff && i + 1 < end) {
      const low = text.charCodeAt(i + 1);
      if (low >= 0xdc00 && low <= 0xdfff) i++;
    }
    column++;
  }
  return { line, column };
}

/** Line and column of a byte offset; the bytes before it are decoded leniently (they may not be UTF-8). */
function byteLineColumn(bytes: Uint8Array, offset: number): { line: number; column: number } {
  return lineColumn(new TextDecoder('utf-8', { ignoreBOM: true }).decode(bytes.subarray(0, offset)), Infinity);
}

/** One line: control characters (a newline from a library's message, say) written as escapes. */
function oneLine(text: string): string {
  const named: Record<string, string> = { '\n': '\\n', '\r': '\\r', '\t': '\\t' };
  return text.replace(
    /[\u0000-\u001f\u007f\u2028\u2029]/g,
    (c) => named[c] ?? `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
}

function specError(where: string, reason: string, cause?: unknown): ValidationError {
  const error = new ValidationError('spec', oneLine(`${where}: ${reason}`));
  // The library's own error (with its excerpt of the file) stays reachable: `vxnet --debug` prints it.
  if (cause !== undefined) Object.defineProperty(error, 'cause', { value: cause, writable: true, configurable: true });
  return error;
}

// ----------------------------------------------------------- decoding

const BOMS: [bytes: number[], name: string, iconv: string][] = [
  // UTF-32 first: FF FE 00 00 also starts with the UTF-16 LE mark.
  [[0x00, 0x00, 0xfe, 0xff], 'UTF-32 BE', 'UTF-32'],
  [[0xff, 0xfe, 0x00, 0x00], 'UTF-32 LE', 'UTF-32'],
  [[0xfe, 0xff], 'UTF-16 BE', 'UTF-16'],
  [[0xff, 0xfe], 'UTF-16 LE', 'UTF-16'],
];

const AS_UTF8 = 'vxnet reads spec files as UTF-8';

/** What a NUL byte suggests: UTF-16 without a byte order mark (NULs in every other byte), or just not text. */
function guessWithoutBom(bytes: Uint8Array): string | undefined {
  const sample = bytes.subarray(0, 4096);
  let even = 0;
  let odd = 0;
  for (let i = 0; i < sample.length; i++) if (sample[i] === 0) i % 2 === 0 ? even++ : odd++;
  const half = sample.length / 2;
  if (odd >= half * 0.3 && even <= odd / 4) return 'UTF-16 LE';
  if (even >= half * 0.3 && odd <= even / 4) return 'UTF-16 BE';
  return undefined;
}

/**
 * A spec file's bytes as text: UTF-8, strictly. A UTF-8 byte order mark is
 * dropped; any other (UTF-16, UTF-32), NUL bytes (UTF-16 without a mark)
 * and the first ill-formed UTF-8 sequence are refused with a ValidationError
 * on `spec` that says "wrong encoding", where (byte offset, line, column)
 * and what was found.
 */
export function decodeSpecFile(bytes: Uint8Array, path: string): string {
  for (const [mark, name, iconv] of BOMS) {
    if (bytes.length >= mark.length && mark.every((b, i) => bytes[i] === b)) {
      throw specError(
        path,
        `wrong encoding: the file starts with a ${name} byte order mark: ${AS_UTF8} — convert it with iconv -f ` +
          `${iconv} -t UTF-8`,
      );
    }
  }
  const start = bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf ? 3 : 0;
  const nul = bytes.indexOf(0, start);
  if (nul >= 0) {
    const guess = guessWithoutBom(bytes.subarray(start));
    const { line, column } = byteLineColumn(bytes, nul);
    throw specError(
      `${path}:${line}:${column}`,
      guess
        ? `wrong encoding: NUL bytes (the first at byte offset ${nul}): this looks like ${guess} text without a ` +
            `byte order mark: ${AS_UTF8} — convert it with iconv -f ${guess.replace(' ', '')} -t UTF-8`
        : `wrong encoding: a NUL byte at byte offset ${nul}: a spec file is YAML or JSON text, and ${AS_UTF8}`,
    );
  }
  const bad = firstInvalidUtf8(bytes, start);
  if (bad >= 0) {
    const { line, column } = byteLineColumn(bytes, bad);
    throw specError(
      `${path}:${line}:${column}`,
      `wrong encoding: not UTF-8 at byte offset ${bad}: ${describeInvalidUtf8(bytes, bad)}; ${AS_UTF8} — ` +
        'if it is Latin-1 or Windows-1252, convert it with iconv -f WINDOWS-1252 -t UTF-8',
    );
  }
  // Our scan found nothing; the platform's strict decoder has the last word all the same.
  return new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(bytes.subarray(start));
}

// ----------------------------------------------------------- JSON

const JSON_SPACE = new Set([0x20, 0x09, 0x0a, 0x0d]);

/**
 * The index at which `text` stops being JSON (RFC 8259, as JSON.parse reads
 * it), text.length when it ends too soon, -1 when it is JSON. Used for the
 * position of the errors whose JSON.parse message has none ("Unexpected
 * token 'x', "..." is not valid JSON", "Unexpected end of JSON input").
 */
export function jsonErrorIndex(text: string): number {
  let i = 0;
  const n = text.length;
  const space = (): void => {
    while (i < n && JSON_SPACE.has(text.charCodeAt(i))) i++;
  };
  const fail = (at: number): never => {
    throw at;
  };
  const digits = (): number => {
    const from = i;
    while (i < n && text.charCodeAt(i) >= 0x30 && text.charCodeAt(i) <= 0x39) i++;
    return i - from;
  };
  const string = (): void => {
    i++; // the opening quote
    for (;;) {
      if (i >= n) fail(n);
      const c = text.charCodeAt(i);
      if (c === 0x22) {
        i++;
        return;
      }
      if (c < 0x20) fail(i);
      if (c === 0x5c) {
        const e = text.charAt(i + 1);
        if (e === '') fail(n);
        if (e === 'u') {
          for (let k = 2; k < 6; k++) {
            if (i + k >= n) fail(n);
            if (!/[0-9a-fA-F]/.test(text.charAt(i + k))) fail(i + k);
          }
          i += 6;
        } else if ('"\\/bfnrt'.includes(e)) i += 2;
        else fail(i + 1);
      } else i++;
    }
  };
  const value = (depth: number): void => {
    space();
    if (i >= n) fail(n);
    const c = text.charAt(i);
    if (c === '{') {
      i++;
      space();
      if (text[i] === '}') {
        i++;
        return;
      }
      for (;;) {
        space();
        if (i >= n) fail(n);
        if (text[i] !== '"') fail(i);
        string();
        space();
        if (i >= n) fail(n);
        if (text[i] !== ':') fail(i);
        i++;
        value(depth + 1);
        space();
        if (i >= n) fail(n);
        if (text[i] === ',') i++;
        else if (text[i] === '}') {
          i++;
          return;
        } else fail(i);
      }
    }
    if (c === '[') {
      i++;
      space();
      if (text[i] === ']') {
        i++;
        return;
      }
      for (;;) {
        value(depth + 1);
        space();
        if (i >= n) fail(n);
        if (text[i] === ',') i++;
        else if (text[i] === ']') {
          i++;
          return;
        } else fail(i);
      }
    }
    if (c === '"') {
      string();
      return;
    }
    for (const word of ['true', 'false', 'null']) {
      if (c === word[0]) {
        for (let k = 1; k < word.length; k++) {
          if (i + k >= n) fail(n);
          if (text[i + k] !== word[k]) fail(i + k);
        }
        i += word.length;
        return;
      }
    }
    if (c === '-' || (c >= '0' && c <= '9')) {
      if (c === '-') i++;
      if (i >= n) fail(n);
      if (text[i] === '0') i++;
      else if (digits() === 0) fail(i);
      if (text[i] === '.') {
        i++;
        if (i >= n) fail(n);
        if (digits() === 0) fail(i);
      }
      if (text[i] === 'e' || text[i] === 'E') {
        i++;
        if (text[i] === '+' || text[i] === '-') i++;
        if (i >= n) fail(n);
        if (digits() === 0) fail(i);
      }
      return;
    }
    fail(i);
  };
  try {
    value(0);
    space();
    return i < n ? i : -1;
  } catch (at) {
    if (typeof at === 'number') return at;
    throw at;
  }
}

/** JSON.parse's reason without its position or its copy of the text. */
function jsonReason(message: string, text: string, index: number): string {
  const positioned = /^(.*?)(?: in JSON)? at position \d+/s.exec(message)?.[1];
  if (positioned !== undefined) return positioned;
  if (/^Unexpected token .*is not valid JSON$/s.test(message) && index < text.length) {
    const code = text.codePointAt(index)!; // index < text.length
    return `Unexpected token ${JSON.stringify(String.fromCodePoint(code))}`;
  }
  return firstLine(message);
}

function firstLine(text: string): string {
  const [line = ''] = text.split('\n'); // split gives at least one
  return line;
}

function parseJson(text: string, path: string): unknown {
  try {
    return JSON.parse(text);
  } catch (error) {
    if (!(error instanceof SyntaxError)) throw error;
    const reported = /JSON at position (\d+)/.exec(error.message);
    const found = jsonErrorIndex(text);
    const index = reported ? Number(reported[1]) : found >= 0 ? found : text.length;
    const { line, column } = lineColumn(text, index);
    throw specError(`${path}:${line}:${column}`, `not valid JSON: ${jsonReason(error.message, text, index)}`, error);
  }
}

// ----------------------------------------------------------- YAML

function parseYaml(text: string, path: string): unknown {
  const doc = parseDocument(text);
  const [first] = doc.errors;
  if (first) {
    const { line, column } = lineColumn(text, first.pos[0]);
    const reason = firstLine(first.message).replace(/ at line \d+, column \d+:?$/, '');
    throw specError(`${path}:${line}:${column}`, `not valid YAML: ${reason}`, first);
  }
  // As the yaml package's parse() does: warnings (an unknown tag, say) go to process warnings.
  for (const warning of doc.warnings) process.emitWarning(warning);
  try {
    return doc.toJS();
  } catch (error) {
    // An alias to no anchor, too many aliases: no position to give.
    throw specError(path, `not valid YAML: ${(error as Error).message.split('\n')[0]}`, error);
  }
}

/**
 * A decoded spec file's text as a value: JSON for `.json`, YAML otherwise. Errors are ValidationErrors on `spec`, one
 * line each.
 */
export function parseSpecText(text: string, path: string): unknown {
  return path.endsWith('.json') ? parseJson(text, path) : parseYaml(text, path);
}
