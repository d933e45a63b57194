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

export interface Desired {
  table: Table;
  chains: DesiredChain[];
  peers?: { set: NftSet; addresses: string[] };
}

/**
 * nft's set userdata for an IPv4 address key: item 0 (key byte order),
 * 4 bytes in host order, value 2 (big-endian). nft reads it back to print
 * the elements as addresses.
 */
function ipv4KeyUserdata(): Uint8Array {
  const value = new Uint8Array(4);
  new DataView(value.buffer).setUint32(0, 2, new Uint8Array(new Uint16Array([1]).buffer)[0] === 1);
  return encodeUserdata([{ type: 0, value }]);
}

export function desiredState(table: string, config: NormalizedConfig): Desired {
  const family = 'ip' as const;
  const rule = (chain: string, comment: string, expressions: Rule['expressions']): Rule => ({ family, table, chain, comment, expressions });
  const base = (name: string, type: string, hook: Chain['hook'], priority: number, policy: 'accept' | 'drop'): Chain => ({
    family, table, name, type, hook, priority, policy,
  });
  const subnet = config.subnet.text;
  const chains: DesiredChain[] = !config.nat ? [] : [{
    chain: base('postrouting', 'nat', 'postrouting', PRIORITY.srcnat, 'accept'),
    rules: [rule('postrouting', `vxnet: masquerade ${subnet}`, [
      ...match.ipSaddr(config.subnet),
      ...match.ipDaddr(config.subnet, { negate: true }),
      ...(config.egress ? match.oifname(config.egress) : []),
      counter(),
      ...masquerade({ flags: config.flags }),
    ])],
  }];
  let peers: Desired['peers'];
  if (config.vxlan || config.inputPolicy === 'drop') {
    const rules: Rule[] = [];
    if (config.inputPolicy === 'drop') {
      rules.push(rule('input', 'vxnet: established', [...match.ctState(['established', 'related']), verdict.accept()]));
      rules.push(rule('input', 'vxnet: loopback', [...match.iifname('lo'), verdict.accept()]));
    }
    if (config.vxlan?.peers) {
      peers = {
        set: { family, table, name: PEER_SET, keyType: SET_KEY_TYPES.ipv4_addr, keyLen: 4, userdata: ipv4KeyUserdata() },
        addresses: config.vxlan.peers,
      };
      rules.push(rule('input', 'vxnet: vxlan from peers', [...match.ipSaddrInSet(PEER_SET), ...match.udpDport(config.vxlan.port), counter(), verdict.accept()]));
      rules.push(rule('input', 'vxnet: vxlan from others', [...match.udpDport(config.vxlan.port), counter(), verdict.drop()]));
    } else if (config.vxlan) {
      rules.push(rule('input', 'vxnet: vxlan', [...match.udpDport(config.vxlan.port), counter(), verdict.accept()]));
    }
    chains.push({ chain: base('input', 'filter', 'input', PRIORITY.filter, config.inputPolicy), rules });
  }
  if (config.bridge) {
    chains.push({
      chain: base('forward', 'filter', 'forward', PRIORITY.filter, 'accept'),
      rules: [
        rule('forward', `vxnet: forward from ${config.bridge}`, [...match.iifname(config.bridge), counter(), verdict.accept()]),
        rule('forward', `vxnet: replies to ${config.bridge}`, [...match.oifname(config.bridge), ...match.ctState(['established', 'related']), counter(), verdict.accept()]),
      ],
    });
  }
  return { table: { family, name: table, comment: OWNER_MARK }, chains, peers };
}
