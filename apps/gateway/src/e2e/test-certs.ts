/**
 * Test certificates made with the machine's `openssl`: a CA, a server certificate for 127.0.0.1/localhost, a
 * client certificate from the same CA, and a client certificate from another CA (one the gateway must refuse).
 */
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface TestCerts {
  ca: string;
  serverCert: string;
  serverKey: string;
  clientCert: string;
  clientKey: string;
  /** A client certificate signed by another CA. */
  strangerCert: string;
  strangerKey: string;
}

function openssl(args: string[]): void {
  execFileSync('openssl', args, { stdio: ['ignore', 'ignore', 'pipe'] });
}

function newCa(dir: string, name: string): { cert: string; key: string } {
  const cert = join(dir, `${name}.pem`);
  const key = join(dir, `${name}.key`);
  openssl(['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', key, '-out', cert, '-days', '2', '-subj', `/CN=${name}`,
    '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign', '-addext', 'subjectKeyIdentifier=hash']);
  return { cert, key };
}

function issue(dir: string, ca: { cert: string; key: string }, name: string, ext: string): { cert: string; key: string } {
  const cert = join(dir, `${name}.pem`);
  const key = join(dir, `${name}.key`);
  const csr = join(dir, `${name}.csr`);
  const extfile = join(dir, `${name}.ext`);
  writeFileSync(extfile, `basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\nsubjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid\n${ext}\n`);
  openssl(['req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', key, '-out', csr, '-subj', `/CN=${name}`]);
  openssl(['x509', '-req', '-in', csr, '-CA', ca.cert, '-CAkey', ca.key, '-CAcreateserial', '-out', cert, '-days', '2', '-extfile', extfile]);
  return { cert, key };
}

export function makeTestCerts(dir: string): TestCerts {
  const ca = newCa(dir, 'gp-test-ca');
  const server = issue(dir, ca, 'server', 'extendedKeyUsage=serverAuth\nsubjectAltName=IP:127.0.0.1,DNS:localhost');
  const client = issue(dir, ca, 'client', 'extendedKeyUsage=clientAuth');
  const stranger = issue(dir, newCa(dir, 'other-ca'), 'stranger', 'extendedKeyUsage=clientAuth');
  return { ca: ca.cert, serverCert: server.cert, serverKey: server.key, clientCert: client.cert, clientKey: client.key, strangerCert: stranger.cert, strangerKey: stranger.key };
}
