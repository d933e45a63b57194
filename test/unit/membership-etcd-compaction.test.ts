/**
 * A watch cancelled for compaction: EtcdMembership lists again and watches
 * from the new list's revision + 1 (never resumes at the compaction revision,
 * which would lose what was compacted away). A real etcd cannot be made to
 * cancel a fresh watch for compaction on cue, so this runs against a small
 * in-process gRPC server speaking the same messages (etcd's field numbers,
 * through the codec the client uses) on 127.0.0.1; the integration tests run
 * everything else against real etcd.
 */
import { type sendUnaryData, Server, ServerCredentials, type ServerDuplexStream } from '@grpc/grpc-js';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { EtcdMembership } from '../../src/membership/etcd/membership.js';
import { codec, type EtcdMessageName } from '../../src/membership/etcd/proto.js';
import { resolveSpec } from '../../src/overlay/spec.js';

type Message = Record<string, any>;

function method(name: string, request: EtcdMessageName, response: EtcdMessageName, streaming = false) {
  const req = codec<Message>(request);
  const res = codec<Message>(response);
  return {
    path: `/etcdserverpb.${name}`,
    requestStream: streaming,
    responseStream: streaming,
    requestSerialize: req.serialize,
    requestDeserialize: req.deserialize,
    responseSerialize: res.serialize,
    responseDeserialize: res.deserialize,
  };
}

const registration = (address: string, i: number) => ({
  key: Buffer.from(`/vxnet/seed/hosts/${address}`),
  value: Buffer.from(
    JSON.stringify({ address, port: 4789, vni: 42, mac: `02:00:00:00:00:0${i}`, hostname: 'h', version: '0' }),
  ),
  create_revision: '2',
  mod_revision: '2',
  version: '1',
  lease: '0',
});

test('a compacted watch: list again, then watch from the new revision + 1', async () => {
  const lists: string[] = [];
  const watchStarts: string[] = [];
  const server = new Server();
  server.addService(
    {
      Txn: method('KV/Txn', 'TxnRequest', 'TxnResponse'),
      Range: method('KV/Range', 'RangeRequest', 'RangeResponse'),
    },
    {
      // The shared-parameter record: created (the first host of the network).
      Txn: (_call: unknown, callback: sendUnaryData<Message>) =>
        callback(null, { header: { revision: '1' }, succeeded: true, responses: [] }),
      Range: (call: { request: Message }, callback: sendUnaryData<Message>) => {
        const key = Buffer.from(call.request.key).toString();
        if (!key.endsWith('/hosts/')) return callback(null, { header: { revision: '5' }, kvs: [] });
        lists.push(key);
        // First list at revision 5: host .2. After the compaction, at revision 12: .2 and .3.
        const first = lists.length === 1;
        callback(null, {
          header: { revision: first ? '5' : '12' },
          kvs: first
            ? [registration('192.168.100.2', 2)]
            : [registration('192.168.100.2', 2), registration('192.168.100.3', 3)],
        });
      },
    },
  );
  server.addService(
    { Watch: method('Watch/Watch', 'WatchRequest', 'WatchResponse', true) },
    {
      Watch: (stream: ServerDuplexStream<Message, Message>) => {
        stream.on('data', (request: Message) => {
          const create = request.create_request;
          if (!create) return;
          watchStarts.push(create.start_revision);
          stream.write({ header: { revision: '5' }, watch_id: '0', created: true });
          if (watchStarts.length === 1)
            stream.write({ header: { revision: '11' }, watch_id: '0', canceled: true, compact_revision: '10' });
        });
        stream.on('error', () => undefined);
      },
    },
  );
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (error, bound) =>
      error ? reject(error) : resolve(bound),
    ),
  );
  const spec = resolveSpec({
    name: 'seed',
    vni: 42,
    underlay: { device: 'eth0', address: '192.168.100.1' },
    membership: { etcd: { endpoints: [`http://127.0.0.1:${port}`], ttl: 30 } },
    subnet: '10.10.0.0/24',
  });
  const membership = new EtcdMembership(spec, { requireMembership: true });
  const notices: string[] = [];
  membership.onNotice((message) => notices.push(message));
  try {
    await membership.start();
    const deadline = Date.now() + 5000;
    // The view comes from the second list; the watch after it is created just after: wait for both.
    while ((membership.view().peers.length < 2 || watchStarts.length < 2) && Date.now() < deadline)
      await new Promise((resolve) => setTimeout(resolve, 20));
    assert.equal(membership.view().peers, ['192.168.100.2', '192.168.100.3'], 'the second list is the view');
    assert.is(membership.view().health.state, 'fresh');
    assert.is(lists.length, 2, 'listed again after the compaction');
    assert.equal(watchStarts, ['6', '13'], 'each watch from its list revision + 1');
    assert.ok(
      notices.some((n) => n.includes('compacted (now 10): listing again')),
      notices.join('\n'),
    );
  } finally {
    await membership.close();
    server.forceShutdown();
  }
});

test.run();
