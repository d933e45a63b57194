/**
 * Host-order integer access for the hot paths (message walk, attribute loop,
 * struct readers). Plain byte arithmetic: Buffer's readUInt16LE & co. validate
 * their arguments on every call, and callers here have already checked the
 * bounds.
 */
import { endianness } from 'node:os';

export const HOST_LE = endianness() === 'LE';

type Read = (b: Uint8Array, o: number) => number;
type Write = (b: Uint8Array, o: number, v: number) => void;

// Hot path: callers check `o + 2` / `o + 4` <= b.length before reading, so every index is in bounds.
const le16: Read = (b, o) => b[o]! | (b[o + 1]! << 8);
const be16: Read = (b, o) => (b[o]! << 8) | b[o + 1]!;
const le32: Read = (b, o) => (b[o]! | (b[o + 1]! << 8) | (b[o + 2]! << 16)) + b[o + 3]! * 0x1000000;
const be32: Read = (b, o) => b[o]! * 0x1000000 + ((b[o + 1]! << 16) | (b[o + 2]! << 8) | b[o + 3]!);

/** Unsigned 16 bits in host order. */
export const readU16: Read = HOST_LE ? le16 : be16;
/** Unsigned 32 bits in host order. */
export const readU32: Read = HOST_LE ? le32 : be32;
/** Signed 32 bits in host order. */
export const readS32: Read = (b, o) => readU32(b, o) | 0;
/** Network byte order. */
export const readBE16: Read = be16;
export const readBE32: Read = be32;

export const writeU16: Write = HOST_LE
  ? (b, o, v) => {
      b[o] = v & 0xff;
      b[o + 1] = (v >>> 8) & 0xff;
    }
  : (b, o, v) => {
      b[o] = (v >>> 8) & 0xff;
      b[o + 1] = v & 0xff;
    };
export const writeU32: Write = HOST_LE
  ? (b, o, v) => {
      b[o] = v & 0xff;
      b[o + 1] = (v >>> 8) & 0xff;
      b[o + 2] = (v >>> 16) & 0xff;
      b[o + 3] = (v >>> 24) & 0xff;
    }
  : (b, o, v) => {
      b[o] = (v >>> 24) & 0xff;
      b[o + 1] = (v >>> 16) & 0xff;
      b[o + 2] = (v >>> 8) & 0xff;
      b[o + 3] = v & 0xff;
    };
