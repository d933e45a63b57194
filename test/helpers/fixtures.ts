/**
 * Fixture tools for tests: record a recipe against the real kernel (root,
 * once, by `npm run record-fixtures`) and replay it from the file (anywhere,
 * no privileges). See docs/fixtures.md.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Connection } from '../../src/netlink/connection.js';
import {
  type Fixture,
  type FixtureMeta,
  formatFixture,
  type FormatOptions,
  parseFixture,
} from '../../src/netlink/fixture-format.js';
import { RecordingTransport } from '../../src/netlink/fixture-recording.js';
import { type ReplayOptions, ReplayTransport } from '../../src/netlink/fixture-replay.js';
import { RelayTransport } from '../../src/netlink/relay.js';
import { NativeTransport, type Transport } from '../../src/netlink/transport.js';

/** The repository's root, wherever the tests are run from. */
export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
export const FIXTURES_DIR = resolve(REPO_ROOT, 'test/fixtures');

/** test/fixtures/<area>/<name>.nlfix for a fixture called "<area>/<name>". */
export function fixturePath(name: string): string {
  if (!/^[a-z0-9-]+\/[a-z0-9-]+$/.test(name))
    throw new Error(`fixture names look like "area/name" (lowercase, digits, dashes): ${name}`);
  return resolve(FIXTURES_DIR, `${name}.nlfix`);
}

export interface RecordMeta extends FixtureMeta, FormatOptions {
  /** Netlink protocol of the connection. */
  protocol: number;
  /** Network namespace to talk to (/run/netns/NAME); omitted: this process's. */
  namespace?: string;
}

/**
 * Runs `recipe` on a connection to the real kernel, recording every datagram,
 * and writes the fixture to `file` once the recipe has succeeded. Returns the
 * recipe's result (the recorder prints it, for a person to check).
 */
export async function recordFixture<T>(
  file: string,
  meta: RecordMeta,
  recipe: (conn: Connection) => Promise<T>,
): Promise<T> {
  // The real transport, opened the way Connection.open would, but wrapped before the connection sees it.
  const real: Transport = meta.namespace
    ? await RelayTransport.open(meta.protocol, { namespace: meta.namespace })
    : new NativeTransport(meta.protocol);
  const recording = new RecordingTransport(real);
  const conn = Connection.over(recording);
  let result: T;
  try {
    result = await recipe(conn);
  } finally {
    conn.close();
  }
  const text = formatFixture(recording.recording, meta, { typeName: meta.typeName });
  // Check our own output before it is committed: what we write, we must read back the same.
  const back = parseFixture(text, file);
  if (formatFixture(back, { ...back.header }, { typeName: meta.typeName }) !== text)
    throw new Error(`${file}: the fixture does not survive its own round trip`);
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, text);
  return result;
}

/** Reads and parses a fixture file; errors name the file and line. */
export function loadFixture(file: string): Fixture {
  return parseFixture(readFileSync(file, 'utf8'), relative(REPO_ROOT, file));
}

/**
 * Runs `recipe` against a recorded fixture instead of the kernel and returns
 * its result. Fails if a request differs from the recording (with a hex
 * diff) or if the recipe leaves recorded datagrams unreplayed.
 */
export async function replayFixture<T>(
  file: string,
  recipe: (conn: Connection) => Promise<T>,
  options: ReplayOptions = {},
): Promise<T> {
  const fixture = loadFixture(file);
  const transport = new ReplayTransport(fixture, { name: relative(REPO_ROOT, file), ...options });
  const conn = Connection.over(transport);
  let result: T;
  try {
    result = await recipe(conn);
  } finally {
    conn.close();
  }
  transport.assertConsumed();
  return result;
}
