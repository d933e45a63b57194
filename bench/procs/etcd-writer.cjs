/**
 * A writer of registrations into etcd for the agent benchmarks, started once
 * inside the host's namespace so that a round's figure starts when the write
 * is sent, not when a client process starts (etcdctl's start alone is
 * 60–150 ms, longer than what is measured). It talks to etcd's own JSON
 * gateway (/v3/kv/txn, /v3/kv/deleterange: etcd's grpc-gateway, keys and
 * values base64), so it shares no code with vxnet's etcd client.
 *
 *   node bench/procs/etcd-writer.cjs http://ADDRESS:2379
 *
 * Commands on stdin, one per line; one JSON line back for each:
 *   load [[key, value], ...]   the registrations for `txn`
 *   txn                        writes them all in one transaction
 *   put [key, value]           writes one key
 *   del KEY                    deletes one key
 *   del-prefix PREFIX          deletes every key under PREFIX
 */
'use strict';
const { createInterface } = require('node:readline');

const endpoint = process.argv[2];
const b64 = (text) => Buffer.from(text).toString('base64');
/** The key just past every key under `prefix` (etcd's range_end for a prefix). */
function prefixEnd(prefix) {
  const end = Buffer.from(prefix);
  end[end.length - 1] += 1;
  return end.toString('base64');
}

let txnBody = '';
async function post(path, body) {
  const response = await fetch(`${endpoint}${path}`, { method: 'POST', body });
  const text = await response.text();
  if (!response.ok) throw new Error(`${path}: HTTP ${response.status}: ${text.slice(0, 200)}`);
  return JSON.parse(text);
}

const lines = createInterface({ input: process.stdin });
lines.on('line', async (line) => {
  const space = line.indexOf(' ');
  const command = space === -1 ? line : line.slice(0, space);
  const argument = space === -1 ? '' : line.slice(space + 1);
  try {
    if (command === 'load') {
      const entries = JSON.parse(argument);
      txnBody = JSON.stringify({
        success: entries.map(([key, value]) => ({ request_put: { key: b64(key), value: b64(value) } })),
      });
      process.stdout.write(`${JSON.stringify({ ok: true })}\n`);
    } else if (command === 'txn') {
      const reply = await post('/v3/kv/txn', txnBody);
      process.stdout.write(`${JSON.stringify({ ok: reply.succeeded === true, revision: reply.header?.revision })}\n`);
    } else if (command === 'put') {
      const [key, value] = JSON.parse(argument);
      const reply = await post('/v3/kv/put', JSON.stringify({ key: b64(key), value: b64(value) }));
      process.stdout.write(`${JSON.stringify({ ok: true, revision: reply.header?.revision })}\n`);
    } else if (command === 'del' || command === 'del-prefix') {
      const range = command === 'del' ? {} : { range_end: prefixEnd(argument) };
      const reply = await post('/v3/kv/deleterange', JSON.stringify({ key: b64(argument), ...range }));
      process.stdout.write(`${JSON.stringify({ ok: true, deleted: reply.deleted ?? '0' })}\n`);
    } else throw new Error(`unknown command ${command}`);
  } catch (error) {
    process.stdout.write(`${JSON.stringify({ ok: false, error: error.message })}\n`);
  }
});
