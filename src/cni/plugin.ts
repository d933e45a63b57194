/**
 * vxnet-cni: a CNI 1.1 plugin that attaches a container to a vxnet overlay
 * network on this host, over the attach building block (src/attach/).
 *
 *   ADD     IPAM ADD (delegated), then attach: a veth from the overlay's bridge into CNI_NETNS,
 *           named CNI_IFNAME, the overlay's MTU, the IPAM address and a default route via the gateway
 *   DEL     detach (by namespace, or by the container id in the host end's mark when the namespace
 *           is gone) and IPAM DEL, side by side; never an error for something already gone
 *   CHECK   IPAM CHECK, then the attachment compared with prevResult
 *   STATUS  whether the overlay is up on this host (and the IPAM plugin's STATUS when it speaks 1.1.0)
 *   GC      removes attachments whose (container id, ifname) is not in cni.dev/valid-attachments,
 *           releases their IPAM reservations, and forwards GC to an IPAM plugin that speaks 1.1.0
 *   VERSION the versions spoken
 *
 * Everything is checked before the first write; a failed ADD undoes what it
 * did (IPAM DEL, the pair removed). ADD, DEL and GC hold the network's lock,
 * the same one OverlayHost takes for apply, destroy and attach.
 */
import { ConflictError } from '../common/conflict.js';
import { linkName } from '../common/link.js';
import { ownerAlias } from '../common/ownership.js';
import { NetlinkError, ValidationError } from '../netlink/errors.js';
import { namespaceIdentity } from '../netlink/namespace.js';
import { Connection } from '../netlink/connection.js';
import { NetworkLock, NetworkLockedError } from '../overlay/lock.js';
import { DEFAULT_STATE_ROOT, NetworkState } from '../network/state.js';
import { Rtnetlink } from '../rtnetlink/client.js';
import { IFF_UP } from '../rtnetlink/constants.js';
import type { Link } from '../rtnetlink/links.js';
import {
  type AttachIo,
  type AttachOptions,
  checkAttachment,
  createPair,
  detach,
  detachAttachment,
  planAttach,
} from '../attach/attach.js';
import { AddressOutsideSubnetError, IfnameTakenError, NetnsNotFoundError } from '../attach/errors.js';
import { listAttachments } from '../attach/list.js';
import { type ContainerNamespace, containerNamespace } from '../attach/netns.js';
import type { EarlyRelay } from './early.js';
import { type CniEnv, type Command, type NetConfig, peekVersion, readCommand, readConfig, readEnv } from './config.js';
import { CNI_ERRORS, CniError, VXNET_CNI_ERRORS } from './errors.js';
import { execIpam, type IpamResult, ipamSpeaks } from './ipam.js';
import { buildResult, type CniIp, type CniResult } from './result.js';
import { CNI_SPEC_VERSION, compareVersions, SUPPORTED_VERSIONS } from './version.js';

export interface PluginOutput {
  /** What goes to stdout (a result, an error, or nothing). */
  stdout: string;
  exitCode: number;
}

export interface PluginOptions {
  /** Where unstructured notes go (stderr). */
  log?: (line: string) => void;
  /** The state root of the network's lock note. Default /run/vxnet. */
  stateRoot?: string;
  /** A relay into CNI_NETNS started before the plugin loaded (main.ts): ADD uses it, anything else closes it. */
  relay?: EarlyRelay;
}

/** Runs one CNI command: `env` as the runtime set it, `stdin` the config bytes. */
export async function runPlugin(
  env: NodeJS.ProcessEnv,
  stdin: Buffer,
  options: PluginOptions = {},
): Promise<PluginOutput> {
  let version = peekVersion(stdin) ?? CNI_SPEC_VERSION;
  if (!(SUPPORTED_VERSIONS as readonly string[]).includes(version)) version = CNI_SPEC_VERSION;
  try {
    const command = readCommand(env);
    if (command === 'VERSION') {
      return {
        stdout: JSON.stringify({
          cniVersion: peekVersion(stdin) ?? CNI_SPEC_VERSION,
          supportedVersions: SUPPORTED_VERSIONS,
        }),
        exitCode: 0,
      };
    }
    const cni = readEnv(env, command);
    const config = readConfig(stdin, command);
    const result = await new Plugin(env, cni, config, options).run(command);
    return { stdout: result ? JSON.stringify(result) : '', exitCode: 0 };
  } catch (error) {
    const cniError = toCniError(error);
    return { stdout: JSON.stringify(cniError.toJSON(version)), exitCode: 1 };
  } finally {
    // Closed once it is up, whether ADD used it or not (another command, or an ADD refused before it).
    void options.relay?.transport.then(
      (transport) => transport.close(),
      () => undefined,
    );
  }
}

