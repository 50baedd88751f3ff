import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import zlib from 'node:zlib';
import express from 'express';
import { consoleRouter, preferredEncoding } from '../../console/router';
import { createApiAuth } from '../../gateway/auth';
import { problemErrorHandler } from '../../gateway/problem';

interface Raw {
  readonly status: number;
  readonly headers: http.IncomingHttpHeaders;
  /** The bytes as they came over the wire, not decompressed. */
  readonly body: Buffer;
}

/** A GET whose body is not decompressed on the way (supertest and fetch would). */
function rawGet(port: number, path: string, headers: Record<string, string> = {}): Promise<Raw> {
  return new Promise((resolve, reject) => {
    http
      .get({ host: '127.0.0.1', port, path, headers }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }),
        );
        res.on('error', reject);
      })
      .on('error', reject);
  });
}

describe('console: compressed bundles', function () {
  this.timeout(60_000);
  let server: http.Server;
  let port: number;
  let assets: string[];

  before(async () => {
    const app = express();
    app.set('etag', false); // as the gateway does: the tags below are the router's own
    app.use('/ui', consoleRouter({ auth: createApiAuth([], Buffer.alloc(32)), log: () => undefined }));
    app.use(problemErrorHandler(() => undefined));
    server = app.listen(0, '127.0.0.1');
    await new Promise((resolve) => server.once('listening', resolve));
    port = (server.address() as AddressInfo).port;
    const shell = await rawGet(port, '/ui');
    assert.equal(shell.status, 200);
    assets = [...shell.body.toString().matchAll(/\/ui\/assets\/[\w.-]+/g)].map((match) => match[0]);
    assert.equal(assets.length, 2, 'the shell links the script and the stylesheet');
  });
  after(() => new Promise<void>((resolve) => server.close(() => resolve())));

  const decoders = { gzip: zlib.gunzipSync, br: zlib.brotliDecompressSync } as const;

  it('sends each asset brotli- or gzip-compressed when accepted, plain otherwise, with its own tag and length', async () => {
    const editorName = async (): Promise<string> => {
      const script = await rawGet(port, assets.find((name) => name.endsWith('.js')) ?? '');
      const match = /\/ui\/assets\/editor-[\w]+\.js/.exec(script.body.toString());
      assert.ok(match, 'the main bundle names the editor bundle');
      return match[0];
    };
    for (const path of [...assets, await editorName()]) {
      const plain = await rawGet(port, path);
      assert.equal(plain.status, 200);
      assert.equal(plain.headers['content-encoding'], undefined);
      assert.equal(Number(plain.headers['content-length']), plain.body.length);
      assert.match(plain.headers['vary'] ?? '', /Accept-Encoding/);
      const hash = /-(\w+)\.(js|css)$/.exec(path)?.[1];
      assert.equal(plain.headers['etag'], `"${hash}"`);

      const tags = new Set([plain.headers['etag']]);
      for (const [accept, expected] of [
        ['gzip, deflate, br', 'br'],
        ['gzip', 'gzip'],
        ['br;q=0.5, gzip', 'gzip'],
      ] as const) {
        const compressed = await rawGet(port, path, { 'Accept-Encoding': accept });
        assert.equal(compressed.status, 200);
        assert.equal(compressed.headers['content-encoding'], expected, `${path} for ${accept}`);
        assert.match(compressed.headers['vary'] ?? '', /Accept-Encoding/);
        assert.equal(Number(compressed.headers['content-length']), compressed.body.length);
        assert.equal(compressed.headers['content-type'], plain.headers['content-type']);
        assert.equal(compressed.headers['etag'], `"${hash}.${expected}"`);
        tags.add(compressed.headers['etag']);
        assert.ok(compressed.body.length < plain.body.length / 2, `${path} is smaller ${expected}-compressed`);
        assert.ok(decoders[expected](compressed.body).equals(plain.body), `${path} decompresses to the plain body`);
      }
      assert.equal(tags.size, 3, 'each encoding has its own tag');

      const identity = await rawGet(port, path, { 'Accept-Encoding': 'identity' });
      assert.equal(identity.headers['content-encoding'], undefined);
      assert.ok(identity.body.equals(plain.body));
      const revalidated = await rawGet(port, path, {
        'Accept-Encoding': 'gzip',
        'If-None-Match': `"${hash}.gzip"`,
      });
      assert.equal(revalidated.status, 304);
    }
  });

  it('prefers brotli when it is as welcome as gzip, and honours q=0 and *', () => {
    const cases: [string | undefined, 'br' | 'gzip' | undefined][] = [
      [undefined, undefined],
      ['', undefined],
      ['identity', undefined],
      ['gzip, deflate, br, zstd', 'br'],
      ['gzip;q=1.0, br;q=0.9', 'gzip'],
      ['br;q=0, gzip', 'gzip'],
      ['*', 'br'],
      ['*;q=0.5, br;q=0', 'gzip'],
      ['gzip;q=0, br;q=0', undefined],
      ['GZIP', 'gzip'],
    ];
    for (const [header, expected] of cases) assert.equal(preferredEncoding(header), expected, String(header));
  });
});
