/**
 * The Flow console's server side, mounted by the gateway at `/ui`: the HTML shell for every page, the browser code
 * (bundled from `console/src/` with esbuild on the first request and kept in memory), its stylesheet, and sign-in
 * with an API token into a signed session cookie. Everything else the console shows it reads from `/api` like any
 * client; nothing here touches the registry or Temporal. See docs/console.md.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import zlib from 'node:zlib';
import { build } from 'esbuild';
import express, { Router, type RequestHandler } from 'express';
import { contentSecurityPolicy } from 'helmet';
import { projectRoot } from '../config';
import { sessionCookie, type ApiAuth } from '../gateway/auth';
import { ProblemError } from '../gateway/problem';
import { oidcRouter, type OidcSignIn } from './oidc';

/** What the console's server side needs. */
export interface ConsoleRouterDeps {
  /** The gateway's authentication: the same tokens as the API, and the session cookies it accepts. */
  readonly auth: ApiAuth;
  /** Where a failed build of the browser code is reported. */
  readonly log: (message: string, error: unknown) => void;
  /** Sign-in with OpenID Connect (console/oidc.ts) at `/ui/auth`; without it only tokens sign in. */
  readonly oidc?: OidcSignIn;
  /** The browser code's folder; `console/src` of the project by default. */
  readonly sourceDir?: string;
}

/** One built file the shell links to, under a name that changes with its content (so it can be cached forever). */
interface Asset {
  readonly name: string;
  readonly type: string;
  readonly body: Buffer;
  /** The hash in its name, which its ETags carry. */
  readonly hash: string;
  /**
   * The body compressed once, in the background: the shell, which needs only the name, does not wait for it, and
   * a request for the asset waits only until its own encodings are ready. Undefined when compressing failed: then
   * the body is sent as it is.
   */
  readonly encoded: Promise<Encoded | undefined>;
}

/** An asset's body in each encoding a browser may accept. */
interface Encoded {
  readonly br: Buffer;
  readonly gzip: Buffer;
}

const gzip = promisify(zlib.gzip);
const brotli = promisify(zlib.brotliCompress);

interface Assets {
  readonly script: Asset;
  /** The YAML editor, loaded by the editing pages only. */
  readonly editor: Asset;
  readonly style: Asset;
}

/**
 * The shell's policy: scripts and styles only from files of this origin (no inline code, no `eval`), data only
 * from this origin's API, no frames, plugins or foreign forms. The gateway's own default policy (helmet's) would allow
 * inline styles and upgrade plain-http requests, which breaks a console reached over http on a LAN address.
 */
const SHELL_POLICY = contentSecurityPolicy({
  useDefaults: false,
  directives: {
    defaultSrc: ["'none'"],
    scriptSrc: ["'self'"],
    styleSrc: ["'self'"],
    imgSrc: ["'self'"],
    fontSrc: ["'self'"],
    connectSrc: ["'self'"],
    formAction: ["'self'"],
    baseUri: ["'none'"],
    frameAncestors: ["'none'"],
    objectSrc: ["'none'"],
  },
});

const sessionBody: RequestHandler[] = [
  express.json({ limit: '8kb' }),
  express.urlencoded({ extended: false, limit: '8kb' }),
];