/** A library error as the CNI error a runtime can act on. */
export function toCniError(error: unknown): CniError {
  if (error instanceof CniError) return error;
  const message = (error as Error)?.message ?? String(error);
  if (error instanceof NetnsNotFoundError)
    return new CniError(CNI_ERRORS.UNKNOWN_CONTAINER, "the container's network namespace does not exist", message);
  if (error instanceof IfnameTakenError)
    return new CniError(
      VXNET_CNI_ERRORS.IFNAME_TAKEN,
      `interface ${error.ifname} already exists in the container`,
      message,
    );
  if (error instanceof ConflictError)
    return new CniError(
      VXNET_CNI_ERRORS.ATTACHED_ELSEWHERE,
      'the interface is attached to another vxnet network',
      message,
    );
  if (error instanceof NetworkLockedError)
    return new CniError(CNI_ERRORS.TRY_AGAIN_LATER, 'the network is busy', message);
  if (error instanceof AddressOutsideSubnetError || error instanceof ValidationError)
    return new CniError(VXNET_CNI_ERRORS.ADDRESS_REFUSED, 'the address cannot be used on this network', message);
  if (error instanceof NetlinkError || (error as Error)?.cause instanceof NetlinkError)
    return new CniError(VXNET_CNI_ERRORS.KERNEL, 'the kernel refused a change', message);
  return new CniError(VXNET_CNI_ERRORS.INTERNAL, 'vxnet-cni failed', message);
}

const DEFAULT_ROUTE = { 4: '0.0.0.0/0', 6: '::/0' } as const;

class Plugin {
  constructor(
    private readonly processEnv: NodeJS.ProcessEnv,
    private readonly env: CniEnv,
    private readonly config: NetConfig,
    private readonly options: PluginOptions,
  ) {}

  private log(line: string): void {
    this.options.log?.(`vxnet-cni: ${line}`);
  }

  /** With VXNET_CNI_TRACE=1, each step's time since the process started, on stderr. */
  private trace(step: string): void {
    if (this.processEnv.VXNET_CNI_TRACE === '1') this.log(`${performance.now().toFixed(1)} ms ${step}`);
  }

  async run(command: Exclude<Command, 'VERSION'>): Promise<CniResult | undefined> {
    switch (command) {
      case 'ADD':
        return this.add();
      case 'DEL':
        return void (await this.del());
      case 'CHECK':
        return void (await this.check());
      case 'STATUS':
        return void (await this.status());
      case 'GC':
        return void (await this.gc());
    }
  }

  /**
   * Runs the IPAM plugin with the config as received. An IPAM plugin older
   * than the config (Debian's host-local 1.1.1 speaks up to 1.0.0; runtimes
   * send GC and STATUS as 1.1.0) answers code 1: it is asked again with the
   * config's cniVersion lowered to the highest version it speaks — the
   * address parts of a result are the same from 0.3.0 on.
   */
  private async ipam(command: string, env: NodeJS.ProcessEnv = this.processEnv): Promise<IpamResult | undefined> {
    const type = this.ipamType();
    try {
      return await execIpam(type, command, env, this.env.path, this.config.raw);
    } catch (error) {
      if (!(error instanceof CniError) || error.code !== CNI_ERRORS.INCOMPATIBLE_VERSION) throw error;
      const reply = (await execIpam(
        type,
        'VERSION',
        env,
        this.env.path,
        Buffer.from(JSON.stringify({ cniVersion: this.config.cniVersion })),
      )) as { supportedVersions?: unknown } | undefined;
      const spoken = Array.isArray(reply?.supportedVersions) ? (reply.supportedVersions as string[]) : [];
      const best = spoken
        .filter((v) => compareVersions(v, this.config.cniVersion) < 0 && compareVersions(v, '0.3.0') >= 0)
        .sort(compareVersions)
        .at(-1);
      if (!best) throw error;
      this.log(`IPAM plugin ${type} speaks up to ${best}: asked again with cniVersion ${best}`);
      const lowered: Record<string, unknown> = {
        ...(JSON.parse(this.config.raw.toString('utf8')) as Record<string, unknown>),
        cniVersion: best,
      };
      delete lowered['cni.dev/valid-attachments'];
      // A plugin parses prevResult in the config's version too (static's CHECK refuses a 1.1.0 one under 1.0.0).
      if (lowered.prevResult && typeof lowered.prevResult === 'object')
        lowered.prevResult = { ...(lowered.prevResult as object), cniVersion: best };
      return execIpam(type, command, env, this.env.path, Buffer.from(JSON.stringify(lowered)));
    }
  }

