/**
 * Who sees whom: a TCP server in a namespace that answers every connection
 * with the peer address it accepted, and a client that prints that answer.
 * The routed tests use it to prove no NAT happens between container subnets.
 */
import { spawn } from 'node:child_process';
import { sh } from './netns.js';

/** A TCP server in a namespace that answers every connection with the peer address it accepted. */
export async function peerEcho(ns: string, address: string, port: number): Promise<() => void> {
  const server = spawn(
    'ip',
    [
      'netns',
      'exec',
      ns,
      process.execPath,
      '-e',
      `require('net').createServer((s) => s.end(s.remoteAddress)).listen(${port}, '${address}', () => console.log('listening'))`,
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  await new Promise<void>((resolve, reject) => {
    server.stdout.once('data', () => resolve());
    server.once('exit', (code) => reject(new Error(`peer echo in ${ns} exited ${code}`)));
  });
  return () => server.kill('SIGKILL');
}

/** Connects from `ns` and returns what the server said it saw as our address. */
export function ask(ns: string, address: string, port: number): string {
  return sh('ip', [
    'netns',
    'exec',
    ns,
    process.execPath,
    '-e',
    `const s = require('net').connect(${port}, '${address}'); let t = ''; s.on('data', (d) => (t += d)); s.on('end', () => console.log(t)); s.on('error', (e) => { console.log('error ' + e.code); process.exit(1); }); s.setTimeout(3000, () => { console.log('timeout'); process.exit(1); })`,
  ]).trim();
}
