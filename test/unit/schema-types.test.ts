/**
 * The types of decoded objects and requests come from the schema
 * declarations: a misspelled or mistyped attribute is a compile error. The
 * `@ts-expect-error` lines below are the proof; the test at the end compiles
 * this file and fails on any diagnostic, an unused `@ts-expect-error`
 * (TS2578: the line compiled after all) among them. `npm run typecheck`
 * checks the same lines.
 */
import { join } from 'node:path';
import ts from 'typescript';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { be16, layout, type StructType, u32 } from '../../src/netlink/layout.js';
import { decodeMessage, encodeMessage, type MessageOf, type RawMessage } from '../../src/netlink/message.js';
import { attr, attrSet, type DecodedOf, type RequestOf } from '../../src/netlink/schema.js';
import type { FdbEntry, Link, VxlanOptions } from '../../src/rtnetlink/index.js';
import { RTM_NEWLINK, RTM_NEWNEIGH } from '../../src/rtnetlink/constants.js';
import type { BridgeInfoData } from '../../src/rtnetlink/schema/kinds/bridge.js';
import type { VxlanInfoData } from '../../src/rtnetlink/schema/kinds/vxlan.js';
import { type IfInfoMsg, type LinkRequest, linkSchema } from '../../src/rtnetlink/schema/link.js';
import { neighbourSchema } from '../../src/rtnetlink/schema/neighbour.js';

/** Never called: these lines only have to compile (or fail to, where marked). */
function typeChecks(m: RawMessage): void {
  // A set's decoded type: every attribute it declares, with the kind's type.
  const set = attrSet('demo', { mtu: attr.u32(4), name: attr.string(3), big: attr.u64(9), on: attr.flag(10) });
  const demo: DecodedOf<typeof set> = { mtu: 1500, name: 'vx0', big: 1n, on: true };
  // @ts-expect-error a misspelled attribute
  demo.mtuu = 1;
  // @ts-expect-error a mistyped attribute: mtu is a u32
  demo.mtu = '1500';
  // @ts-expect-error decoded u64s are bigints
  demo.big = 1;
  // A request may give a u64 as a safe integer.
  const request: RequestOf<typeof set> = { big: 1 };
  // @ts-expect-error a request checks its keys too
  request.nmae = 'x';

  // Link kinds: IFLA_INFO_DATA of vxlan.
  const vxlan: VxlanInfoData = { id: 42, port: 4789, port_range: { low: 1000, high: 2000 }, ttl_inherit: true };
  // @ts-expect-error the VNI is a number
  vxlan.id = '42';
  // @ts-expect-error no such IFLA_VXLAN_* attribute
  const vxlanTypo: VxlanInfoData = { vni: 42 };
  // @ts-expect-error a struct needs all its fields
  vxlan.port_range = { low: 1 };
  const options: VxlanOptions = { id: 42, link: 'eth0', group: '239.1.1.1' };
  // @ts-expect-error VxlanOptions come from the same declaration
  const optionsTypo: VxlanOptions = { id: 42, dstport: 4789 };
  const bridge: BridgeInfoData = { stp_state: 0, hello_timer: 100n };
  // @ts-expect-error bridge timers are u64: bigint when decoded
  bridge.hello_timer = 100;

  // Whole messages: the header's fields and the attributes, flat.
  const link: Link = decodeMessage(linkSchema, m);
  const ifindex: number = link.ifindex;
  const mtu: number | undefined = link.mtu;
  const kind: string | undefined = link.linkinfo?.info_kind;
  const names: string[] | undefined = link.prop_list?.alt_ifname;
  // @ts-expect-error no such IFLA_* attribute
  link.mtuu;
  // @ts-expect-error ifname is a string
  const ifnameNumber: number | undefined = link.ifname;
  const fdb: FdbEntry = decodeMessage(neighbourSchema, m);
  const lladdr: string | undefined = fdb.lladdr;
  // @ts-expect-error NDA_VNI is a number
  fdb.vni = 'x';

  // Requests are checked against the same declaration.
  encodeMessage(RTM_NEWLINK, 0, linkSchema, {
    ifname: 'vx0',
    linkinfo: { info_kind: 'vxlan', info_data: { id: 42, port: 4789 } },
  });
  // @ts-expect-error a misspelled attribute in a request
  encodeMessage(RTM_NEWLINK, 0, linkSchema, { ifnme: 'vx0' });
  // @ts-expect-error a mistyped attribute in a request
  encodeMessage(RTM_NEWLINK, 0, linkSchema, { ifname: 'vx0', mtu: '1500' });
  // @ts-expect-error a mistyped header field in a request
  encodeMessage(RTM_NEWNEIGH, 0, neighbourSchema, { family: 'bridge' });
  // @ts-expect-error a nested attribute is checked too
  const nested: LinkRequest = { linkinfo: { info_kind: 'vxlan', info_data: { id: 'x' } } };

  // Struct layouts: the fields they declare, pad left out.
  const header: IfInfoMsg = { family: 0, link_type: 1, ifindex: 2, flags: 0, change: 0 };
  // @ts-expect-error pad fields are not data
  header.pad = 0;
  const range = layout('range', [be16('low'), be16('high'), u32('flags')]);
  const value: StructType<typeof range> = { low: 1, high: 2, flags: 0 };
  // @ts-expect-error a struct's field has its declared name
  value.hi = 2;
  const message: MessageOf<typeof linkSchema> = { ...header, ifname: 'vx0' };

  void [demo, request, vxlan, vxlanTypo, options, optionsTypo, bridge, ifindex, mtu, kind, names];
  void [ifnameNumber, lladdr, nested, value, message];
}
void typeChecks;

test('misspelled and mistyped attributes are compile errors (this file compiles with exactly the expected errors)', () => {
  const file = join(import.meta.dirname, 'schema-types.test.ts');
  const root = join(import.meta.dirname, '..', '..');
  const config = ts.getParsedCommandLineOfConfigFile(
    join(root, 'tsconfig.json'),
    {},
    {
      ...ts.sys,
      onUnRecoverableConfigFileDiagnostic: (d) => {
        throw new Error(ts.flattenDiagnosticMessageText(d.messageText, '\n'));
      },
    },
  );
  assert.ok(config, 'tsconfig.json parses');
  const program = ts.createProgram([file], { ...config.options, noEmit: true });
  const source = program.getSourceFile(file);
  assert.ok(source, 'the file is part of the program');
  const problems = [...program.getSyntacticDiagnostics(source), ...program.getSemanticDiagnostics(source)].map((d) => {
    const at = d.start === undefined ? '' : `line ${source.getLineAndCharacterOfPosition(d.start).line + 1}: `;
    return `${at}TS${d.code} ${ts.flattenDiagnosticMessageText(d.messageText, ' ')}`;
  });
  assert.equal(problems, []);
  // The expectations are there, and many: a refactor cannot quietly drop them.
  const expected = source.text.match(/@ts-expect-error/g)?.length ?? 0;
  assert.ok(expected >= 18, `${expected} @ts-expect-error lines`);
});

test.run();