  /** The IPAM plugin's type: asked for only under `if (this.config.ipam)`. */
  private ipamType(): string {
    const ipam = this.config.ipam;
    if (!ipam)
      throw new CniError(CNI_ERRORS.INVALID_CONFIG, 'invalid network config', 'ipam: no IPAM plugin configured');
    return ipam.type;
  }

  /** A CNI_* variable this command needs: readEnv has refused the call without it, so this throws only if misused. */
  private need(field: 'containerId' | 'netns' | 'ifname'): string {
    const value = this.env[field];
    if (value !== undefined) return value;
    const variable = { containerId: 'CNI_CONTAINERID', netns: 'CNI_NETNS', ifname: 'CNI_IFNAME' }[field];
    throw new CniError(
      CNI_ERRORS.INVALID_ENVIRONMENT,
      `invalid environment variable ${variable}`,
      `${this.env.command} needs ${variable} (not set or empty)`,
    );
  }

  private needsPath(): void {
    if (this.config.ipam && this.env.path.length === 0) {
      throw new CniError(
        CNI_ERRORS.INVALID_ENVIRONMENT,
        'invalid environment variable CNI_PATH',
        `CNI_PATH is not set: the IPAM plugin ${this.config.ipam.type} is looked up there`,
      );
    }
  }

  private namespace(): ContainerNamespace {
    return containerNamespace(this.need('netns'), 'CNI_NETNS');
  }

  /**
   * A client inside the container's namespace: over the relay main.ts started
   * before the plugin loaded (same namespace file), or a relay started now.
   */
  private openInside(ns: ContainerNamespace): Promise<Rtnetlink> {
    const early = this.options.relay;
    if (early?.namespace === ns.path) {
      // Closed with the client ADD closes, and again (idempotent) by runPlugin.
      return early.transport.then((transport) => {
        this.trace('ADD: relay ready');
        return Rtnetlink.over(Connection.over(transport), ns.path);
      });
    }
    return Rtnetlink.open({ namespace: ns.path });
  }

  /** Runs `work` under the network's lock in this namespace. */
  private async locked<T>(work: () => Promise<T>): Promise<T> {
    const state = new NetworkState(
      this.options.stateRoot ?? DEFAULT_STATE_ROOT,
      namespaceIdentity(),
      this.config.network,
    );
    const lock = await NetworkLock.acquire(this.config.network, undefined, state.lockNote, { timeoutMs: 30_000 });
    try {
      return await work();
    } finally {
      lock.release();
      state.removeIfEmpty();
    }
  }

