/**
 * Reads the TLS files of membership.etcd.tls when the agent starts: a file
 * that is missing, unreadable or not PEM is an error naming it, raised
 * before anything is sent to etcd or written to the kernel.
 */
import { readFileSync } from 'node:fs';
import { credentials, type ChannelCredentials } from '@grpc/grpc-js';
import { EtcdTlsError } from './errors.js';
import type { ResolvedEtcdMembership } from './spec.js';

function readPem(field: 'ca' | 'cert' | 'key', file: string, marker: RegExp): Buffer {
  let bytes: Buffer;
  try {
    bytes = readFileSync(file);
  } catch (error) {
    throw new EtcdTlsError(field, file, (error as NodeJS.ErrnoException).code ?? (error as Error).message);
  }
  if (!marker.test(bytes.toString('latin1')))
    throw new EtcdTlsError(field, file, `not a PEM file (no ${marker.source.replace(/\\/g, '')} block)`);
  return bytes;
}

/** The channel credentials for the endpoints (insecure for http://). */
export function loadCredentials(config: ResolvedEtcdMembership): ChannelCredentials {
  if (!config.endpoints[0]?.secure) return credentials.createInsecure();
  const tls = config.tls ?? {};
  const ca = tls.ca !== undefined ? readPem('ca', tls.ca, /-----BEGIN CERTIFICATE-----/) : null;
  const cert = tls.cert !== undefined ? readPem('cert', tls.cert, /-----BEGIN CERTIFICATE-----/) : null;
  const key = tls.key !== undefined ? readPem('key', tls.key, /-----BEGIN [A-Z ]*PRIVATE KEY-----/) : null;
  try {
    return credentials.createSsl(ca, key, cert);
  } catch (error) {
    // grpc-js checks the pair (a key that does not match its certificate): both files are named.
    throw new EtcdTlsError('cert', `${tls.cert} / ${tls.key}`, (error as Error).message);
  }
}
