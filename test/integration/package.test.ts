/**
 * The published shape: `npm pack`, installed into a scratch project, works
 * with require() and import(), and its types check under TypeScript.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { sh } from '../helpers/netns.js';

import { createRequire } from 'node:module';

const root = process.cwd();
const require = createRequire(import.meta.url);

test('npm pack → install → require, import and types', () => {
  const scratch = mkdtempSync(join(tmpdir(), 'vxnet-pack-'));
  try {
    sh('npm', ['run', 'build', '--silent']);
    const tarball = sh('npm', ['pack', '--silent', '--pack-destination', scratch]).trim().split('\n').pop()!;
    writeFileSync(join(scratch, 'package.json'), JSON.stringify({ name: 'scratch', private: true, type: 'commonjs' }));
    sh('npm', [
      'install',
      '--prefix',
      scratch,
      '--no-audit',
      '--no-fund',
      '--prefer-offline',
      join(scratch, tarball),
      `typescript@${require(`${root}/node_modules/typescript/package.json`).version}`,
      `@types/node@${require(`${root}/node_modules/@types/node/package.json`).version}`,
    ]);
    writeFileSync(
      join(scratch, 'cjs.js'),
      `
      const vxnet = require('vxnet');
      const core = require('vxnet/netlink');
      if (typeof vxnet.Connection.open !== 'function' || core.NLM_F_DUMP !== 0x300) throw new Error('bad exports');
      vxnet.Connection.open({ protocol: 0 }).then(async (c) => {
        const links = await c.dumpAll(() => vxnet.encodeRaw(18, 0, Buffer.alloc(16)), { operation: 'dump links' });
        console.log('cjs ' + (links.length > 0));
        c.close();
      });
    `,
    );
    writeFileSync(
      join(scratch, 'esm.mjs'),
      `
      import { Connection, encodeRaw } from 'vxnet';
      import { ValidationError } from 'vxnet/netlink';
      const c = await Connection.open({ protocol: 0 });
      const links = await c.dumpAll(() => encodeRaw(18, 0, Buffer.alloc(16)), { operation: 'dump links' });
      console.log('esm ' + (links.length > 0) + ' ' + typeof ValidationError);
      c.close();
    `,
    );
    writeFileSync(
      join(scratch, 'typed.ts'),
      `
      import { Connection, NetlinkError, type RawMessage } from 'vxnet';
      import { attrSet, attr } from 'vxnet/netlink';
      export async function f(): Promise<RawMessage[]> {
        const set = attrSet('x', { name: attr.string(1) });
        void set;
        const c: Connection = await Connection.open({ protocol: 0 });
        try { return await c.dumpAll(() => Buffer.alloc(32), { operation: 'x' }); }
        catch (e) { if (e instanceof NetlinkError) console.log(e.code); throw e; }
      }
      // @ts-expect-error: protocol is required
      Connection.open({});
    `,
    );
    writeFileSync(
      join(scratch, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          strict: true,
          module: 'nodenext',
          moduleResolution: 'nodenext',
          target: 'es2022',
          noEmit: true,
          types: ['node'],
        },
        files: ['typed.ts'],
      }),
    );
    const cjs = sh('node', [join(scratch, 'cjs.js')]);
    assert.match(cjs, /cjs true/, cjs);
    assert.match(sh('node', [join(scratch, 'esm.mjs')]), /esm true function/);
    sh(join(scratch, 'node_modules/.bin/tsc'), ['-p', join(scratch, 'tsconfig.json')]);
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
});

test.run();