  private async add(): Promise<CniResult> {
    this.needsPath();
    const ns = this.namespace();
    this.trace('ADD: checked');
    await using rt = await Rtnetlink.open();
    return await this.locked(async () => {
      this.trace('ADD: locked');
      const bridge = await networkBridge(rt, this.config.network);
      if (!bridge) throw notApplied(this.config.network);
      const inside = this.openInside(ns);
      inside.catch(() => undefined);
      const io: AttachIo = { openNamespace: async () => keepOpen(await inside) };
      const base: AttachOptions = {
        network: this.config.network,
        bridge: linkName(bridge),
        netns: ns.path,
        ifname: this.need('ifname'),
        containerId: this.need('containerId'),
        ...(this.config.mtu !== undefined ? { mtu: this.config.mtu } : {}),
      };
      let created = false;
      let ipamCalled = false;
      try {
        const alreadyAttached = (through: string): CniError =>
          new CniError(
            VXNET_CNI_ERRORS.IFNAME_TAKEN,
            `interface ${this.env.ifname} already exists in the container`,
            `${this.env.ifname} in ${ns.label} is attached to ${this.config.network} already (through ${through}): ` +
              'DEL it first',
          );
        if (this.config.ipam?.type === 'dhcp') {
          // The dhcp IPAM plugin's daemon asks from inside the container: the interface must exist, up, first.
          const probe = await planAttach(rt, base, io);
          this.trace('ADD: probed (container namespace read)');
          if (probe.exists) {
            probe.close();
            throw alreadyAttached(probe.result.host.ifname);
          }
          await probe.apply();
          created = true;
        } else {
          // The pair first, from the host's side, while the relay starts: a name taken in the container is
          // the kernel's EEXIST (nothing made); then IPAM, still without waiting for the relay.
          const pair = await createPair(rt, base);
          this.trace(`ADD: pair ${pair}`);
          if (pair === 'created') created = true;
          else {
            // Said by what, as planAttach finds it inside the container.
            await using probe = await planAttach(rt, base, io);
            if (probe.exists) throw alreadyAttached(probe.result.host.ifname);
            throw new CniError(
              VXNET_CNI_ERRORS.IFNAME_TAKEN,
              `interface ${this.env.ifname} already exists in the container`,
              `the kernel refused ${this.env.ifname} in ${ns.label}: the name is taken there (EEXIST)`,
            );
          }
        }
        let ip: { address: string; gateway?: string } | undefined;
        let dns: Record<string, unknown> | undefined;
        if (this.config.ipam) {
          ipamCalled = true;
          this.trace('ADD: IPAM started');
          const result = await this.ipam('ADD');
          this.trace('ADD: IPAM done');
          ip = this.chooseIp(result);
          dns = result?.dns;
        }
        const options: AttachOptions = {
          ...base,
          ...(ip ? await addressOptions(rt, bridge, ip) : this.config.address ? { address: 'dhcp' } : {}),
        };
        const plan = await planAttach(rt, options, io);
        if (!plan.exists) created = true;
        this.trace('ADD: planned');
        const attached = await plan.apply((change) => this.trace(`ADD: ${change.action} ${change.target}`));
        this.trace('ADD: applied');
        for (const note of attached.notes) this.log(note);
        const family = attached.address?.includes(':') ? 6 : 4;
        return buildResult(
          this.config.cniVersion,
          {
            host: { name: attached.host.ifname, mac: attached.host.mac },
            container: {
              name: attached.ifname,
              mac: attached.container.mac,
              mtu: attached.container.mtu,
              sandbox: this.need('netns'),
            },
            ...(ip && attached.address
              ? {
                  ip: {
                    address: attached.address,
                    ...((attached.gateway ?? ip.gateway) ? { gateway: attached.gateway ?? ip.gateway } : {}),
                  },
                }
              : {}),
            ...(attached.gateway ? { defaultRoute: { dst: DEFAULT_ROUTE[family], gw: attached.gateway } } : {}),
            ...(dns ? { dns } : {}),
          },
          this.config.prevResult,
        );
      } catch (error) {
        await this.undoAdd(rt, ns, created, ipamCalled);
        throw error;
      } finally {
        (await inside.catch(() => undefined))?.close();
      }
    });
  }

  /** A failed ADD leaves nothing: the pair it made removed, the IPAM plugin told (spec Section 4). */
  private async undoAdd(rt: Rtnetlink, ns: ContainerNamespace, created: boolean, ipamCalled: boolean): Promise<void> {
    if (created) {
      try {
        await detach(rt, { network: this.config.network, netns: ns.path, ifname: this.need('ifname') });
      } catch (error) {
        this.log(`undoing a failed ADD: ${(error as Error).message}`);
      }
    }
    if (ipamCalled) {
      try {
        await this.ipam('DEL');
      } catch (error) {
        this.log(`undoing a failed ADD: IPAM DEL: ${(error as Error).message}`);
      }
    }
  }

