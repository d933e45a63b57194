/**
 * A NetlinkError must not have a `details` member: uvu reads `err.details`
 * as the text of an assertion diff, and when it is a function its reporter
 * throws, and the runner swallows the failure (and every test after it in
 * the file) without printing anything.
 */
import { spawnSync } from 'node:child_process';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { NetlinkError } from '../../src/netlink/errors.js';
import { REPO_ROOT } from '../helpers/fixtures.js';

test('NetlinkError: no details member; toDetails() rebuilds it, withCause() sharpens it', () => {
  const error = new NetlinkError({ errno: 17, operation: 'create link', object: 'vx0' });
  assert.is((error as unknown as Record<string, unknown>).details, undefined);
  assert.equal(error.toDetails(), {
    errno: 17,
    operation: 'create link',
    object: 'vx0',
    cause: error.likelyCause,
    kernelMessage: undefined,
    index: undefined,
  });
  const sharper = error.withCause('vx1 already holds VNI 42');
  assert.is(sharper.code, 'EEXIST');
  assert.match(sharper.message, /create link vx0 failed: EEXIST .*likely cause: vx1 already holds VNI 42$/);
});

test('a NetlinkError thrown in a uvu test is reported as a failure, and the next test still runs', () => {
  const uvu = pathToFileURL(resolve(REPO_ROOT, 'node_modules/uvu/dist/index.mjs')).href;
  const errors = pathToFileURL(resolve(REPO_ROOT, 'src/netlink/errors.ts')).href;
  const program = `
    import { test } from '${uvu}';
    import { NetlinkError } from '${errors}';
    test('refused', () => { throw new NetlinkError({ errno: 19, operation: 'get link', object: 'nosuch0' }); });
    test('after', () => {});
    test.run();
  `;
  const run = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', program], {
    cwd: REPO_ROOT,
    encoding: 'utf8',
    env: { ...process.env, NO_COLOR: '1', FORCE_COLOR: '0' },
  });
  const output = run.stdout.replace(/\x1b\[[0-9;]*m/g, '');
  assert.match(output, /FAIL .*refused/, output);
  assert.match(output, /get link nosuch0 failed: ENODEV/, output);
  assert.match(output, /Total:\s+2/, output);
  assert.match(output, /Passed:\s+1/, 'the test after the failure ran');
});

test.run();
