/**
 * What the masquerade building block is asked for, and its validation:
 * every mistake is a ValidationError naming the field, raised before
 * anything is sent to the kernel.
 */
import { VXLAN_PORT } from '../vxlan/spec.js';
import { ValidationError } from '../netlink/errors.js';
import { checkInt } from '../netlink/codec.js';
import type { MasqFlag } from '../nftables/expr/masq.js';
import { parsePrefix, type Prefix } from '../nftables/match.js';
import { checkInterfaceName, checkName } from '../nftables/names.js';
import { type AddressFamily, peerAddress } from './addresses.js';

/** IANA's VXLAN port. (Linux's own default, when no port is given to `ip link add ... type vxlan`, is 8472.) */
export const DEFAULT_TABLE = 'vxnet';

export interface MasqueradeConfig {
  /** The overlay's IPv4 subnet: its traffic to anywhere else leaves with the host's address. */
  subnet: string;
  /** Masquerade only what leaves through this interface (`oifname`). Default: any interface. */
  egress?: string;
  /**
   * The masquerade (NAT) rule itself. Default true; false keeps only the
   * firewall part (the VXLAN port, the bridge's forwarding), for hosts whose
   * containers need no way out.
   */
  nat?: boolean;
  /** Masquerade flags: random, fully-random (source port choice), persistent. */
  flags?: MasqFlag[];
  /**
   * Destinations left unmasqueraded (default `subnet`): in routed mode the
   * whole container range, so containers see each other's real addresses.
   */
  exclude?: string;
  /**
   * Routed mode: accept forwarding from this range (the other hosts'
   * container subnets) to the bridge, in vxnet's forward chain.
   */
  routedFrom?: string;
  /**
   * Accept VXLAN (UDP to `port`, default 4789) in vxnet's input chain; with
   * `peers`, only from them, and drop it from anyone else. `family` is the
   * underlay's (the VXLAN packets' own addresses), inferred from the peers
   * when they are given, else 4. Over an IPv6 underlay this part lives in a
   * table of family ip6 of the same name (a table of family ip never sees
   * IPv6 packets); the overlay's own IPv4 part stays in the ip table.
   */
  vxlan?: { port?: number; peers?: string[]; family?: AddressFamily };
  /** The overlay bridge: accept what it forwards out, and the replies to it (vxnet's forward chain). */
  bridge?: string;
  /**
   * vxnet's input chain policy. 'drop' makes vxnet's table the host's
   * input firewall: only established/related traffic, loopback and VXLAN
   * (from the peers, when listed) get in. Default 'accept'.
   */
  inputPolicy?: 'accept' | 'drop';
}

/** The validated form: parsed addresses, defaults filled in. */
export interface NormalizedConfig {
  subnet: Prefix;
  egress?: string;
  nat: boolean;
  flags: MasqFlag[];
  exclude?: Prefix;
  routedFrom?: Prefix;
  /** Peers in canonical text ("fd00::3"), sorted by address, deduplicated. */
  vxlan?: { port: number; peers?: string[]; family: AddressFamily };
  bridge?: string;
  inputPolicy: 'accept' | 'drop';
}

const FLAGS: MasqFlag[] = ['random', 'fully-random', 'persistent'];

