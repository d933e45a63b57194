/**
 * A recorded process is the same process only while pid and start time both
 * match: a pid reused by a stranger is not the agent or the DHCP owner, and
 * destroy never signals it.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { formatIdentity, isRunning, parseIdentity, thisProcess } from '../../src/process/identity.js';
import { procStat } from '../../src/process/proc.js';
import { dhcpOwner, OWNER_FILE, recordOwner, stopForeignDhcp } from '../../src/network/dhcp-owner.js';

test('thisProcess: the pid and the start time of field 22 of /proc/PID/stat', () => {
  const me = thisProcess();
  assert.is(me.pid, process.pid);
  const stat = spawnSync('cat', [`/proc/${process.pid}/stat`], { encoding: 'utf8' }).stdout;
  assert.is(String(me.start), stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19]);
});

test('isRunning: this process with its start; not with another start; not once the pid is gone', async () => {
  const me = thisProcess();
  assert.ok(isRunning(me));
  assert.ok(isRunning({ pid: me.pid }), 'a record without a start: the pid alone');
  assert.not.ok(isRunning({ pid: me.pid, start: me.start! + 1 }), 'the same pid, started at another time: a stranger');
  const child = spawn(process.execPath, ['-e', '0']);
  const pid = child.pid!;
  await new Promise((resolve) => child.on('exit', resolve));
  assert.not.ok(isRunning({ pid }));
});

test('parseIdentity / formatIdentity: "PID START" and a plain "PID"; anything else is no identity', () => {
  assert.equal(parseIdentity(formatIdentity({ pid: 123, start: 456 })), { pid: 123, start: 456 });
  assert.equal(parseIdentity('123\n'), { pid: 123 });
  for (const bad of ['', 'x', '1', '12 x', '12 34 56', '-5 3', '12 -1']) assert.is(parseIdentity(bad), undefined, bad);
});

test('a DHCP owner file naming a reused pid: no owner, and stopForeignDhcp signals nobody', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'vxnet-owner-'));
  try {
    recordOwner(dir);
    assert.is(dhcpOwner(dir).ownerPid, process.pid, 'this process, as recorded');
    // The same pid with another start time: what the file says after the owner died and its pid was reused.
    const me = thisProcess();
    writeFileSync(join(dir, OWNER_FILE), formatIdentity({ pid: me.pid, start: me.start! + 1 }));
    assert.equal(dhcpOwner(dir), {});
    const stranger = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 5000)']);
    try {
      const identity = { pid: stranger.pid!, start: procStat(stranger.pid!)!.startTime + 1 };
      writeFileSync(join(dir, OWNER_FILE), formatIdentity(identity));
      assert.equal(await stopForeignDhcp(dir, 500), {});
      assert.ok(isRunning({ pid: stranger.pid! }), 'the process that got the pid was not signalled');
    } finally {
      stranger.kill('SIGKILL');
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
