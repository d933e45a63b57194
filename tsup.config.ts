import { defineConfig } from 'tsup';

export default defineConfig({
  entry: {
    index: 'src/index.ts',
    'netlink/index': 'src/netlink/index.ts',
    'rtnetlink/index': 'src/rtnetlink/index.ts',
  },
  format: ['esm', 'cjs'],
  dts: true,
  // import.meta.url in the CJS build (the relay locates node-netlink from it).
  shims: true,
  splitting: true,
  sourcemap: true,
  clean: true,
  target: 'node20',
  platform: 'node',
});