  private chooseIp(result: IpamResult | undefined): { address: string; gateway?: string } {
    const ips = result?.ips ?? [];
    const type = this.ipamType();
    const [ip] = ips;
    if (!ip)
      throw new CniError(
        VXNET_CNI_ERRORS.IPAM_RESULT,
        `IPAM plugin ${type} returned no address`,
        JSON.stringify(result ?? null),
      );
    if (ips.length > 1) {
      throw new CniError(
        VXNET_CNI_ERRORS.IPAM_RESULT,
        `IPAM plugin ${type} returned ${ips.length} addresses`,
        `vxnet attaches one address per interface (${ips.map((i) => i.address).join(', ')}): configure one range`,
      );
    }
    for (const route of result?.routes ?? []) {
      if (route.dst !== '0.0.0.0/0' && route.dst !== '::/0') {
        throw new CniError(
          CNI_ERRORS.UNSUPPORTED_FIELD,
          `unsupported field ipam.routes dst=${route.dst}`,
          "vxnet sets the default route via the overlay's gateway only; other routes are not supported",
        );
      }
    }
    return { address: ip.address, ...(ip.gateway ? { gateway: ip.gateway } : {}) };
  }

  /**
   * The pair removed and the reservation released at the same time: the two
   * are independent (the reference bridge plugin releases first, then
   * removes), and the kernel's removal of a veth and IPAM's exec each take a
   * few ms. Both are waited for; the first failure is DEL's.
   */
  private async del(): Promise<void> {
    if (this.config.ipam) this.needsPath();
    const released = this.config.ipam ? this.ipam('DEL').then(() => this.trace('DEL: IPAM done')) : Promise.resolve();
    const [detached, ipam] = await Promise.allSettled([this.detachForDel(), released]);
    if (detached.status === 'rejected') throw detached.reason;
    if (ipam.status === 'rejected') throw ipam.reason;
  }

  private async detachForDel(): Promise<void> {
    await using rt = await Rtnetlink.open();
    await this.locked(async () => {
      this.trace('DEL: locked');
      let ns: ContainerNamespace | undefined;
      if (this.env.netns) {
        try {
          ns = this.namespace();
        } catch (error) {
          if (!(error instanceof NetnsNotFoundError)) throw error;
        }
      }
      if (ns) {
        try {
          const result = await detach(rt, {
            network: this.config.network,
            netns: ns.path,
            ifname: this.need('ifname'),
          });
          if (!result.detached) this.log(result.reason ?? 'nothing attached');
        } catch (error) {
          if (!(error instanceof ConflictError)) throw error;
          this.log(`left alone: ${error.message}`);
        }
      } else {
        // The namespace is gone (its veths with it), or was not given: find what is left by the mark's container id.
        for (const attachment of await listAttachments(rt, { network: this.config.network })) {
          if (attachment.containerId === this.env.containerId && attachment.ifname === this.env.ifname)
            await detachAttachment(rt, attachment);
        }
      }
      this.trace('DEL: detached');
    });
  }

