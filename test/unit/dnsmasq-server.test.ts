/**
 * DnsmasqServer.start validates everything before it touches the host: a
 * ValidationError leaves no file and no process behind. (Runs without root:
 * validation comes before any check of the host.)
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { DnsmasqServer } from '../../src/dnsmasq/server.js';
import type { DnsmasqSpec } from '../../src/dnsmasq/spec.js';
import { ValidationError } from '../../src/netlink/errors.js';

const base = (): DnsmasqSpec => ({
  interface: 'br0',
  subnet: '10.42.0.0/24',
  gateway: '10.42.0.1',
  ranges: [{ start: '10.42.0.100', end: '10.42.0.199' }],
  hosts: [{ mac: '02:00:00:00:00:01', ip: '10.42.0.10', name: 'db' }],
});

test('DnsmasqServer.start: invalid input writes nothing and starts nothing', async () => {
  const root = mkdtempSync(join(tmpdir(), 'vxt-dnsmasq-'));
  try {
    const stateDir = join(root, 'state');
    const cases: [any, any, string][] = [
      [
        { ...base(), hosts: [{ mac: '02:00:00:00:00:01', ip: '10.42.0.10', name: 'db\nport=53' }] },
        { stateDir },
        'hosts[0].name',
      ],
      [{ ...base(), ranges: [{ start: '10.42.0.1', end: '10.42.0.9' }] }, { stateDir }, 'ranges[0]'],
      [base(), { stateDir, instance: 'a=b' }, 'instance'],
      [base(), { stateDir, restart: { maxCrashes: 0 } }, 'restart.maxCrashes'],
      [base(), { stateDir, stopTimeoutMs: 0 }, 'stopTimeoutMs'],
      [base(), { stateDir, preflight: 'no' }, 'preflight'],
    ];
    for (const [spec, options, field] of cases) {
      await DnsmasqServer.start(spec, options).then(
        () => assert.unreachable('should not start'),
        (error) => {
          assert.instance(error, ValidationError);
          assert.is((error as ValidationError).field, field);
        },
      );
      assert.not.ok(existsSync(stateDir), `nothing written for ${field}`);
    }
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test.run();
