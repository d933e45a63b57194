/**
 * What vxnet's table should hold for a configuration: the chains, the peer
 * set and the rules, each rule named by its comment. `nft list ruleset`
 * shows them as, for 10.244.0.0/24 with a bridge and peers:
 *
 *   table ip vxnet {
 *     comment "vxnet:managed (changes here are overwritten by vxnet)"
 *     set vxlan-peers { type ipv4_addr; elements = { 192.0.2.2, 192.0.2.3 } }
 *     chain postrouting { type nat hook postrouting priority srcnat; policy accept;
 *       ip saddr 10.244.0.0/24 ip daddr != 10.244.0.0/24 counter masquerade comment "vxnet: masquerade 10.244.0.0/24" }
 *     chain input { type filter hook input priority filter; policy accept;
 *       ip saddr @vxlan-peers udp dport 4789 counter accept comment "vxnet: vxlan from peers"
 *       udp dport 4789 counter drop comment "vxnet: vxlan from others" }
 *     chain forward { type filter hook forward priority filter; policy accept;
 *       iifname "br0" counter accept comment "vxnet: forward from br0"
 *       oifname "br0" ct state established,related counter accept comment "vxnet: replies to br0" }
 *   }
 *
 * Over an IPv6 underlay (config.vxlan.family 6) the VXLAN packets are IPv6,
 * which a table of family ip never sees: the VXLAN part moves to a table of
 * family ip6 of the same name and mark, and the ip table keeps the rest
 * (the overlay is IPv4), byte for byte what it holds over an IPv4 underlay:
 *
 *   table ip6 vxnet {
 *     comment "vxnet:managed (changes here are overwritten by vxnet)"
 *     set vxlan-peers { type ipv6_addr; elements = { fd00::2, fd00::3 } }
 *     chain input { type filter hook input priority filter; policy accept;
 *       ip6 saddr @vxlan-peers udp dport 4789 counter accept comment "vxnet: vxlan from peers"
 *       udp dport 4789 counter drop comment "vxnet: vxlan from others" }
 *   }
 */
import type { Chain } from '../nftables/chain.js';
import { PRIORITY } from '../nftables/chain.js';
import { counter, masquerade, match, verdict } from '../nftables/match.js';
import type { Rule } from '../nftables/rule.js';
import { type NftSet, SET_KEY_TYPES } from '../nftables/set.js';
import type { Table } from '../nftables/table.js';
import { encodeUserdata } from '../nftables/userdata.js';
import type { NormalizedConfig } from './config.js';

/** The comment that marks a table as vxnet's. A table without it is never touched. */
export const OWNER_MARK = 'vxnet:managed (changes here are overwritten by vxnet)';
export const PEER_SET = 'vxlan-peers';

export interface DesiredChain {
  chain: Chain;
  rules: Rule[];
}

/** One table's wanted content. */
export interface DesiredTable {
  table: Table;
  chains: DesiredChain[];
  peers?: { set: NftSet; addresses: string[] };
}

/** The ip table, and over an IPv6 underlay the ip6 table with the VXLAN part. */
export interface Desired extends DesiredTable {
  ip6?: DesiredTable;
}

/**
 * nft's set userdata for an address key (ipv4_addr and ipv6_addr alike, as
 * `nft --debug=mnl add set ip6 t s '{ type ipv6_addr; }'` shows): item 0
 * (key byte order), 4 bytes in host order, value 2 (big-endian). nft reads
 * it back to print the elements as addresses.
 */
function addressKeyUserdata(): Uint8Array {
  const value = new Uint8Array(4);
  new DataView(value.buffer).setUint32(0, 2, new Uint8Array(new Uint16Array([1]).buffer)[0] === 1);
  return encodeUserdata([{ type: 0, value }]);
}