  private async check(): Promise<void> {
    this.needsPath();
    const prev = this.config.prevResult;
    if (!prev)
      throw new CniError(
        CNI_ERRORS.INVALID_CONFIG,
        'invalid network config',
        'prevResult: CHECK needs the result of the ADD (the runtime passes it)',
      );
    const ns = this.namespace();
    if (this.config.ipam) await this.ipam('CHECK');
    const interfaces = Array.isArray(prev.interfaces) ? (prev.interfaces as { name?: string; sandbox?: string }[]) : [];
    const index = interfaces.findIndex((i) => i.name === this.env.ifname && i.sandbox === this.env.netns);
    if (index < 0)
      throw new CniError(
        VXNET_CNI_ERRORS.CHECK_FAILED,
        'prevResult has no such interface',
        `no interface ${this.env.ifname} with sandbox ${this.env.netns} in prevResult`,
      );
    const ip = (Array.isArray(prev.ips) ? (prev.ips as CniIp[]) : []).find((i) => i.interface === index);
    await using rt = await Rtnetlink.open();
    const bridge = await networkBridge(rt, this.config.network);
    if (!bridge) throw notApplied(this.config.network);
    const options: AttachOptions = {
      network: this.config.network,
      bridge: linkName(bridge),
      netns: ns.path,
      ifname: this.need('ifname'),
      containerId: this.need('containerId'),
      ...(this.config.mtu !== undefined ? { mtu: this.config.mtu } : {}),
      ...(ip ? await addressOptions(rt, bridge, ip) : this.config.address ? { address: 'dhcp' } : {}),
    };
    const check = await checkAttachment(rt, options);
    if (!check.attached || check.problems.length)
      throw new CniError(
        VXNET_CNI_ERRORS.CHECK_FAILED,
        `${this.env.ifname} in the container is not as ADD left it`,
        check.problems.join('; '),
      );
  }

  private async status(): Promise<void> {
    await using rt = await Rtnetlink.open();
    const links = await rt.links.list();
    const alias = ownerAlias(this.config.network);
    const bridge = bridgeOf(links, this.config.network);
    if (!bridge)
      throw new CniError(
        CNI_ERRORS.NOT_AVAILABLE,
        `network ${this.config.network} is not up on this host`,
        notApplied(this.config.network).details,
      );
    if ((bridge.flags & IFF_UP) === 0)
      throw new CniError(
        CNI_ERRORS.NOT_AVAILABLE_DEGRADED,
        `network ${this.config.network} is down on this host`,
        `its bridge ${bridge.ifname} is down: apply the network's spec again (vxnet apply)`,
      );
    const vxlan =
      links.find((l) => l.ifalias === alias && l.linkinfo?.info_kind === 'vxlan') ??
      links.find((l) => l.master === bridge.ifindex && l.linkinfo?.info_kind === 'vxlan');
    if (!vxlan || (vxlan.flags & IFF_UP) === 0) {
      throw new CniError(
        CNI_ERRORS.NOT_AVAILABLE_DEGRADED,
        `network ${this.config.network} does not reach other hosts`,
        vxlan
          ? `its VXLAN device ${vxlan.ifname} is down: apply the network's spec again`
          : `its bridge ${bridge.ifname} has no VXLAN device: apply the network's spec again`,
      );
    }
    if (
      this.config.ipam &&
      this.env.path.length &&
      (await ipamSpeaks(this.config.ipam.type, CNI_SPEC_VERSION, this.processEnv, this.env.path))
    )
      await this.ipam('STATUS');
  }

  private async gc(): Promise<void> {
    const valid = new Set((this.config.validAttachments ?? []).map((a) => `${a.containerID}\0${a.ifname}`));
    const failures: string[] = [];
    const removed: { containerId: string; ifname: string }[] = [];
    await using rt = await Rtnetlink.open();
    await this.locked(async () => {
      for (const attachment of await listAttachments(rt, { network: this.config.network })) {
        // Only attachments a CNI runtime made carry a container id; vxnet attach's own are not the runtime's to
        // collect.
        if (attachment.containerId === undefined || valid.has(`${attachment.containerId}\0${attachment.ifname}`))
          continue;
        try {
          if (await detachAttachment(rt, attachment))
            this.log(
              `gc: removed ${attachment.host.ifname} (${attachment.ifname} of container ${attachment.containerId})`,
            );
          removed.push({ containerId: attachment.containerId, ifname: attachment.ifname });
        } catch (error) {
          failures.push(`${attachment.host.ifname}: ${(error as Error).message}`);
        }
      }
    });
    if (this.config.ipam) {
      // The reservations of the attachments removed, released as their DEL would have.
      for (const { containerId, ifname } of removed) {
        const env: NodeJS.ProcessEnv = { ...this.processEnv, CNI_CONTAINERID: containerId, CNI_IFNAME: ifname };
        delete env.CNI_NETNS;
        try {
          await this.ipam('DEL', env);
        } catch (error) {
          failures.push(`IPAM DEL of ${containerId}/${ifname}: ${(error as Error).message}`);
        }
      }
      try {
        if (await ipamSpeaks(this.config.ipam.type, CNI_SPEC_VERSION, this.processEnv, this.env.path))
          await this.ipam('GC');
        else
          this.log(
            `gc: IPAM plugin ${this.config.ipam.type} does not speak ${CNI_SPEC_VERSION}: not sent GC (reservations ` +
              'of containers not seen here stay)',
          );
      } catch (error) {
        failures.push(`IPAM GC: ${(error as Error).message}`);
      }
    }
    if (failures.length)
      throw new CniError(
        VXNET_CNI_ERRORS.INTERNAL,
        `GC removed ${removed.length} attachment(s), and failed on ${failures.length}`,
        failures.join('; '),
      );
  }
}

