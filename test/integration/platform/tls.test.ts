// Given a certificate, the API serves HTTPS itself (TLS usually ends at the ingress).
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { Agent, request } from 'undici';
import { describe, expect, it } from 'vitest';
import { buildApp } from '../../../api/app.js';
import { createDb, createPool } from '../../../db/client.js';
import { ConfigError, parseConfig } from '../../../runtime/config.js';
import { testConfig } from '../../support/config.js';

function selfSignedCertificate() {
  const dir = mkdtempSync(join(tmpdir(), 'vlinders-tls-'));
  const [cert, key] = [join(dir, 'cert.pem'), join(dir, 'key.pem')];
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-days',
      '1',
      '-subj',
      '/CN=localhost',
      '-addext',
      'subjectAltName=DNS:localhost,IP:127.0.0.1',
      '-keyout',
      key,
      '-out',
      cert,
    ],
    { stdio: 'pipe' },
  );
  return { certPath: cert, keyPath: key, cert: readFileSync(cert), key: readFileSync(key) };
}

describe('TLS', () => {
  it('serves HTTPS with the configured certificate, and no plain HTTP on that port', async () => {
    const tls = selfSignedCertificate();
    const config = testConfig();
    const pool = createPool({ url: config.DATABASE_URL, size: 1, applicationName: 'tls-test' });
    const temporal = new Client({ connection: Connection.lazy({ address: config.TEMPORAL_ADDRESS }) });
    const app = await buildApp(
      { config, pool, db: createDb(pool), temporal },
      { tls: { cert: tls.cert, key: tls.key } },
    );
    const address = await app.listen({ host: '127.0.0.1', port: 0 });
    const dispatcher = new Agent({ connect: { ca: tls.cert } });
    try {
      expect(address).toMatch(/^https:\/\//);
      const res = await request(`${address}/healthz`, { dispatcher });
      expect(res.statusCode).toBe(200);
      expect(await res.body.json()).toEqual({ status: 'ok' });
      const plain = await fetch(address.replace('https://', 'http://') + '/healthz').then(
        (r) => r.status,
        () => 'refused',
      );
      expect(plain).not.toBe(200);
    } finally {
      await dispatcher.close();
      await app.close();
      await pool.end();
    }
  });

  it('refuses a certificate without its key (and the reverse) at start-up', () => {
    const base = {
      DATABASE_URL: 'postgres://u@localhost/db',
      MASTER_KEY: Buffer.alloc(32, 1).toString('base64'),
    };
    for (const half of [{ TLS_CERT_PATH: '/c.pem' }, { TLS_KEY_PATH: '/k.pem' }]) {
      expect(() => parseConfig({ ...base, ...half })).toThrow(ConfigError);
      expect(() => parseConfig({ ...base, ...half })).toThrow(
        /TLS_CERT_PATH, TLS_KEY_PATH: set both or neither/,
      );
    }
  });
});
