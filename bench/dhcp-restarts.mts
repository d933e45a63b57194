/**
 * How long DHCP is down after each crash of a supervised dnsmasq, with the
 * default restart policy (backoff from 100 ms, doubled per crash within
 * 60 s; the 5th crash gives up). dnsmasq is SIGKILLed as soon as its
 * successor serves, five times, and the 'restart' events' downtimes (kill
 * seen → new dnsmasq ready) are printed per crash, over several rounds.
 *
 *   npx tsx bench/dhcp-restarts.mts [rounds]      (root; figures in docs/dnsmasq.md)
 */
import { mkdtempSync, rmSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DnsmasqServer } from '../src/dnsmasq/index.js';
import { median, sh, withNamespace } from './lib.js';

const rounds = Number(process.argv[2] ?? 3);
const downtimes: number[][] = [[], [], [], []];
const backoffs: number[] = [];

for (let round = 0; round < rounds; round++) {
  await withNamespace(`dhcp${round}`, async (ns) => {
    sh('ip', ['-n', ns, 'link', 'add', 'br0', 'type', 'bridge']);
    sh('ip', ['-n', ns, 'addr', 'add', '10.30.0.1/24', 'dev', 'br0']);
    sh('ip', ['-n', ns, 'link', 'set', 'br0', 'up']);
    const dir = mkdtempSync(join(tmpdir(), 'vxnet-bench-dhcp-'));
    chmodSync(dir, 0o755);
    const server = await DnsmasqServer.start(
      {
        interface: 'br0',
        subnet: '10.30.0.0/24',
        gateway: '10.30.0.1',
        ranges: [{ start: '10.30.0.100', end: '10.30.0.199' }],
        pingCheck: false,
      },
      { namespace: ns, stateDir: join(dir, 'br0') },
    );
    const gaveUp = new Promise<Error>((resolve) => server.once('error', resolve));
    try {
      for (let crash = 1; crash <= 5; crash++) {
        const restarted =
          crash < 5
            ? new Promise<{ downtimeMs: number; delayMs: number }>((resolve) => server.once('restart', resolve))
            : undefined;
        process.kill(server.status().pid!, 'SIGKILL');
        if (!restarted) break;
        const info = await restarted;
        downtimes[crash - 1]!.push(info.downtimeMs);
        backoffs[crash - 1] = info.delayMs;
      }
      console.log(
        `round ${round + 1}: ${downtimes.map((d) => `${d.at(-1)} ms`).join(', ')}; then: ${(await gaveUp).message.split('\n')[0]}`,
      );
    } finally {
      await server.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });
}
console.log('\n| crash | backoff | kill → serving again (median, min–max) |\n|---|---|---|');
for (const [i, d] of downtimes.entries()) {
  console.log(
    `| ${i + 1} | ${backoffs[i]} ms | ${median(d).toFixed(0)} ms (${Math.min(...d).toFixed(0)}–${Math.max(...d).toFixed(0)}) |`,
  );
}
console.log('| 5 | — | gives up: no restart, `error` event (DnsmasqGaveUpError) |');
