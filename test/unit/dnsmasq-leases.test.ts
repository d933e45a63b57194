/**
 * dnsmasq lease files: parsing, diffing, watching, stale leases and pruning.
 * The sample lines are in the format dnsmasq 2.90 writes: the first two
 * come from a lease file dnsmasq 2.90 wrote on the development machine.
 */
import { mkdtempSync, rmSync, writeFileSync, renameSync, truncateSync, appendFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  diffLeases,
  type Lease,
  type LeaseChanges,
  LeaseWatcher,
  parseLeaseFile,
  parseLeases,
  pruneLeaseText,
  readLeases,
  staleLeases,
} from '../../src/dnsmasq/leases.js';
import { validateSpec } from '../../src/dnsmasq/spec.js';

const SAMPLE = [
  '1795687374 92:dc:c2:5c:d1:6f 10.9.0.200 box4 01:92:dc:c2:5c:d1:6f',
  '1795687359 4a:0a:2b:13:70:70 10.9.0.92 * 01:4a:0a:2b:13:70:70',
  '0 02:00:00:00:00:01 10.9.0.10 db *',
  '1795687400 06-00:11:22:33:44:55 10.9.0.11 * *',
  '',
].join('\n');

test('parses expiry, MAC, IP, hostname and client id; "*" means none; 0 means infinite', () => {
  assert.equal(parseLeases(SAMPLE), [
    {
      expires: new Date(1795687374000),
      mac: '92:dc:c2:5c:d1:6f',
      ip: '10.9.0.200',
      hostname: 'box4',
      clientId: '01:92:dc:c2:5c:d1:6f',
    },
    { expires: new Date(1795687359000), mac: '4a:0a:2b:13:70:70', ip: '10.9.0.92', clientId: '01:4a:0a:2b:13:70:70' },
    { expires: null, mac: '02:00:00:00:00:01', ip: '10.9.0.10', hostname: 'db' },
    // A non-Ethernet client: dnsmasq prefixes the ARP hardware type.
    { expires: new Date(1795687400000), mac: '00:11:22:33:44:55', hwType: 6, ip: '10.9.0.11' },
  ]);
});

test('an empty file has no leases; a last line without its newline is still being written and is left out', () => {
  assert.equal(parseLeaseFile(''), { leases: [], leases6: [], invalid: [] });
  const partial = `${SAMPLE}1795687374 02:00:00:00:00:09 10.9.0`;
  assert.is(parseLeases(partial).length, 4);
  assert.equal(parseLeaseFile(partial).invalid, []);
});

test('malformed lines are reported with their line number and reason, the rest still parsed', () => {
  const text = [
    'garbage',
    'x 02:00:00:00:00:01 10.9.0.10 * *',
    '0 02:00:00:00:00:01 10.9.0 * *',
    '0 zz:00 10.9.0.10 * *',
    '0 02:00:00:00:00:01 10.9.0.10 * not-hex',
    SAMPLE,
  ].join('\n');
  const file = parseLeaseFile(text);
  assert.is(file.leases.length, 4);
  assert.equal(
    file.invalid.map((i) => [i.line, i.reason]),
    [
      [1, 'expected 5 fields, found 1'],
      [2, 'the expiry is not a number of seconds'],
      [3, 'the address is not IPv4'],
      [4, 'the hardware address is not colon-separated hex'],
      [5, 'the client id is not colon-separated hex'],
    ],
  );
});

test('a DHCPv6 section (after the duid line) is parsed apart from the IPv4 leases', () => {
  const text = `${SAMPLE}duid 00:01:00:01:2c:ab:cd:ef:02:00:00:00:00:01\n1795687500 12345 fd00::10 web 00:01:00:01:aa:bb\n0 7 fd00::11 * *\n`;
  const file = parseLeaseFile(text);
  assert.is(file.leases.length, 4);
  assert.is(file.serverDuid, '00:01:00:01:2c:ab:cd:ef:02:00:00:00:00:01');
  assert.equal(file.leases6, [
    { expires: new Date(1795687500000), iaid: 12345, ip: 'fd00::10', hostname: 'web', duid: '00:01:00:01:aa:bb' },
    { expires: null, iaid: 7, ip: 'fd00::11' },
  ]);
});

const lease = (ip: string, mac: string, extra: Partial<Lease> = {}): Lease => ({
  expires: new Date(1_800_000_000_000),
  mac,
  ip,
  ...extra,
});

test('diff: added, removed and changed, keyed by address', () => {
  const before = [
    lease('10.0.0.1', '02:00:00:00:00:01'),
    lease('10.0.0.2', '02:00:00:00:00:02'),
    lease('10.0.0.3', '02:00:00:00:00:03'),
  ];
  const after = [
    lease('10.0.0.1', '02:00:00:00:00:01'),
    lease('10.0.0.2', '02:00:00:00:00:02', { expires: new Date(1_800_000_600_000) }),
    lease('10.0.0.4', '02:00:00:00:00:04'),
  ];
  const d = diffLeases(before, after);
  assert.equal(
    d.added.map((l) => l.ip),
    ['10.0.0.4'],
  );
  assert.equal(
    d.removed.map((l) => l.ip),
    ['10.0.0.3'],
  );
  assert.equal(
    d.changed.map((c) => [c.before.expires, c.after.expires]),
    [[new Date(1_800_000_000_000), new Date(1_800_000_600_000)]],
  );
  assert.equal(d.leases, after);
  const same = diffLeases(
    after,
    after.map((l) => ({ ...l })),
  );
  assert.is(same.added.length + same.removed.length + same.changed.length, 0);
});