export function desiredState(table: string, config: NormalizedConfig): Desired {
  const family = 'ip' as const;
  const rule = (chain: string, comment: string, expressions: Rule['expressions']): Rule => ({
    family,
    table,
    chain,
    comment,
    expressions,
  });
  const base = (
    name: string,
    type: string,
    hook: Chain['hook'],
    priority: number,
    policy: 'accept' | 'drop',
  ): Chain => ({
    family,
    table,
    name,
    type,
    hook,
    priority,
    policy,
  });
  const subnet = config.subnet.text;
  const chains: DesiredChain[] = !config.nat
    ? []
    : [
        {
          chain: base('postrouting', 'nat', 'postrouting', PRIORITY.srcnat, 'accept'),
          rules: [
            rule(
              'postrouting',
              `vxnet: masquerade ${subnet}${config.exclude ? ` except to ${config.exclude.text}` : ''}`,
              [
                ...match.ipSaddr(config.subnet),
                ...match.ipDaddr(config.exclude ?? config.subnet, { negate: true }),
                ...(config.egress ? match.oifname(config.egress) : []),
                counter(),
                ...masquerade({ flags: config.flags }),
              ],
            ),
          ],
        },
      ];
  // The VXLAN part goes where the underlay's packets are seen: the ip table, or the ip6 one.
  const ip6 = config.vxlan?.family === 6 ? vxlanTable(table, config.vxlan) : undefined;
  let peers: Desired['peers'];
  if ((config.vxlan && !ip6) || config.inputPolicy === 'drop') {
    const rules: Rule[] = [];
    if (config.inputPolicy === 'drop') {
      rules.push(rule('input', 'vxnet: established', [...match.ctState(['established', 'related']), verdict.accept()]));
      rules.push(rule('input', 'vxnet: loopback', [...match.iifname('lo'), verdict.accept()]));
    }
    // normalizeConfig refuses a drop policy without vxlan.
    if (config.vxlan && !ip6) {
      const part = vxlanRules(table, family, config.vxlan);
      rules.push(...part.rules);
      peers = part.peers;
    }
    chains.push({ chain: base('input', 'filter', 'input', PRIORITY.filter, config.inputPolicy), rules });
  }
  if (config.bridge) {
    chains.push({
      chain: base('forward', 'filter', 'forward', PRIORITY.filter, 'accept'),
      rules: [
        rule('forward', `vxnet: forward from ${config.bridge}`, [
          ...match.iifname(config.bridge),
          counter(),
          verdict.accept(),
        ]),
        rule('forward', `vxnet: replies to ${config.bridge}`, [
          ...match.oifname(config.bridge),
          ...match.ctState(['established', 'related']),
          counter(),
          verdict.accept(),
        ]),
        ...(config.routedFrom
          ? [
              rule('forward', `vxnet: routed ${config.routedFrom.text} to ${config.bridge}`, [
                ...match.oifname(config.bridge),
                ...match.ipSaddr(config.routedFrom),
                counter(),
                verdict.accept(),
              ]),
            ]
          : []),
      ],
    });
  }
  return { table: { family, name: table, comment: OWNER_MARK }, chains, peers, ...(ip6 ? { ip6 } : {}) };
}

/** The VXLAN rules (and the peer set) of the underlay's family. */
function vxlanRules(
  table: string,
  family: 'ip' | 'ip6',
  vxlan: NonNullable<NormalizedConfig['vxlan']>,
): { rules: Rule[]; peers?: Desired['peers'] } {
  const rule = (comment: string, expressions: Rule['expressions']): Rule => ({
    family,
    table,
    chain: 'input',
    comment,
    expressions,
  });
  if (!vxlan.peers)
    return { rules: [rule('vxnet: vxlan', [...match.udpDport(vxlan.port), counter(), verdict.accept()])] };
  const set: NftSet =
    family === 'ip'
      ? { family, table, name: PEER_SET, keyType: SET_KEY_TYPES.ipv4_addr, keyLen: 4, userdata: addressKeyUserdata() }
      : { family, table, name: PEER_SET, keyType: SET_KEY_TYPES.ipv6_addr, keyLen: 16, userdata: addressKeyUserdata() };
  return {
    peers: { set, addresses: vxlan.peers },
    rules: [
      rule('vxnet: vxlan from peers', [
        ...(family === 'ip' ? match.ipSaddrInSet(PEER_SET) : match.ip6SaddrInSet(PEER_SET)),
        ...match.udpDport(vxlan.port),
        counter(),
        verdict.accept(),
      ]),
      rule('vxnet: vxlan from others', [...match.udpDport(vxlan.port), counter(), verdict.drop()]),
    ],
  };
}

/** The ip6 table of an IPv6 underlay: the VXLAN input chain (policy accept) and the peer set. */
function vxlanTable(table: string, vxlan: NonNullable<NormalizedConfig['vxlan']>): DesiredTable {
  const family = 'ip6' as const;
  const { rules, peers } = vxlanRules(table, family, vxlan);
  return {
    table: { family, name: table, comment: OWNER_MARK },
    chains: [
      {
        chain: {
          family,
          table,
          name: 'input',
          type: 'filter',
          hook: 'input',
          priority: PRIORITY.filter,
          policy: 'accept',
        },
        rules,
      },
    ],
    ...(peers ? { peers } : {}),
  };
}