export function normalizeConfig(config: MasqueradeConfig): NormalizedConfig {
  if (typeof config !== 'object' || config === null) throw new ValidationError('config', 'expected an object', config);
  const known = ['subnet', 'egress', 'nat', 'flags', 'exclude', 'routedFrom', 'vxlan', 'bridge', 'inputPolicy'];
  for (const key of Object.keys(config))
    if (!known.includes(key)) throw new ValidationError(key, `not a masquerade option (${known.join(', ')})`);
  const subnet = parsePrefix(config.subnet, 'subnet');
  if (subnet.family !== 'ipv4')
    throw new ValidationError(
      'subnet',
      'family mismatch: vxnet masquerades IPv4 overlays (its table is of the ip family)',
      config.subnet,
    );
  const out: NormalizedConfig = { subnet, nat: true, flags: [], inputPolicy: 'accept' };
  if (config.nat !== undefined) {
    if (typeof config.nat !== 'boolean') throw new ValidationError('nat', 'true or false', config.nat);
    out.nat = config.nat;
  }
  if (config.exclude !== undefined) {
    out.exclude = parsePrefix(config.exclude, 'exclude');
    if (out.exclude.family !== 'ipv4')
      throw new ValidationError('exclude', 'family mismatch: an IPv4 network', config.exclude);
  }
  if (config.routedFrom !== undefined) {
    out.routedFrom = parsePrefix(config.routedFrom, 'routedFrom');
    if (out.routedFrom.family !== 'ipv4')
      throw new ValidationError('routedFrom', 'family mismatch: an IPv4 network', config.routedFrom);
    if (config.bridge === undefined)
      throw new ValidationError('routedFrom', 'needs the bridge the routed traffic goes to');
  }
  if (config.egress !== undefined) out.egress = checkInterfaceName(config.egress, 'egress');
  if (config.bridge !== undefined) out.bridge = checkInterfaceName(config.bridge, 'bridge');
  if (config.flags !== undefined) {
    if (!Array.isArray(config.flags)) throw new ValidationError('flags', 'a list of masquerade flags', config.flags);
    const flags = config.flags;
    flags.forEach((flag, i) => {
      if (!FLAGS.includes(flag))
        throw new ValidationError(`flags[${i}]`, `not a masquerade flag (${FLAGS.join(', ')})`, flag);
    });
    out.flags = FLAGS.filter((flag) => flags.includes(flag));
  }
  if (config.vxlan !== undefined) {
    if (typeof config.vxlan !== 'object' || config.vxlan === null)
      throw new ValidationError('vxlan', 'expected { port?, peers?, family? }', config.vxlan);
    const port = checkInt(config.vxlan.port ?? VXLAN_PORT, 1, 0xffff, 'vxlan.port');
    const given = config.vxlan.family;
    if (given !== undefined && given !== 4 && given !== 6)
      throw new ValidationError('vxlan.family', "the underlay's address family: 4 or 6", given);
    out.vxlan = { port, family: given ?? 4 };
    if (config.vxlan.peers !== undefined) {
      const peers = config.vxlan.peers;
      if (!Array.isArray(peers) || peers.length === 0) {
        throw new ValidationError(
          'vxlan.peers',
          'a non-empty list of addresses (leave it out to accept VXLAN from anyone)',
          peers,
        );
      }
      // One family for all: the given one, else the first peer's.
      const family = given ?? peerAddress(peers[0], 'vxlan.peers[0]').family;
      const seen = new Map<string, Uint8Array>();
      peers.forEach((peer, i) => {
        const parsed = peerAddress(peer, `vxlan.peers[${i}]`, family);
        seen.set(parsed.text, parsed.bytes);
      });
      out.vxlan.family = family;
      out.vxlan.peers = [...seen.entries()].sort((a, b) => compareBytes(a[1], b[1])).map(([text]) => text);
    }
  }
  if (config.inputPolicy !== undefined) {
    if (config.inputPolicy !== 'accept' && config.inputPolicy !== 'drop')
      throw new ValidationError('inputPolicy', 'accept or drop', config.inputPolicy);
    out.inputPolicy = config.inputPolicy;
  }
  if (out.inputPolicy === 'drop' && !out.vxlan)
    throw new ValidationError(
      'inputPolicy',
      'drop needs vxlan: the input chain of drop is the one that accepts the VXLAN packets',
      'drop',
    );
  if (out.inputPolicy === 'drop' && out.vxlan?.family === 6) {
    throw new ValidationError(
      'inputPolicy',
      "drop is for IPv4 underlays: over an IPv6 underlay the VXLAN packets are IPv6, which vxnet's ip table does not " +
        "see, and an ip6 input policy of drop would also drop neighbour discovery; use accept (and the host's own " +
        'IPv6 firewall)',
      'drop',
    );
  }
  return out;
}

export function checkTableName(name: unknown): string {
  return checkName(name, 'table');
}

function compareBytes(a: Uint8Array, b: Uint8Array): number {
  return Buffer.compare(a, b);
}
