// Certificates for local secured clusters, made with openssl into a folder of the cache (never the
// repository): a CA, a broker certificate for 127.0.0.1/localhost signed by it, a client
// certificate for mTLS, and the failures a probe must tell apart from a dead broker: a broker
// certificate that has already expired, and a second CA nobody trusts (with a client certificate
// of its own, which an mTLS broker must refuse). Keys are PKCS#8 PEM, unencrypted: Kafka reads them
// as a PEM keystore (ssl.keystore.type=PEM), Node's tls module as they are.
import { execFileSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** Paths of the generated PEM files (all in one folder). */
export interface LocalCertificates {
  dir: string;
  /** The CA the brokers' certificates chain to (what the probe trusts). */
  ca: string;
  /** The broker's certificate and key, and both in one file (Kafka's PEM keystore). */
  brokerCert: string;
  brokerKey: string;
  brokerKeystore: string;
  /** A broker certificate from the same CA that expired yesterday, and its keystore. */
  expiredKeystore: string;
  /** The client certificate and key mTLS brokers accept (CN=kafka-heal-probe), and both in one file (Kafka's CLI tools). */
  clientCert: string;
  clientKey: string;
  clientKeystore: string;
  /** A CA nobody trusts, and a client certificate it signed (mTLS brokers refuse it). */
  untrustedCa: string;
  untrustedClientCert: string;
  untrustedClientKey: string;
  /** notAfter of the broker certificate (ms since the epoch). */
  brokerNotAfter: number;
}

export class CertificateToolError extends Error {
  override readonly name = 'CertificateToolError';
}

function openssl(args: string[], cwd: string): string {
  try {
    return execFileSync('openssl', args, { cwd, stdio: ['ignore', 'pipe', 'pipe'], timeout: 60_000 }).toString();
  } catch (err) {
    const e = err as { stderr?: Buffer; message: string; code?: string };
    if (e.code === 'ENOENT')
      throw new CertificateToolError(
        'openssl is not on PATH: secured local clusters need it to make their certificates',
      );
    throw new CertificateToolError(`openssl ${args[0]} failed: ${e.stderr?.toString().trim() || e.message}`);
  }
}

function key(dir: string, name: string): string {
  openssl(['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', `${name}.key`], dir);
  return join(dir, `${name}.key`);
}

function selfSignedCa(dir: string, name: string, cn: string, days: number): void {
  key(dir, name);
  openssl(
    [
      'req',
      '-x509',
      '-new',
      '-key',
      `${name}.key`,
      '-sha256',
      '-days',
      String(days),
      '-subj',
      `/CN=${cn}`,
      '-addext',
      'basicConstraints=critical,CA:TRUE',
      '-addext',
      'keyUsage=critical,keyCertSign,cRLSign',
      '-out',
      `${name}.pem`,
    ],
    dir,
  );
}

/** A leaf certificate signed by `ca`, valid from `start` to `end` (openssl ca's YYYYMMDDHHMMSSZ). */
function leaf(dir: string, ca: string, name: string, cn: string, ext: string, start: Date, end: Date): void {
  key(dir, name);
  openssl(['req', '-new', '-key', `${name}.key`, '-subj', `/CN=${cn}`, '-out', `${name}.csr`], dir);
  // `openssl ca` (unlike `x509 -req` in OpenSSL 3.0) takes explicit start and end dates: how an
  // already expired certificate is made without faking the clock.
  const db = join(dir, `${ca}-db`);
  mkdirSync(db, { recursive: true });
  writeFileSync(join(db, 'index.txt'), '');
  writeFileSync(join(db, 'serial'), `${Date.now().toString(16).padStart(16, '0')}\n`);
  writeFileSync(
    join(dir, `${name}.cnf`),
    [
      '[ca]',
      'default_ca = local',
      '[local]',
      `database = ${join(db, 'index.txt')}`,
      `serial = ${join(db, 'serial')}`,
      `new_certs_dir = ${db}`,
      'default_md = sha256',
      'policy = any',
      'unique_subject = no',
      'copy_extensions = none',
      '[any]',
      'commonName = supplied',
      '[ext]',
      ext,
      '',
    ].join('\n'),
  );
  const stamp = (d: Date) => d.toISOString().replace(/[-:T]/g, '').slice(0, 14) + 'Z';
  openssl(
    [
      'ca',
      '-batch',
      '-config',
      `${name}.cnf`,
      '-cert',
      `${ca}.pem`,
      '-keyfile',
      `${ca}.key`,
      '-in',
      `${name}.csr`,
      '-out',
      `${name}.pem`,
      '-notext',
      '-startdate',
      stamp(start),
      '-enddate',
      stamp(end),
      '-extensions',
      'ext',
    ],
    dir,
  );
}

const DAY_MS = 86_400_000;

/**
 * Makes every certificate into `dir` (wiped first). The broker certificate is valid for
 * `brokerDays` from now (default 45: inside the default 30-day warning only after 15 days).
 */
export function makeLocalCertificates(
  dir: string,
  opts: { brokerDays?: number; now?: number } = {},
): LocalCertificates {
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const now = opts.now ?? Date.now();
  const brokerEnd = new Date(now + (opts.brokerDays ?? 45) * DAY_MS);
  selfSignedCa(dir, 'ca', 'kafka-heal local CA', 3650);
  selfSignedCa(dir, 'untrusted-ca', 'kafka-heal untrusted CA', 3650);
  const serverExt =
    'basicConstraints = CA:FALSE\nkeyUsage = critical,digitalSignature\nextendedKeyUsage = serverAuth,clientAuth\nsubjectAltName = IP:127.0.0.1,DNS:localhost';
  const clientExt = 'basicConstraints = CA:FALSE\nkeyUsage = critical,digitalSignature\nextendedKeyUsage = clientAuth';
  const started = new Date(now - DAY_MS);
  leaf(dir, 'ca', 'broker', 'localhost', serverExt, started, brokerEnd);
  leaf(dir, 'ca', 'expired', 'localhost', serverExt, new Date(now - 30 * DAY_MS), new Date(now - DAY_MS));
  leaf(dir, 'ca', 'client', 'kafka-heal-probe', clientExt, started, new Date(now + 365 * DAY_MS));
  leaf(dir, 'untrusted-ca', 'untrusted-client', 'kafka-heal-probe', clientExt, started, new Date(now + 365 * DAY_MS));
  for (const name of ['broker', 'expired', 'client']) {
    writeFileSync(
      join(dir, `${name}-keystore.pem`),
      `${readFileSync(join(dir, `${name}.key`), 'utf8')}${readFileSync(join(dir, `${name}.pem`), 'utf8')}`,
      { mode: 0o600 },
    );
  }
  return localCertificates(dir);
}

/** The files makeLocalCertificates made in `dir`. */
export function localCertificates(dir: string): LocalCertificates {
  return {
    dir,
    ca: join(dir, 'ca.pem'),
    brokerCert: join(dir, 'broker.pem'),
    brokerKey: join(dir, 'broker.key'),
    brokerKeystore: join(dir, 'broker-keystore.pem'),
    expiredKeystore: join(dir, 'expired-keystore.pem'),
    clientCert: join(dir, 'client.pem'),
    clientKey: join(dir, 'client.key'),
    clientKeystore: join(dir, 'client-keystore.pem'),
    untrustedCa: join(dir, 'untrusted-ca.pem'),
    untrustedClientCert: join(dir, 'untrusted-client.pem'),
    untrustedClientKey: join(dir, 'untrusted-client.key'),
    brokerNotAfter: Date.parse(new X509Certificate(readFileSync(join(dir, 'broker.pem'))).validTo),
  };
}
