/**
 * The young-generation cap a long-running agent needs (src/cli/runtime.ts):
 * how it is detected, and that the bin's shebang and the tests' way of
 * starting the CLI both give it.
 */
import { readFileSync } from 'node:fs';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { YOUNG_GENERATION_OPTION, youngGenerationCapped } from '../../src/cli/runtime.js';
import { CLI } from '../helpers/cli.js';

test('the cap is found on the command line or in NODE_OPTIONS, in either spelling', () => {
  assert.ok(youngGenerationCapped(['--max-semi-space-size=1'], ''));
  assert.ok(youngGenerationCapped(['--max-semi-space-size', '1'], ''));
  assert.ok(youngGenerationCapped([], '--require x --max-semi-space-size=2'));
});

test('without it, or with a look-alike option, the cap is missing', () => {
  assert.not.ok(youngGenerationCapped([], ''));
  assert.not.ok(youngGenerationCapped(['--max-old-space-size=64'], '--max-semi-space-size-x=1'));
});

test("the bin's shebang gives node the option, and so do the tests that run the CLI", () => {
  const shebang = readFileSync('src/cli/main.ts', 'utf8').split('\n')[0] ?? '';
  assert.match(shebang, /^#!\/usr\/bin\/env -S MALLOC_ARENA_MAX=2 node /);
  assert.ok(youngGenerationCapped(shebang.split(' ').slice(4), ''), shebang);
  assert.ok(youngGenerationCapped(CLI, ''));
  assert.ok(shebang.includes(`${YOUNG_GENERATION_OPTION}=1`));
});

test.run();
