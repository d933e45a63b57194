/**
 * links.create with an alias (test/helpers/fake-host.ts as the kernel). The
 * kernel ignores IFLA_IFALIAS on creation, so the alias is a second request;
 * if that one fails, the device just created is deleted again: vxnet marks
 * what it owns with the alias, and an unmarked device would be left for no
 * one to remove. An alias the kernel would refuse is refused before the
 * device is created.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { NetlinkError, ValidationError, VxnetError } from '../../src/netlink/errors.js';
import { validateIfalias } from '../../src/rtnetlink/validate.js';
import { ethernet, FakeHost, LOOPBACK } from '../helpers/fake-host.js';

const newHost = () => new FakeHost({ links: [LOOPBACK, ethernet('eth0', { addresses: ['192.168.100.1/24'] })] });
const VXLAN = {
  ifname: 'vx0',
  kind: 'vxlan',
  vxlan: { id: 42, port: 4789, link: 'eth0' },
  ifalias: 'vxnet:demo',
} as const;
/** The write that sets an alias (a change of an existing device: no NLM_F_CREATE). */
const isAliasWrite = (w: { type: string; message: Record<string, unknown> }) =>
  w.type === 'RTM_NEWLINK' && w.message.ifalias !== undefined;

async function rejection(run: () => Promise<unknown>): Promise<Error> {
  try {
    await run();
  } catch (error) {
    return error as Error;
  }
  assert.unreachable('expected it to throw');
  throw new Error('unreachable');
}

test("the alias cannot be set: the new device is deleted again, and the error is the create's, with the kernel's errno", async () => {
  const host = newHost();
  const rt = host.rtnetlink();
  const before = host.snapshot();
  host.failWrite({ errno: 'EPERM', when: isAliasWrite });
  const error = await rejection(() => rt.links.create(VXLAN));
  assert.instance(error, NetlinkError);
  const failure = error as NetlinkError;
  assert.equal([failure.operation, failure.object, failure.code], ['create link', 'vx0 (vxlan id 42)', 'EPERM']);
  assert.match(
    failure.message,
    /^create link vx0 \(vxlan id 42\) failed: EPERM .*setting its alias after creation failed, so the new device was deleted again: change link vx0 failed: EPERM/,
  );
  assert.equal(host.snapshot(), before, 'no device is left, marked or not');
  assert.equal(host.counts().RTM_DELLINK, 1);
});

test('the alias cannot be set and the device cannot be deleted: the error says the device is left, by name', async () => {
  const host = newHost();
  const rt = host.rtnetlink();
  host.failWrite({ errno: 'EBUSY', when: isAliasWrite });
  host.failWrite({ errno: 'EPERM', when: (w) => w.type === 'RTM_DELLINK' });
  const error = await rejection(() => rt.links.create(VXLAN));
  assert.instance(error, VxnetError);
  assert.match(
    error.message,
    /^create link vx0 \(vxlan id 42\): the device was created, but setting its alias failed \(change link vx0 failed: EBUSY.*\), and deleting it again failed too \(delete link vx0 failed: EPERM.*\): vx0 is left without its alias; delete it yourself$/,
  );
  assert.instance(error.cause, NetlinkError);
  assert.is((error.cause as NetlinkError).code, 'EBUSY');
  const left = host.snapshot().links.find((l) => l.ifname === 'vx0');
  assert.ok(left, 'it is there, as the error says');
  assert.is(left!.ifalias, undefined);
});

test('an alias set as asked: create, look up, set the alias by index, read back (one request each)', async () => {
  const host = newHost();
  const rt = host.rtnetlink();
  const link = await rt.links.create(VXLAN);
  assert.is(link.ifalias, 'vxnet:demo');
  assert.equal(
    host.counts(),
    { RTM_GETLINK: 3, RTM_NEWLINK: 2 },
    "the underlay's lookup, the new device's, its read-back; the create and the alias",
  );
});

test('an alias the kernel would refuse (over 254 bytes, NUL, not text) is refused before the device is created', async () => {
  const host = newHost();
  const rt = host.rtnetlink();
  assert.is(validateIfalias('x'.repeat(254)), 'x'.repeat(254));
  assert.is(validateIfalias('é'.repeat(127)), 'é'.repeat(127));
  for (const [alias, reason] of [
    ['x'.repeat(255), /at most 254 bytes/],
    ['é'.repeat(128), /at most 254 bytes/],
    ['a\0b', /cannot contain NUL/],
    [42, /is a string/],
  ] as const) {
    for (const run of [
      () => rt.links.create({ ...VXLAN, ifalias: alias as string }),
      () => rt.links.set('eth0', { ifalias: alias as string }),
    ]) {
      const error = await rejection(run);
      assert.instance(error, ValidationError);
      assert.is((error as ValidationError).field, 'ifalias');
      assert.match((error as ValidationError).reason, reason);
    }
  }
  assert.is(host.writes, 0);
});

test.run();