/** The console's routes, to mount at `/ui`. */
export function consoleRouter(deps: ConsoleRouterDeps): Router {
  const router = Router();
  const assets = memoized(() => buildAssets(deps.sourceDir ?? path.join(projectRoot, 'console', 'src')));
  const built = async (): Promise<Assets> => {
    try {
      return await assets();
    } catch (error) {
      deps.log('the console could not be built', error);
      throw new ProblemError(
        500,
        'Internal Server Error',
        `The console's browser code could not be built: ${firstLine(error)}. The gateway's log has the details.`,
      );
    }
  };

  router.post('/session', refuseCrossSite, ...sessionBody, (req, res) => {
    if (!req.is('application/json') && !req.is('application/x-www-form-urlencoded')) {
      throw new ProblemError(
        415,
        'Unsupported Media Type',
        'Send {"token": "<API token>"} as JSON, or token=<API token> as a form.',
      );
    }
    const body: unknown = req.body;
    const given = typeof body === 'object' && body !== null ? (body as Record<string, unknown>)['token'] : undefined;
    const token = typeof given === 'string' ? deps.auth.lookup(given.trim()) : undefined;
    if (!token) {
      throw new ProblemError(
        401,
        'Unauthorized',
        'That is not a valid API token. Use FLOW_API_TOKEN (npm start prints it and keeps it in .data/api-token) or a token of FLOW_API_TOKENS.',
      );
    }
    const { value, session } = deps.auth.startSession(token);
    res.set('Cache-Control', 'no-store');
    res.append('Set-Cookie', sessionCookie(value, req.secure));
    if (req.is('application/x-www-form-urlencoded')) {
      res.redirect(303, '/ui');
      return;
    }
    res.json(sessionView(session));
  });

  router.get('/session', (req, res) => {
    res.set('Cache-Control', 'no-store');
    const session = deps.auth.sessionOf(req);
    if (session === undefined || session === 'invalid') {
      if (session === 'invalid') res.append('Set-Cookie', sessionCookie(null, req.secure));
      throw new ProblemError(
        401,
        'Unauthorized',
        session === undefined
          ? 'Not signed in: POST /ui/session with an API token.'
          : 'The console session is not valid or has expired; sign in again.',
      );
    }
    res.json(sessionView(session));
  });

  router.post('/session/logout', refuseCrossSite, (req, res) => {
    res.set('Cache-Control', 'no-store');
    res.append('Set-Cookie', sessionCookie(null, req.secure));
    res.status(204).end();
  });

  if (deps.oidc) {
    router.use('/auth', oidcRouter({ signIn: deps.oidc, auth: deps.auth, sameSiteOnly: refuseCrossSite }));
  } else {
    router.use('/auth', () => {
      throw new ProblemError(404, 'Not Found', 'Sign-in with OpenID Connect is not configured (FLOW_OIDC_ISSUER).');
    });
  }

  router.get('/assets/:file', async (req, res) => {
    const { script, editor, style } = await built();
    const asset = [script, editor, style].find((candidate) => candidate.name === req.params['file']);
    if (!asset) {
      throw new ProblemError(
        404,
        'Not Found',
        'No such console asset; it may be from an earlier version of the gateway. Reload the page.',
      );
    }
    res.set('Cache-Control', 'public, max-age=31536000, immutable');
    // Compressed when the browser accepts it (brotli first, else gzip): the editor is about 530 KB as it is. Caches
    // keep the encodings apart by Accept-Encoding, and each has its own tag.
    res.vary('Accept-Encoding');
    const encoded = await asset.encoded;
    const encoding = encoded ? preferredEncoding(req.get('accept-encoding')) : undefined;
    if (encoded && encoding) {
      res.set('Content-Encoding', encoding);
      res.set('ETag', `"${asset.hash}.${encoding}"`);
      res.type(asset.type).send(encoded[encoding]);
      return;
    }
    res.set('ETag', `"${asset.hash}"`);
    res.type(asset.type).send(asset.body);
  });

  // Every other path is a page of the console, drawn by its browser code; the URL itself is the page's address.
  router.get('/{*page}', SHELL_POLICY, async (_req, res) => {
    const { script, style } = await built();
    res.set('Cache-Control', 'no-cache');
    res.type('html').send(shell(script.name, style.name));
  });

  return router;
}

/**
 * Bundles the browser code and reads the stylesheet; names carry a hash of the content. The YAML editor (CodeMirror
 * and the `yaml` package, most of the code) is a bundle of its own that only the editing pages load, so the other
 * pages stay small; the main bundle learns its name at build time (`FLOW_EDITOR_SCRIPT`).
 */
async function buildAssets(sourceDir: string): Promise<Assets> {
  const entry = path.join(sourceDir, 'main.ts');
  await fs.access(entry).catch(() => {
    throw new Error(`the console's source code (${entry}) is not in this installation`);
  });
  const bundle = async (file: string, define: Record<string, string> = {}): Promise<Buffer> => {
    const result = await build({
      entryPoints: [file],
      tsconfig: path.join(sourceDir, 'tsconfig.json'),
      bundle: true,
      write: false,
      format: 'iife',
      platform: 'browser',
      target: 'es2022',
      minify: true,
      legalComments: 'none',
      logLevel: 'silent',
      define,
    });
    const code = result.outputFiles[0]?.contents;
    if (!code) throw new Error('esbuild produced no output');
    return Buffer.from(code);
  };
  const editor = asset(
    'editor',
    'js',
    'text/javascript; charset=utf-8',
    await bundle(path.join(sourceDir, 'editor', 'main.ts')),
  );
  const script = asset(
    'console',
    'js',
    'text/javascript; charset=utf-8',
    await bundle(entry, { FLOW_EDITOR_SCRIPT: JSON.stringify(`/ui/assets/${editor.name}`) }),
  );
  const css = await fs.readFile(path.join(sourceDir, 'console.css'));
  return { script, editor, style: asset('console', 'css', 'text/css; charset=utf-8', css) };
}

