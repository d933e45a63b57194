/**
 * The pieces of launching dnsmasq that need no root: the command chain,
 * reading the shell's exit status, classifying dnsmasq's stderr lines,
 * finding executables and reading /proc.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { describeExit } from '../../src/dnsmasq/errors.js';
import { classifyLine, EXIT_MARKER, launchCommand } from '../../src/dnsmasq/process.js';
import { childrenOf, findExecutable, procStat, processAlive, statusToExit } from '../../src/process/proc.js';

const tools = {
  dnsmasq: '/usr/sbin/dnsmasq',
  setpriv: '/usr/bin/setpriv',
  unshare: '/usr/bin/unshare',
  sh: '/bin/sh',
  nsenter: '/usr/bin/nsenter',
};

test('the chain: setpriv (parent-death signal), nsenter, unshare (PID namespace, kill child), sh (status), dnsmasq in the foreground', () => {
  const { command, args } = launchCommand({
    tools,
    configPath: '/run/vxnet/dnsmasq/i/dnsmasq.conf',
    namespace: 'host1',
  });
  assert.is(command, '/usr/bin/setpriv');
  assert.equal(args, [
    '--pdeathsig',
    'SIGKILL',
    '--',
    '/usr/bin/nsenter',
    '--net=/run/netns/host1',
    '--',
    '/usr/bin/unshare',
    '--pid',
    '--fork',
    '--kill-child=SIGKILL',
    '--',
    '/bin/sh',
    '-c',
    `"$0" "$@"; echo "${EXIT_MARKER}$?" >&2`,
    '/usr/sbin/dnsmasq',
    '--keep-in-foreground',
    '--conf-file=/run/vxnet/dnsmasq/i/dnsmasq.conf',
  ]);
  const here = launchCommand({ tools, configPath: '/c' });
  assert.not.ok(here.args.includes('/usr/bin/nsenter'));
  assert.is(launchCommand({ tools, configPath: '/c', namespace: '/proc/1/ns/net' }).args[4], '--net=/proc/1/ns/net');
});

test("the shell's $? becomes a code or a signal", () => {
  assert.equal(statusToExit(0), { code: 0, signal: null });
  assert.equal(statusToExit(2), { code: 2, signal: null });
  assert.equal(statusToExit(137), { code: null, signal: 'SIGKILL' });
  assert.equal(statusToExit(139), { code: null, signal: 'SIGSEGV' });
  assert.equal(statusToExit(143), { code: null, signal: 'SIGTERM' });
  assert.is(
    describeExit({ code: 2, signal: null }),
    'exited with code 2 (a problem with network access: address in use, privileged port without permission, missing interface)',
  );
  assert.is(describeExit({ code: null, signal: 'SIGKILL' }), 'was killed by SIGKILL');
});

test('stderr lines: started (with version), hosts file read or refused, the exit marker, anything else', () => {
  const hosts = '/run/vxnet/dnsmasq/i/hosts';
  assert.equal(classifyLine('dnsmasq[2]: started, version 2.90 DNS disabled', hosts), {
    kind: 'started',
    version: '2.90',
  });
  assert.equal(classifyLine('dnsmasq[31]: started, version 2.89 cachesize 150', hosts), {
    kind: 'started',
    version: '2.89',
  });
  assert.equal(classifyLine(`dnsmasq-dhcp[2]: read ${hosts}`, hosts), { kind: 'hosts-read' });
  assert.equal(classifyLine('dnsmasq-dhcp[2]: read /etc/hosts', hosts), { kind: 'other' });
  assert.equal(classifyLine(`dnsmasq-dhcp[2]: read ${hosts}.old`, hosts), { kind: 'other' });
  assert.equal(classifyLine(`dnsmasq[2]: cannot read ${hosts}: Permission denied`, hosts), {
    kind: 'hosts-failed',
    reason: `cannot read ${hosts}: Permission denied`,
  });
  assert.equal(classifyLine(`dnsmasq[2]: bad dhcp-host at line 3 of ${hosts}`, hosts), {
    kind: 'hosts-failed',
    reason: `bad dhcp-host at line 3 of ${hosts}`,
  });
  assert.equal(classifyLine(`${EXIT_MARKER}137`, hosts), { kind: 'exit', status: 137 });
  assert.equal(classifyLine('dnsmasq: unknown interface br9', hosts), { kind: 'other' });
});

test('findExecutable: PATH first, then the sbin directories; absolute paths checked as given', () => {
  assert.is(findExecutable('sh', '/nonexistent'), '/usr/bin/sh');
  assert.is(findExecutable('sh', '/bin'), '/bin/sh');
  assert.is(findExecutable('no-such-tool-vxnet'), undefined);
  assert.is(findExecutable('/bin/sh'), '/bin/sh');
  assert.is(findExecutable('/usr/bin'), undefined, 'a directory is not an executable');
  const dir = mkdtempSync(join(tmpdir(), 'vxt-exec-'));
  try {
    writeFileSync(join(dir, 'plain'), 'x', { mode: 0o644 });
    assert.is(findExecutable(join(dir, 'plain')), undefined);
    assert.is(findExecutable('plain', dir), undefined);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('/proc readers: state, parent, start time, children, liveness (zombies are not alive)', async () => {
  const me = procStat(process.pid)!;
  assert.is(me.ppid, process.ppid);
  assert.ok(me.startTime > 0);
  assert.ok(processAlive(process.pid, me.startTime));
  assert.not.ok(processAlive(process.pid, me.startTime + 1), 'another start time is another process');
  const child = spawn('sleep', ['30'], { stdio: 'ignore' });
  try {
    assert.ok(childrenOf(process.pid).includes(child.pid!));
    assert.ok(processAlive(child.pid!));
  } finally {
    child.kill('SIGKILL');
  }
  await new Promise((resolve) => child.once('exit', resolve));
  assert.not.ok(processAlive(child.pid!));
  assert.is(procStat(2 ** 22 + 1), undefined);
});

test.run();