function notApplied(network: string): CniError {
  return new CniError(
    VXNET_CNI_ERRORS.NETWORK_NOT_APPLIED,
    `network ${network} is not applied on this host`,
    `no bridge of vxnet network ${network} in this network namespace: apply its spec here first (vxnet apply), or ` +
      'fix "network" in the CNI config',
  );
}

/** The network's bridge: the one marked as its own, or the master of its marked VXLAN device. */
function bridgeOf(links: Link[], network: string): Link | undefined {
  const alias = ownerAlias(network);
  const bridge = links.find((l) => l.ifalias === alias && l.linkinfo?.info_kind === 'bridge');
  if (bridge) return bridge;
  const vxlan = links.find((l) => l.ifalias === alias && l.linkinfo?.info_kind === 'vxlan');
  return vxlan?.master
    ? links.find((l) => l.ifindex === vxlan.master && l.linkinfo?.info_kind === 'bridge')
    : undefined;
}

async function networkBridge(rt: Rtnetlink, network: string): Promise<Link | undefined> {
  return bridgeOf(await rt.links.list(), network);
}

/** The attach options for an IPAM address: the subnet and gateway of the bridge's address of its family. */
async function addressOptions(
  rt: Rtnetlink,
  bridge: Link,
  ip: { address: string; gateway?: string },
): Promise<Pick<AttachOptions, 'address' | 'subnet' | 'gateway'>> {
  const family = ip.address.includes(':') ? 10 : 2;
  const addresses = (await rt.addresses.list({ dev: bridge.ifindex })).filter(
    (a) => a.scope === 0 && a.family === family,
  );
  const bare = ip.address.replace(/\/.*$/, '');
  // An address whose reply carried neither IFA_LOCAL nor IFA_ADDRESS contains nothing.
  const contains = addresses.find((a) => {
    const own = a.local ?? a.address;
    return own !== undefined && sameNetwork(own, a.prefixlen, bare);
  });
  const chosen = contains ?? addresses[0];
  const bridgeIp = chosen ? (chosen.local ?? chosen.address) : undefined;
  const gateway = ip.gateway ?? bridgeIp;
  return {
    address: ip.address,
    ...(chosen ? { subnet: `${bridgeIp}/${chosen.prefixlen}` } : {}),
    ...(gateway ? { gateway } : {}),
  };
}

function sameNetwork(a: string, prefixlen: number, b: string): boolean {
  const bytes = (ip: string): number[] => (ip.includes(':') ? [] : ip.split('.').map(Number));
  const x = bytes(a);
  const y = bytes(b);
  if (x.length !== 4 || y.length !== 4)
    return (
      a
        .split(':')
        .slice(0, Math.floor(prefixlen / 16))
        .join(':') ===
      b
        .split(':')
        .slice(0, Math.floor(prefixlen / 16))
        .join(':')
    );
  const n = (v: number[]): number => v.reduce((sum, byte) => ((sum << 8) | byte) >>> 0, 0);
  const mask = prefixlen === 0 ? 0 : (0xffffffff << (32 - prefixlen)) >>> 0;
  return (n(x) & mask) >>> 0 === (n(y) & mask) >>> 0;
}

/** The container's client shared by the plans of one ADD: their close() leaves it open (ADD closes it at the end). */
function keepOpen(rt: Rtnetlink): Rtnetlink {
  return Object.create(rt, { close: { value: () => undefined } }) as Rtnetlink;
}
