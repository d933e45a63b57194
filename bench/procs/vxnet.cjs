// vxnet from the CommonJS bundle (dist/rtnetlink/index.cjs). See vxnet-workloads.cjs.
'use strict';
const dist = process.env.VXNET_DIST ?? require('node:path').join(__dirname, '../../dist');
const lib = require(`${dist}/rtnetlink/index.cjs`);
require('./vxnet-workloads.cjs')
  .main(lib, process.argv.slice(2))
  .catch((error) => {
    console.error(error);
    process.exit(1);
  });
