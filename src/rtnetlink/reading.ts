/**
 * One reading of a namespace's links, for the duration of a plan or a
 * status. Planning looks the same devices up many times over (the VXLAN
 * device, the bridge, the underlay: each building block asks on its own);
 * a reading answers every lookup from one dump, taken on first use, instead
 * of one request each.
 *
 * A reading is for looking only: end() it when the plan is made. After
 * that, the client it gave out passes every call through, so the changes a
 * plan captured it in (their apply() runs later) see the kernel as it is
 * then, never this reading. Lookups with a filter, or into another
 * namespace (netnsid), always pass through.
 */
import type { Rtnetlink } from './client.js';
import type { Link, LinkRef, Links } from './links.js';
import { validateIfname } from './validate.js';

export interface LinkReading {
  /** The client to plan with: links.find and links.list() from the reading while it lasts. */
  readonly rt: Rtnetlink;
  /** Ends the reading: from now on every call goes to the kernel. */
  end(): void;
}

export function readLinksOnce(rt: Rtnetlink): LinkReading {
  const real = rt.links;
  let dump: Promise<Link[]> | undefined;
  let open = true;
  const all = (): Promise<Link[]> => {
    if (!dump) {
      const taking = real.list();
      // A failed dump is not kept: the next lookup asks again.
      taking.catch(() => {
        if (dump === taking) dump = undefined;
      });
      dump = taking;
    }
    return dump;
  };
  const links = Object.create(real) as Links;
  links.list = async (filter = {}) =>
    open && filter.kind === undefined && filter.master === undefined ? [...(await all())] : real.list(filter);
  links.find = async (ref: LinkRef, options: { netnsid?: number } = {}) => {
    if (!open || options.netnsid !== undefined) return real.find(ref, options);
    if (typeof ref === 'string') validateIfname(ref);
    return (await all()).find((l) => (typeof ref === 'number' ? l.ifindex === ref : l.ifname === ref));
  };
  const view = Object.create(rt) as Rtnetlink;
  Object.defineProperty(view, 'links', { value: links });
  return {
    rt: view,
    end: () => {
      open = false;
    },
  };
}
