/**
 * bench/procs/etcd-writer.cjs driven from a suite: one process, started
 * inside a host's namespace before anything is timed, that writes to etcd
 * when told. `send` resolves with its reply once etcd has answered; a round's
 * clock starts just before `send`.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { BENCH_DIR, NODE } from './lib.js';

export interface WriterReply {
  ok: boolean;
  error?: string;
  revision?: string;
  deleted?: string;
}

export class EtcdWriter {
  private readonly child: ChildProcess;
  private readonly waiting: ((reply: WriterReply) => void)[] = [];

  constructor(ns: string, endpoint: string) {
    this.child = spawn('ip', ['netns', 'exec', ns, NODE, `${BENCH_DIR}procs/etcd-writer.cjs`, endpoint], {
      stdio: ['pipe', 'pipe', 'inherit'],
    });
    createInterface({ input: this.child.stdout! }).on('line', (line) =>
      this.waiting.shift()?.(JSON.parse(line) as WriterReply),
    );
  }

  /** One command (see etcd-writer.cjs); rejects when etcd refused it. */
  async send(command: string): Promise<WriterReply> {
    const reply = new Promise<WriterReply>((resolve) => this.waiting.push(resolve));
    this.child.stdin!.write(`${command}\n`);
    const answer = await reply;
    if (!answer.ok) throw new Error(`etcd writer: ${command.split(' ')[0]}: ${answer.error ?? 'refused'}`);
    return answer;
  }

  close(): void {
    this.child.stdin!.end();
    this.child.kill();
  }
}
