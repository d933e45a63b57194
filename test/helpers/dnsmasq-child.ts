/**
 * A node process that supervises one dnsmasq, for the parent-death tests:
 * run as `node --import tsx dnsmasq-child.ts '<json {spec, options}>' MODE`.
 * It prints "READY <dnsmasq pid>" once dnsmasq serves, then, by MODE:
 *   wait  - waits to be killed (the test SIGKILLs it);
 *   exit  - exits at once, without stopping the server;
 *   throw - dies of an uncaught exception.
 */
import { DnsmasqServer } from '../../src/dnsmasq/server.js';

const [json, mode = 'wait'] = process.argv.slice(2);
const { spec, options } = JSON.parse(json!);
const server = await DnsmasqServer.start(spec, options);
process.stdout.write(`READY ${server.status().pid}\n`);
if (mode === 'exit') process.exit(0);
if (mode === 'throw')
  setImmediate(() => {
    throw new Error('the supervising process crashed');
  });
// 'wait': the server's child process keeps this process alive until it is killed.