function asset(base: string, extension: string, type: string, body: Buffer): Asset {
  const hash = createHash('sha256').update(body).digest('hex').slice(0, 16);
  return { name: `${base}-${hash}.${extension}`, type, body, hash, encoded: compress(body) };
}

/**
 * brotli or gzip as `Accept-Encoding` allows (a `q` above 0, by name or by `*`), brotli when both are as welcome:
 * browsers list gzip first (`gzip, deflate, br, zstd`) without preferring it.
 */
export function preferredEncoding(header: string | undefined): 'br' | 'gzip' | undefined {
  const weights = new Map<string, number>();
  for (const part of (header ?? '').split(',')) {
    const [coding = '', ...params] = part.split(';').map((item) => item.trim().toLowerCase());
    if (coding === '') continue;
    const q = params.find((param) => param.startsWith('q='));
    const weight = q === undefined ? 1 : Number(q.slice(2));
    weights.set(coding, Number.isFinite(weight) ? weight : 0);
  }
  const weight = (coding: string): number => weights.get(coding) ?? weights.get('*') ?? 0;
  const br = weight('br');
  const gzipped = weight('gzip');
  if (br > 0 && br >= gzipped) return 'br';
  return gzipped > 0 ? 'gzip' : undefined;
}

/**
 * gzip at its best level and brotli at its best quality (about a second of a thread-pool thread for the editor,
 * once per gateway process, off the event loop). A failure leaves the asset uncompressed.
 */
async function compress(body: Buffer): Promise<Encoded | undefined> {
  try {
    const [br, gzipped] = await Promise.all([
      brotli(body, {
        params: {
          [zlib.constants.BROTLI_PARAM_QUALITY]: zlib.constants.BROTLI_MAX_QUALITY,
          [zlib.constants.BROTLI_PARAM_MODE]: zlib.constants.BROTLI_MODE_TEXT,
          [zlib.constants.BROTLI_PARAM_SIZE_HINT]: body.length,
        },
      }),
      gzip(body, { level: zlib.constants.Z_BEST_COMPRESSION }),
    ]);
    return { br, gzip: gzipped };
  } catch {
    return undefined;
  }
}

/** The page every console URL answers with; it holds no data, only links to the two assets. */
function shell(script: string, style: string): string {
  return [
    '<!doctype html>',
    '<html lang="en">',
    '<head>',
    '<meta charset="utf-8">',
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    '<title>Flow console</title>',
    `<link rel="stylesheet" href="/ui/assets/${style}">`,
    `<script src="/ui/assets/${script}" defer></script>`,
    '</head>',
    '<body>',
    '<noscript><p>The Flow console needs JavaScript. Everything it shows is also in the HTTP API (see the README).</p></noscript>',
    '<div id="app"></div>',
    '</body>',
    '</html>',
    '',
  ].join('\n');
}

function sessionView(session: { actor: string; scope: string; csrf: string; exp: number }): object {
  return {
    actor: session.actor,
    scope: session.scope,
    csrf: session.csrf,
    expiresAt: new Date(session.exp * 1000).toISOString(),
  };
}

/**
 * Signing in and out is accepted only from a page of this origin (or typed by hand, curl included): another site
 * must not sign a visitor in as someone else (login CSRF) or out. Browsers say where a request comes from in
 * `Sec-Fetch-Site`, which no page can set.
 */
const refuseCrossSite: RequestHandler = (req, _res, next) => {
  const site = req.get('sec-fetch-site');
  if (site !== undefined && site !== 'same-origin' && site !== 'none') {
    next(
      new ProblemError(
        403,
        'Forbidden',
        `Signing in or out is accepted only from the console's own pages; this request came from a ${site} page.`,
      ),
    );
    return;
  }
  next();
};

/** Calls `load` once; a failure is not kept, so the next call tries again (after a fix to the code, say). */
function memoized<T>(load: () => Promise<T>): () => Promise<T> {
  let pending: Promise<T> | undefined;
  return () => {
    pending ??= load().catch((error: unknown) => {
      pending = undefined;
      throw error;
    });
    return pending;
  };
}

function firstLine(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return (message.split('\n')[0] ?? '').slice(0, 300);
}
