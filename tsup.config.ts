import { defineConfig } from 'tsup';

/** One entry per layer (each a subpath export in package.json), plus the CLI. */
const layers = [
  'netlink',
  'rtnetlink',
  'nftables',
  'vxlan',
  'bridge',
  'masquerade',
  'dnsmasq',
  'overlay',
  'routed',
  'attach',
];

export default defineConfig([
  {
    entry: {
      index: 'src/index.ts',
      ...Object.fromEntries(layers.map((layer) => [`${layer}/index`, `src/${layer}/index.ts`])),
    },
    format: ['esm', 'cjs'],
    dts: true,
    // import.meta.url in the CJS build (the relay locates node-netlink from it).
    shims: true,
    splitting: true,
    sourcemap: true,
    clean: false, // the build script empties dist/ first: two configs build side by side
    target: 'node20',
    platform: 'node',
  },
  {
    // The command line: ESM only, with its shebang (package.json "bin").
    entry: { cli: 'src/cli/main.ts' },
    format: ['esm'],
    sourcemap: true,
    target: 'node20',
    platform: 'node',
  },
  {
    // The CNI plugin (package.json "bin" vxnet-cni): a runtime execs it once per container,
    // so it is one lean file that loads only the plugin's own modules.
    entry: { 'cni-plugin': 'src/cni/main.ts' },
    // CommonJS with ipaddr.js and struct-fu inside: measured, the ESM loader and its scan of
    // CommonJS dependencies cost more than the plugin's own work (bench/suites/cni.ts).
    format: ['cjs'],
    noExternal: ['ipaddr.js', 'struct-fu'],
    shims: true,
    splitting: false,
    sourcemap: true,
    target: 'node20',
    platform: 'node',
  },
  {
    // The plugin's executable: runs cni-plugin.cjs from V8's code cache (src/cni/bin.ts), which
    // scripts/cni-code-cache.mjs writes after this build (package.json "build").
    entry: { cni: 'src/cni/bin.ts' },
    format: ['cjs'],
    splitting: false,
    target: 'node20',
    platform: 'node',
  },
]);
