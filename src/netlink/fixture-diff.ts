/**
 * Comparing our request bytes with a recorded request, and showing where
 * they differ in a form a person can read: 4 bytes per line (the same
 * grouping as the fixture file), differing lines marked, a little context.
 *
 * The sequence number and port id of every message are masked: the
 * connection picks a random first sequence number and the kernel a port,
 * so they never match a recording and say nothing about our encoding.
 */
import { type Chunk, splitDatagram } from './fixture-format.js';

/** Byte positions that take part in the comparison (false: masked). */
export function comparedBytes(datagram: Buffer, chunks: Chunk[] = splitDatagram(datagram)): boolean[] {
  const compared = new Array<boolean>(datagram.length).fill(true);
  for (const chunk of chunks) {
    if (!chunk.header) continue;
    for (let i = chunk.start + 8; i < Math.min(chunk.start + 16, chunk.end); i++) compared[i] = false;
  }
  return compared;
}

/** The first offset where two datagrams differ outside the masked bytes, or -1. */
export function firstDifference(expected: Buffer, actual: Buffer): number {
  const keepExpected = comparedBytes(expected);
  const keepActual = comparedBytes(actual);
  const length = Math.max(expected.length, actual.length);
  for (let i = 0; i < length; i++) {
    if (i >= expected.length || i >= actual.length) return i;
    if (!keepExpected[i] || !keepActual[i]) continue;
    if (expected[i] !== actual[i]) return i;
  }
  return -1;
}

export interface HexDiffOptions {
  /** Unchanged lines shown around each differing line. Default 3. */
  context?: number;
  expectedLabel?: string;
  actualLabel?: string;
}

/**
 * A line-by-line hex comparison, 4 bytes per line: offset, expected, actual,
 * and "!" before each line that differs. Masked bytes print as "..", absent
 * bytes as blanks. Runs of equal lines beyond the context collapse to "...".
 */
export function hexDiff(expected: Buffer, actual: Buffer, options: HexDiffOptions = {}): string {
  const context = options.context ?? 3;
  const keepExpected = comparedBytes(expected);
  const keepActual = comparedBytes(actual);
  const length = Math.max(expected.length, actual.length);
  const width = Math.max(4, Math.max(0, length - 1).toString(16).length);

  const render = (buf: Buffer, keep: boolean[], from: number): string => {
    let text = '';
    for (let i = from; i < from + 4; i++) {
      const byte = buf[i];
      if (byte === undefined) text += '  ';
      else if (!keep[i]) text += '..';
      else text += byte.toString(16).padStart(2, '0');
    }
    return text;
  };

  const rows: { line: string; differs: boolean }[] = [];
  for (let at = 0; at < length; at += 4) {
    let differs = false;
    for (let i = at; i < at + 4 && i < length; i++) {
      if (i >= expected.length || i >= actual.length) differs = true;
      else if (keepExpected[i] && keepActual[i] && expected[i] !== actual[i]) differs = true;
    }
    const offset = at.toString(16).padStart(width, '0');
    rows.push({
      line:
        `${differs ? '!' : ' '} ${offset}  ` +
        `${render(expected, keepExpected, at)}  ${render(actual, keepActual, at)}`,
      differs,
    });
  }

  const shown = rows.map(() => false);
  rows.forEach((row, i) => {
    if (!row.differs) return;
    for (let j = Math.max(0, i - context); j <= Math.min(rows.length - 1, i + context); j++) shown[j] = true;
  });
  const out = [
    `  ${'offset'.padEnd(width)}  ` +
      `${(options.expectedLabel ?? 'expected').padEnd(8)}  ${options.actualLabel ?? 'actual'}`,
  ];
  let skipped = false;
  rows.forEach((row, i) => {
    if (shown[i]) {
      if (skipped) out.push('  ...');
      skipped = false;
      out.push(row.line.trimEnd());
    } else {
      skipped = true;
    }
  });
  if (skipped) out.push('  ...');
  return out.join('\n');
}
