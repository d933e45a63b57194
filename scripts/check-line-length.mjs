#!/usr/bin/env node
// Fails (exit 1) when a line of a tracked src/**/*.ts file is longer than MAX_LINE characters, listing each as
// FILE:LINE: length. Biome wraps code at 120 but leaves long strings, template literals and comments alone; this
// check holds them to the same width. Arguments are ignored (npm run lint passes its own through).
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const MAX_LINE = 120;

const root = fileURLToPath(new URL('..', import.meta.url));
const files = execFileSync('git', ['ls-files', '-z', '--', 'src/*.ts'], { cwd: root, encoding: 'utf8' })
  .split('\0')
  .filter((file) => file !== '');

const long = [];
for (const file of files) {
  const lines = readFileSync(`${root}/${file}`, 'utf8').split(/\r?\n/);
  lines.forEach((line, i) => {
    // Characters (code points), not UTF-16 units or bytes: "─" or "…" count as one.
    const length = [...line].length;
    if (length > MAX_LINE) long.push(`${file}:${i + 1}: ${length}`);
  });
}

if (long.length) {
  console.error(long.join('\n'));
  console.error(`${long.length} line(s) over ${MAX_LINE} characters in src/ (wrap strings, templates and comments)`);
  process.exit(1);
}
console.log(`line length: ${files.length} files under src/, no line over ${MAX_LINE} characters`);
