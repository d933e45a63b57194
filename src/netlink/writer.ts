/**
 * A growable byte writer for building messages in one pass: attribute and
 * message lengths are reserved, then patched once their contents are written
 * (the way libmnl's nest_start/nest_end work). Nothing reaches the socket
 * until a whole request has been encoded, so a validation error part-way
 * leaves nothing sent.
 */
import { align, NLA_HDRLEN } from './align.js';
import { ValidationError } from './errors.js';
import { HOST_LE } from './layout.js';

export class Writer {
  buf: Buffer;
  pos = 0;

  constructor(initialSize = 256) {
    this.buf = Buffer.allocUnsafe(initialSize);
  }

  /** Makes room for `n` more bytes and returns where they start. */
  reserve(n: number): number {
    const at = this.pos;
    const need = at + n;
    if (need > this.buf.length) {
      const grown = Buffer.allocUnsafe(Math.max(need, this.buf.length * 2));
      this.buf.copy(grown, 0, 0, at);
      this.buf = grown;
    }
    this.pos = need;
    return at;
  }

  /** Zero bytes up to the next 4-byte boundary. */
  pad(): void {
    const padded = align(this.pos);
    if (padded > this.pos) {
      const at = this.reserve(padded - this.pos);
      this.buf.fill(0, at, padded);
    }
  }

  // Each method reserves first, then reads this.buf: reserve() may swap in a larger buffer.
  u8(v: number): void {
    const at = this.reserve(1);
    this.buf[at] = v;
  }
  s8(v: number): void {
    const at = this.reserve(1);
    this.buf.writeInt8(v, at);
  }
  u16(v: number): void {
    const at = this.reserve(2);
    HOST_LE ? this.buf.writeUInt16LE(v, at) : this.buf.writeUInt16BE(v, at);
  }
  s16(v: number): void {
    const at = this.reserve(2);
    HOST_LE ? this.buf.writeInt16LE(v, at) : this.buf.writeInt16BE(v, at);
  }
  u32(v: number): void {
    const at = this.reserve(4);
    HOST_LE ? this.buf.writeUInt32LE(v, at) : this.buf.writeUInt32BE(v, at);
  }
  s32(v: number): void {
    const at = this.reserve(4);
    HOST_LE ? this.buf.writeInt32LE(v, at) : this.buf.writeInt32BE(v, at);
  }
  u64(v: bigint): void {
    const at = this.reserve(8);
    HOST_LE ? this.buf.writeBigUInt64LE(v, at) : this.buf.writeBigUInt64BE(v, at);
  }
  s64(v: bigint): void {
    const at = this.reserve(8);
    HOST_LE ? this.buf.writeBigInt64LE(v, at) : this.buf.writeBigInt64BE(v, at);
  }
  be16(v: number): void {
    const at = this.reserve(2);
    this.buf.writeUInt16BE(v, at);
  }
  be32(v: number): void {
    const at = this.reserve(4);
    this.buf.writeUInt32BE(v, at);
  }
  be64(v: bigint): void {
    const at = this.reserve(8);
    this.buf.writeBigUInt64BE(v, at);
  }

  bytes(data: Uint8Array | readonly number[]): void {
    const at = this.reserve(data.length);
    this.buf.set(data, at);
  }

  string(text: string): void {
    const length = Buffer.byteLength(text);
    const at = this.reserve(length);
    this.buf.write(text, at, length, 'utf8');
  }

  /** Starts an attribute (aligned), returning its start for endAttr. */
  beginAttr(typeWithFlags: number): number {
    this.pad();
    const at = this.reserve(NLA_HDRLEN);
    if (HOST_LE) this.buf.writeUInt16LE(typeWithFlags, at + 2);
    else this.buf.writeUInt16BE(typeWithFlags, at + 2);
    return at;
  }

  /** Patches the attribute's length (padding excluded, as the kernel expects) and pads. */
  endAttr(start: number): void {
    const length = this.pos - start;
    if (length > 0xffff) throw new ValidationError('attribute', `${length} bytes exceed the 65535-byte netlink limit`);
    if (HOST_LE) this.buf.writeUInt16LE(length, start);
    else this.buf.writeUInt16BE(length, start);
    this.pad();
  }

  /** A copy of what was written, sized exactly. */
  finish(): Buffer {
    return Buffer.from(this.buf.subarray(0, this.pos));
  }
}
