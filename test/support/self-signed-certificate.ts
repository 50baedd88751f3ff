import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/** A PEM key and the self-signed certificate for it. */
export interface SelfSignedCertificate {
  readonly key: string;
  readonly cert: string;
}

/** Whether the `openssl` command is on PATH; Node can make keys but not certificates. */
export function hasOpenssl(): boolean {
  try {
    execFileSync('openssl', ['version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/**
 * A fresh P-256 key and a one-day self-signed certificate for `127.0.0.1` (as an IP subject alternative name), made
 * with the `openssl` command. A test passes the certificate to the client as its only trusted CA, so the TLS
 * connection is verified for real rather than with verification switched off.
 */
export function selfSignedCertificate(ip = '127.0.0.1'): SelfSignedCertificate {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'flow-cert-'));
  try {
    const [keyFile, certFile] = [path.join(dir, 'key.pem'), path.join(dir, 'cert.pem')];
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:prime256v1',
        '-nodes',
        '-days',
        '1',
        '-subj',
        `/CN=${ip}`,
        '-addext',
        `subjectAltName=IP:${ip}`,
        '-keyout',
        keyFile,
        '-out',
        certFile,
      ],
      { stdio: 'ignore' },
    );
    return { key: fs.readFileSync(keyFile, 'utf8'), cert: fs.readFileSync(certFile, 'utf8') };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
