/**
 * The parts of FRR's configuration every mode writes alike: the header of
 * each daemon's file, and bgpd's iBGP session (AS, router ID, timers, one
 * peer group holding the listed neighbours and the listen range). Each mode
 * adds its own address family (routed: ipv4 unicast; EVPN: l2vpn evpn).
 */
import type { ResolvedBgpSession } from './spec.js';

/** The peer group every neighbour (listed or accepted through `listen`) belongs to. */
export const PEER_GROUP = 'vxnet';

export function configHeader(network: string): string[] {
  return [
    `! vxnet network ${network}: generated, rewritten on every apply`,
    `hostname vxnet-${network}`,
    'log stdout informational',
    '!',
  ];
}

/**
 * `router bgp` and the session settings, up to the address family. `global`
 * are the mode's own `bgp …` lines (after log-neighbor-changes). Short connect
 * retries (1 s): a host whose peer is not up yet gets its session as soon as
 * that peer is.
 */
export function bgpSession(session: ResolvedBgpSession, global: string[]): string[] {
  return [
    `router bgp ${session.asn}`,
    ` bgp router-id ${session.routerId}`,
    ' bgp log-neighbor-changes',
    // A new peer's first update after 50 ms, not bgpd's default of up to 1 s (it waits for more peers to batch):
    // a joining host is reachable that much sooner; a few hosts' tables are small to send one by one.
    ' coalesce-time 50',
    ...global,
    ` timers bgp ${session.keepalive} ${session.holdTime}`,
    ` neighbor ${PEER_GROUP} peer-group`,
    ` neighbor ${PEER_GROUP} remote-as internal`,
    ` neighbor ${PEER_GROUP} timers connect 1`,
    ...session.neighbors.map((n) => ` neighbor ${n} peer-group ${PEER_GROUP}`),
    ...(session.listen ? [` bgp listen range ${session.listen.text} peer-group ${PEER_GROUP}`] : []),
    ' !',
  ];
}

/** A plan's words for the session: "AS 65000, router-id …, neighbors …, listen …, hold 9 s". */
export function sessionDetail(session: ResolvedBgpSession): string {
  const neighbors = session.neighbors.length ? `, neighbors ${session.neighbors.join(' ')}` : '';
  const listen = session.listen ? `, listen ${session.listen.text}` : '';
  return `AS ${session.asn}, router-id ${session.routerId}${neighbors}${listen}, hold ${session.holdTime} s`;
}
