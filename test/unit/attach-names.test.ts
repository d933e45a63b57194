/**
 * What an attachment derives from its identity: the host end's name (15
 * bytes, printable, the same every time, another one per attempt) and the
 * MACs (locally administered unicast; the container's stable per network,
 * container and ifname; the host end's starting with 0xfe, so a bridge
 * never takes it as its own).
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { containerMac, HOST_VETH_ATTEMPTS, hostVethMac, hostVethName } from '../../src/attach/names.js';
import { validatePortableIfname, validateUnicastMac } from '../../src/rtnetlink/validate.js';
import { prng } from '../helpers/prng.js';

const NS = 'ns-4-4026532384';

test('host end names: vxc + 12 hex digits, 15 bytes, portable, deterministic', () => {
  const name = hostVethName(NS, 'eth0');
  assert.match(name, /^vxc[0-9a-f]{12}$/);
  assert.is(Buffer.byteLength(name), 15);
  assert.is(validatePortableIfname(name), name);
  assert.is(hostVethName(NS, 'eth0'), name, 'the same inputs give the same name');
  assert.is(hostVethName(NS, 'eth0', 0), name, 'attempt 0 is the first choice');
});

test('host end names differ by namespace, by ifname and by attempt', () => {
  const names = new Set<string>();
  for (const ns of [NS, 'ns-4-4026532385', 'ns-5-4026532384']) {
    for (const ifname of ['eth0', 'eth1', 'net0']) {
      for (let attempt = 0; attempt < HOST_VETH_ATTEMPTS; attempt++) names.add(hostVethName(ns, ifname, attempt));
    }
  }
  assert.is(names.size, 3 * 3 * HOST_VETH_ATTEMPTS);
});

test('no collisions among 20000 namespaces (48 bits of hash)', () => {
  const random = prng(13);
  const names = new Set<string>();
  for (let i = 0; i < 20000; i++)
    names.add(hostVethName(`ns-4-${4026531840 + Math.floor(random() * 1e9)}-${i}`, 'eth0'));
  assert.is(names.size, 20000);
});

test('container MACs: locally administered unicast, never 0xfe first, stable', () => {
  const random = prng(7);
  for (let i = 0; i < 2000; i++) {
    const mac = containerMac(`net${i % 7}`, `netns:c${Math.floor(random() * 1e6)}`, i % 2 ? 'eth0' : 'eth1');
    assert.match(mac, /^([0-9a-f]{2}:){5}[0-9a-f]{2}$/);
    const first = parseInt(mac.slice(0, 2), 16);
    assert.is(first & 1, 0, `${mac} is unicast`);
    assert.is(first & 2, 2, `${mac} is locally administered`);
    assert.is.not(first, 0xfe, `${mac} leaves 0xfe to host ends`);
    assert.is(validateUnicastMac(mac), mac);
  }
  assert.is(containerMac('demo', 'netns:web', 'eth0'), containerMac('demo', 'netns:web', 'eth0'));
});

test('container MACs differ by network, container and ifname', () => {
  const base = containerMac('demo', 'netns:web', 'eth0');
  assert.is.not(containerMac('other', 'netns:web', 'eth0'), base);
  assert.is.not(containerMac('demo', 'netns:db', 'eth0'), base);
  assert.is.not(containerMac('demo', 'netns:web', 'eth1'), base);
  // The separator keeps "a" + "bc" apart from "ab" + "c".
  assert.is.not(containerMac('a', 'bc', 'eth0'), containerMac('ab', 'c', 'eth0'));
});

test('host end MACs start with fe and are unicast, one per name', () => {
  const mac = hostVethMac(hostVethName(NS, 'eth0'));
  assert.match(mac, /^fe(:[0-9a-f]{2}){5}$/);
  assert.is(validateUnicastMac(mac), mac);
  assert.is(hostVethMac(hostVethName(NS, 'eth0')), mac);
  assert.is.not(hostVethMac(hostVethName(NS, 'eth1')), mac);
});

test.run();