const around = validateSpec({
  interface: 'br0',
  subnet: '10.9.0.0/24',
  gateway: '10.9.0.1',
  ranges: [{ start: '10.9.0.100', end: '10.9.0.199' }],
});

test('stale: a MAC now fixed elsewhere, an address now fixed to another MAC, a removed fixed address outside the ranges', () => {
  const hosts = [
    { mac: '02:00:00:00:00:01', ip: '10.9.0.10' }, // was 10.9.0.150 (dynamic)
    { mac: '02:00:00:00:00:02', ip: '10.9.0.120' }, // 10.9.0.120 is leased to 02:..:03
    { mac: '02:00:00:00:00:05', ip: '10.9.0.20' }, // leased to itself: fine
  ];
  const leases = [
    lease('10.9.0.150', '02:00:00:00:00:01'),
    lease('10.9.0.120', '02:00:00:00:00:03'),
    lease('10.9.0.20', '02:00:00:00:00:05'),
    lease('10.9.0.130', '02:00:00:00:00:06'), // dynamic, untouched
    lease('10.9.0.30', '02:00:00:00:00:07'), // its fixed mapping was removed; outside the ranges
    lease('10.9.0.140', '00:11:22:33:44:55', { hwType: 6 }), // another hardware type: never matched to an Ethernet mapping
  ];
  const stale = staleLeases(leases, hosts, around.ranges);
  assert.equal(
    stale.map((s) => [s.lease.ip, s.reason]),
    [
      ['10.9.0.150', '02:00:00:00:00:01 is now fixed to 10.9.0.10'],
      ['10.9.0.120', '10.9.0.120 is now fixed to 02:00:00:00:00:02'],
      ['10.9.0.30', '10.9.0.30 is outside every dynamic range and is no static mapping of 02:00:00:00:00:07'],
    ],
  );
  assert.equal(staleLeases([lease('10.9.0.130', '02:00:00:00:00:06')], hosts, around.ranges), []);
});

test('pruning removes exactly the stale lines and keeps every other line as it was', () => {
  const text = `${SAMPLE}duid 00:01\n0 7 fd00::11 * *\n`;
  const remove = parseLeases(SAMPLE).filter((l) => l.ip === '10.9.0.92' || l.ip === '10.9.0.11');
  const pruned = pruneLeaseText(text, remove);
  assert.is(
    pruned,
    [
      '1795687374 92:dc:c2:5c:d1:6f 10.9.0.200 box4 01:92:dc:c2:5c:d1:6f',
      '0 02:00:00:00:00:01 10.9.0.10 db *',
      'duid 00:01',
      '0 7 fd00::11 * *',
      '',
    ].join('\n'),
  );
  assert.is(pruneLeaseText(text, []), text);
  // Same address, other MAC: not the lease to remove.
  assert.is(pruneLeaseText(text, [lease('10.9.0.92', '02:00:00:00:00:99')]), text);
});

function nextChange(watcher: LeaseWatcher, timeoutMs = 2000): Promise<LeaseChanges> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no lease change within ${timeoutMs} ms`)), timeoutMs);
    watcher.once('change', (changes) => {
      clearTimeout(timer);
      resolve(changes);
    });
  });
}

test('the watcher reports a file created later, in-place rewrites (truncate, write) and replacements, once each', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'vxt-leases-'));
  const path = join(dir, 'leases');
  const watcher = new LeaseWatcher(path, 10);
  try {
    await watcher.start();
    assert.equal(watcher.current, []);
    assert.equal(await readLeases(path), []);

    let change = nextChange(watcher);
    writeFileSync(path, '0 02:00:00:00:00:01 10.9.0.10 db *\n');
    assert.equal(
      (await change).added.map((l) => l.ip),
      ['10.9.0.10'],
    );

    // dnsmasq's way: truncate, then write the whole list.
    change = nextChange(watcher);
    truncateSync(path, 0);
    appendFileSync(path, '0 02:00:00:00:00:01 10.9.0.10 db *\n1795687359 02:00:00:00:00:02 10.9.0.11 * *\n');
    const second = await change;
    assert.equal(
      second.added.map((l) => l.ip),
      ['10.9.0.11'],
    );
    assert.equal(second.removed, []);

    change = nextChange(watcher);
    writeFileSync(`${path}.tmp`, '1795687359 02:00:00:00:00:02 10.9.0.11 * *\n');
    renameSync(`${path}.tmp`, path);
    const third = await change;
    assert.equal(
      third.removed.map((l) => l.ip),
      ['10.9.0.10'],
    );
    assert.equal(
      third.leases.map((l) => l.ip),
      ['10.9.0.11'],
    );

    // A read that finds the same leases reports nothing.
    let spurious = 0;
    watcher.on('change', () => spurious++);
    writeFileSync(path, '1795687359 02:00:00:00:00:02 10.9.0.11 * *\n');
    await watcher.refresh();
    assert.is(spurious, 0);
  } finally {
    watcher.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
