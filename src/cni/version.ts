/** The CNI spec versions vxnet-cni speaks, and what each allows. */
import { CNI_ERRORS, CniError } from './errors.js';

export const CNI_SPEC_VERSION = '1.1.0';
/** 0.3.x and 0.4.0 results carry `version` on each IP; 1.0.0 dropped it; 1.1.0 added STATUS, GC and interface MTUs. */
export const SUPPORTED_VERSIONS = ['0.3.0', '0.3.1', '0.4.0', '1.0.0', '1.1.0'] as const;

export function compareVersions(a: string, b: string): number {
  const pa = a.split('.').map(Number);
  const pb = b.split('.').map(Number);
  for (let i = 0; i < 3; i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}

/** Checks that `version` is spoken, and that `command` exists in it. */
export function checkVersion(version: unknown, command: string): string {
  if (typeof version !== 'string' || version.length === 0) {
    throw new CniError(
      CNI_ERRORS.INVALID_CONFIG,
      'invalid network config',
      'cniVersion is missing (a string such as "1.1.0")',
    );
  }
  if (!(SUPPORTED_VERSIONS as readonly string[]).includes(version)) {
    throw new CniError(
      CNI_ERRORS.INCOMPATIBLE_VERSION,
      `incompatible CNI version ${version}`,
      `vxnet-cni speaks ${SUPPORTED_VERSIONS.join(', ')}`,
    );
  }
  const since = command === 'CHECK' ? '0.4.0' : command === 'STATUS' || command === 'GC' ? '1.1.0' : undefined;
  if (since && compareVersions(version, since) < 0) {
    throw new CniError(
      CNI_ERRORS.INCOMPATIBLE_VERSION,
      `incompatible CNI version ${version}`,
      `${command} exists from spec ${since} on; the config says ${version}`,
    );
  }
  return version;
}
