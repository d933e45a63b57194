/**
 * Recorded netlink fixtures: capture a real exchange with the kernel once
 * (RecordingTransport + formatFixture), then replay it anywhere, without
 * root (parseFixture + ReplayTransport). Also usable to fake the kernel in
 * your own tests: build a Recording by hand or from a file and put a
 * ReplayTransport under `Connection.over`. See docs/fixtures.md.
 */
export {
  type Chunk,
  type Fixture,
  type FixtureEntry,
  type FixtureHeader,
  type FixtureMeta,
  FixtureParseError,
  FIXTURE_FORMAT_VERSION,
  formatFixture,
  type FormatOptions,
  type MessageHeader,
  parseFixture,
  type Recording,
  splitDatagram,
} from './fixture-format.js';
export { comparedBytes, firstDifference, hexDiff, type HexDiffOptions } from './fixture-diff.js';
export { RecordingTransport } from './fixture-recording.js';
export { DEFAULT_REPLAY_PORT, ReplayMismatchError, type ReplayOptions, ReplayTransport } from './fixture-replay.js';
