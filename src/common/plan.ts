/**
 * Plans: what a building block would change to make the host match a spec,
 * as a list of steps that can be shown (plan), then carried out (apply).
 * The overlay layer concatenates the plans of its blocks.
 */

export type ChangeAction = 'create' | 'update' | 'replace' | 'delete' | 'add' | 'remove' | 'start' | 'restart' | 'stop';

export interface Change {
  action: ChangeAction;
  /** What it acts on: "link vx0", "fdb vx0 00:00:00:00:00:00 dst 192.168.0.2". */
  target: string;
  /** Why, or what exactly: "mtu 1500 → 1450". */
  detail?: string;
  /** Carries the change out. */
  apply(): Promise<void>;
}

/** Applies changes in order. Stops at the first failure. */
export async function applyChanges(changes: Change[]): Promise<void> {
  for (const change of changes) await change.apply();
}

/** "create link vx0 (vxlan id 42)" — a change in one line, for logs and the CLI. */
export function describeChange(change: Change): string {
  return `${change.action} ${change.target}${change.detail ? ` (${change.detail})` : ''}`;
}
