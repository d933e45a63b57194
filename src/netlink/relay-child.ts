/**
 * The program of a relay process. Node cannot setns(2), so to talk to the
 * kernel inside another network namespace vxnet starts `node` there (through
 * nsenter) running this function, and relays datagrams over the child's
 * stdin/stdout. Subscriptions run here too: if a burst of events overruns a
 * socket, or node-netlink aborts on ENOBUFS, the damage stays in this child.
 *
 * The function is sent as source text (`node -e`), so it must be
 * self-contained: no imports, no references to anything outside its body.
 * It is plain JavaScript in TypeScript clothing.
 *
 * Frames, both directions: u32 body length (LE), u8 op, body.
 */

/** What parent and child agree on; the parent passes it to the child as JSON, with the source. */
export const RELAY_PROTOCOL = {
  /** Frame ops: parent to child below 0x80, child to parent above. */
  OP: {
    SEND: 1,
    ADD: 2,
    DROP: 3,
    OPEN: 4,
    CLOSE: 5,
    READY: 0x81,
    DATAGRAM: 0x82,
    SENT: 0x83,
    ERROR: 0x84,
    FD: 0x85,
    OVERRUN: 0x86,
  },
  /** u32 body length, u8 op. */
  FRAME_HEADER: 5,
  /** The child's exit code when the port it was asked to bind is taken (EADDRINUSE's errno). */
  EXIT_PORT_IN_USE: 98,
  /** The child's exit code for any other failure to open its socket. */
  EXIT_FAILED: 1,
  /** The child socket's send buffer (SO_SNDBUF). */
  SEND_BUFFER: 1024 * 1024,
} as const;

export function relayMain(load: (id: string) => any, args: string[], protocol: typeof RELAY_PROTOCOL): void {
  const [netlinkRaw, protocolText, maxBacklogText, readSizeText, receiveBufferText, localPortText] = args as [
    string,
    string,
    string,
    string,
    string,
    string,
  ];
  const { RawNetlinkSocket } = load(netlinkRaw);
  const fs = load('fs');
  const { OP, FRAME_HEADER } = protocol;
  const maxBacklog = Number(maxBacklogText);
  const out = process.stdout;
  let dropped = 0;

  function frame(op: number, body: Buffer): void {
    const head = Buffer.allocUnsafe(FRAME_HEADER);
    head.writeUInt32LE(body.length, 0);
    head[4] = op;
    out.write(Buffer.concat([head, body]));
  }
  function u32s(...values: number[]): Buffer {
    const b = Buffer.allocUnsafe(values.length * 4);
    values.forEach((v, i) => {
      b.writeInt32LE(v | 0, i * 4);
    });
    return b;
  }
  function reportOverrun(): void {
    if (dropped > 0 && out.writableLength <= maxBacklog / 2) {
      frame(OP.OVERRUN, u32s(dropped));
      dropped = 0;
    }
  }

  let socket: any;
  try {
    const readSize = Number(readSizeText);
    socket = new RawNetlinkSocket(Number(protocolText), {
      // 0: peek at each datagram's size and read exactly that (see RelayOptions.readSize).
      ...(readSize > 0 ? { messagePeeking: false, msgBufferSize: readSize } : { messagePeeking: true }),
      recvBufferSize: Number(receiveBufferText),
      sendBufferSize: protocol.SEND_BUFFER,
      ...(localPortText ? { localPort: Number(localPortText) } : {}),
    });
  } catch (error) {
    // The parent tells a taken port (a lock held elsewhere) from other failures by the exit code.
    const code = (error as { code?: string }).code;
    process.stderr.write(`bind: ${code ?? (error as Error).message}\n`);
    process.exit(code === 'EADDRINUSE' ? protocol.EXIT_PORT_IN_USE : protocol.EXIT_FAILED);
  }
  socket.on('message', (datagram: Buffer) => {
    // A parent that stops reading must not make this process grow without
    // bound: past the backlog limit, drop and tell the parent to resync.
    if (out.writableLength > maxBacklog) {
      dropped++;
      return;
    }
    reportOverrun();
    frame(OP.DATAGRAM, datagram);
  });
  socket.on('truncatedMessage', () => {
    dropped++;
    reportOverrun();
  });
  socket.on('error', (error: { errno?: number; code?: string }) => {
    if (error.code === 'ENOBUFS') {
      dropped++;
      reportOverrun();
      return;
    }
    frame(OP.ERROR, Buffer.concat([u32s(error.errno ?? 0), Buffer.from(String(error.code ?? ''))]));
  });
  out.on('drain', reportOverrun);

  let input: Buffer = Buffer.alloc(0);
  process.stdin.on('data', (chunk: Buffer) => {
    input = input.length ? Buffer.concat([input, chunk]) : chunk;
    while (input.length >= FRAME_HEADER) {
      const length = input.readUInt32LE(0);
      if (input.length < FRAME_HEADER + length) break;
      const op = input[4];
      const body = input.subarray(FRAME_HEADER, FRAME_HEADER + length);
      input = input.subarray(FRAME_HEADER + length);
      if (op === OP.SEND) {
        const id = body.readUInt32LE(0);
        const count = body.readUInt32LE(4);
        const parts: Buffer[] = [];
        let at = 8;
        for (let i = 0; i < count; i++) {
          const size = body.readUInt32LE(at);
          parts.push(Buffer.from(body.subarray(at + 4, at + 4 + size)));
          at += 4 + size;
        }
        socket.send(parts, {}, (error?: { errno?: number }) =>
          frame(OP.SENT, u32s(id, error ? -(error.errno ?? 1) : 0)),
        );
      } else if (op === OP.ADD) {
        socket.addMembership(body.readUInt32LE(0));
      } else if (op === OP.DROP) {
        socket.dropMembership(body.readUInt32LE(0));
      } else if (op === OP.OPEN) {
        const id = body.readUInt32LE(0);
        let result: number;
        try {
          result = fs.openSync(body.subarray(4).toString(), 'r');
        } catch (error) {
          result = -((error as { errno?: number }).errno ? Math.abs((error as { errno: number }).errno) : 1);
        }
        frame(OP.FD, u32s(id, result));
      } else if (op === OP.CLOSE) {
        try {
          fs.closeSync(body.readUInt32LE(0));
        } catch {
          // already closed: nothing to do
        }
      }
    }
  });
  // The parent went away (closed us, or died): so do we, leaving nothing behind.
  process.stdin.on('end', () => process.exit(0));
  process.stdin.on('error', () => process.exit(0));
  out.on('error', () => process.exit(0));
  frame(OP.READY, u32s(socket.address().port));
}
