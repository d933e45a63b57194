// vxnet from the ES module bundle (dist/rtnetlink/index.js). See vxnet-workloads.cjs.
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';

const dist = process.env.VXNET_DIST
  ? pathToFileURL(`${process.env.VXNET_DIST}/`).href
  : new URL('../../dist/', import.meta.url).href;
const lib = await import(`${dist}rtnetlink/index.js`);
const { main } = createRequire(import.meta.url)('./vxnet-workloads.cjs');
await main(lib, process.argv.slice(2));
