/**
 * Certificates for an etcd served over TLS in the lab, made with `openssl`
 * (a test tool): a CA, one certificate for every member (its SANs are the
 * members' underlay addresses; usable as server and as client certificate,
 * for etcd's --client-cert-auth and for the agents), and a second CA that
 * signed nothing of the cluster's (a client trusting it must refuse etcd).
 */
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface TestCerts {
  ca: string;
  cert: string;
  key: string;
  /** A CA that did not sign the members' certificate. */
  otherCa: string;
}

function openssl(args: string[], cwd: string): void {
  const run = spawnSync('openssl', args, { cwd, encoding: 'utf8' });
  if (run.status !== 0) throw new Error(`openssl ${args.join(' ')}: ${run.stderr}`);
}

const EC = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];

export function makeCerts(dir: string, addresses: string[]): TestCerts {
  for (const name of ['ca', 'other-ca'])
    openssl(
      [
        'req',
        '-x509',
        ...EC,
        '-keyout',
        `${name}.key`,
        '-out',
        `${name}.pem`,
        '-days',
        '2',
        '-subj',
        `/CN=vxnet-test-${name}`,
      ],
      dir,
    );
  openssl(['req', ...EC, '-keyout', 'node.key', '-out', 'node.csr', '-subj', '/CN=vxnet-test-etcd'], dir);
  writeFileSync(
    join(dir, 'ext.cnf'),
    `subjectAltName=${addresses.map((a) => `IP:${a}`).join(',')}\nextendedKeyUsage=serverAuth,clientAuth\n`,
  );
  openssl(
    [
      'x509',
      '-req',
      '-in',
      'node.csr',
      '-CA',
      'ca.pem',
      '-CAkey',
      'ca.key',
      '-CAcreateserial',
      '-out',
      'node.pem',
      '-days',
      '2',
      '-extfile',
      'ext.cnf',
    ],
    dir,
  );
  return {
    ca: join(dir, 'ca.pem'),
    cert: join(dir, 'node.pem'),
    key: join(dir, 'node.key'),
    otherCa: join(dir, 'other-ca.pem'),
  };
}
