/**
 * The address parsers used by the encoder accept and refuse exactly what
 * ipaddr.js's strict checks accept and refuse, and produce the same bytes.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { isIPv4 } from 'node:net';
import ipaddr from 'ipaddr.js';
import { isIPv4Text, parseIP, parseIPv4, parseIPv6, parseMac } from '../../src/netlink/codec.js';
import { ValidationError } from '../../src/netlink/errors.js';
import { prng } from '../helpers/prng.js';

const TRICKY = [
  '0.0.0.0',
  '255.255.255.255',
  '1.2.3.4',
  '10.0.0.1',
  '192.168.001.1',
  '01.2.3.4',
  '1.2.3',
  '1.2.3.4.5',
  '256.1.1.1',
  '1.2.3.256',
  '1.2.3.-1',
  ' 1.2.3.4',
  '1.2.3.4 ',
  '1.2.3.4\n',
  '1..3.4',
  '.1.2.3',
  '1.2.3.',
  '0x1.2.3.4',
  '1e1.2.3.4',
  '١.٢.٣.٤',
  '',
  '1.2.3.04',
  '999.0.0.0',
  '4294967295',
  '1.2.3.4/32',
  '::',
  '::1',
  '2001:db8::1',
  '2001:DB8::1',
  '::ffff:10.0.0.1',
  '::ffff:010.0.0.1',
  'fe80::1%eth0',
  '1:2:3:4:5:6:7:8',
  '1:2:3:4:5:6:7:8:9',
  ':::',
  '2001:db8::g',
  'gggg::',
  '::1.2.3.4',
  '1::2::3',
  'abc',
  '1.2.3.4:80',
];

function reference4(v: string): number[] | undefined {
  return ipaddr.IPv4.isValidFourPartDecimal(v) ? ipaddr.IPv4.parse(v).toByteArray() : undefined;
}

function reference6(v: string): number[] | undefined {
  return !v.includes('%') && ipaddr.IPv6.isValid(v) ? ipaddr.IPv6.parse(v).toByteArray() : undefined;
}

function attempt(parse: (v: unknown, path: string) => number[], v: unknown): number[] | undefined {
  try {
    return parse(v, 'field');
  } catch (error) {
    assert.instance(error, ValidationError);
    assert.is((error as ValidationError).field, 'field');
    return undefined;
  }
}

test('IPv4, IPv6 and either: same verdicts and bytes as ipaddr.js', () => {
  const inputs = [...TRICKY];
  let seed = 1;
  const random = () => ((seed = (seed * 1103515245 + 12345) >>> 0) >>> 16) % 300;
  for (let i = 0; i < 2000; i++) inputs.push(`${random()}.${random()}.${random()}.${random()}`);
  for (const v of inputs) {
    assert.equal(attempt(parseIPv4, v), reference4(v), `IPv4 ${JSON.stringify(v)}`);
    assert.equal(attempt(parseIPv6, v), reference6(v), `IPv6 ${JSON.stringify(v)}`);
    assert.equal(attempt(parseIP, v), reference4(v) ?? reference6(v), `IP ${JSON.stringify(v)}`);
  }
  for (const v of [undefined, null, 16909060, ['1', '2', '3', '4'], {}]) {
    assert.is(attempt(parseIPv4, v), undefined);
    assert.is(attempt(parseIPv6, v), undefined);
    assert.is(attempt(parseIP, v), undefined);
  }
});

test('IPv4 text: the same verdict as node:net isIPv4 and ipaddr.js, on valid text and on its mutations', () => {
  const random = prng(4);
  const pick = (n: number) => Math.floor(random() * n);
  const alphabet = '0123456789..x -/:';
  const inputs = [...TRICKY];
  for (let i = 0; i < 5000; i++) {
    const chars = [...`${pick(300)}.${pick(300)}.${pick(300)}.${pick(300)}`];
    // Insert, delete or replace one or two characters.
    for (let edits = 1 + pick(2); edits > 0; edits--) {
      const at = pick(chars.length + 1);
      const op = pick(3);
      if (op === 0) chars.splice(at, 0, alphabet[pick(alphabet.length)]!);
      else if (op === 1) chars.splice(at, 1);
      else chars[at] = alphabet[pick(alphabet.length)]!;
    }
    inputs.push(chars.join(''));
  }
  let accepted = 0;
  for (const v of inputs) {
    const verdict = isIPv4Text(v);
    assert.is(verdict, isIPv4(v), `node:net ${JSON.stringify(v)}`);
    assert.is(verdict, ipaddr.IPv4.isValidFourPartDecimal(v), `ipaddr.js ${JSON.stringify(v)}`);
    if (verdict) accepted++;
  }
  // The mutations must leave both kinds of input in the mix.
  assert.ok(accepted > 500 && accepted < inputs.length - 500, `${accepted} of ${inputs.length} accepted`);
});

test('MAC text: same verdicts and bytes as a split and parseInt', () => {
  const reference = (v: string): number[] | undefined =>
    /^[0-9a-fA-F]{2}(:[0-9a-fA-F]{2})*$/.test(v) ? v.split(':').map((h) => parseInt(h, 16)) : undefined;
  const inputs = [
    '00:00:00:00:00:00',
    'ff:FF:fF:Ff:00:09',
    '02:00:00:aa:bb:cc',
    'aA',
    '0',
    '000',
    '00:',
    ':00',
    '00::00',
    '0g:00',
    'gg',
    '00-11-22-33-44-55',
    '',
    '١٢:00',
    ' 00:11',
    '00:11 ',
  ];
  for (let i = 0; i < 512; i++)
    inputs.push(
      Array.from({ length: 1 + (i % 20) }, (_, k) => ((i * 31 + k * 17) & 0xff).toString(16).padStart(2, '0')).join(
        ':',
      ),
    );
  for (const v of inputs) assert.equal(attempt(parseMac, v), reference(v), `MAC ${JSON.stringify(v)}`);
});

test.run();
