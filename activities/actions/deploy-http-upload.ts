import { ApplicationFailure } from '@temporalio/common';
import fs from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import type { WebDAVClient } from 'webdav';
import { z } from 'zod';
import { defineAction } from '../define-action';
import type { ActionDeps } from '../deps';
import { FailureType, failureForStatus, peerUnreachable, requireEnv } from '../failures';
import { HostLookupError, NETWORK_GUARD_ENV, networkGuard } from '../network-guard';
import { absolutePath } from '../process';

/** Most files one step uploads: each is listed in the output, which lives in workflow history. */
const MAX_FILES = 1_000;
/** Heartbeats while a file streams, at most this often. */
const HEARTBEAT_INTERVAL_MS = 2_000;

const input = z.strictObject({
  /** A file, or a directory whose regular files are all uploaded, keeping their relative paths. */
  source: absolutePath,
  /**
   * For a single file, the URL to upload it to; for a directory, or a URL ending in "/", the base URL under which
   * each file's relative path is placed.
   */
  url: z
    .url()
    .max(2_048)
    .refine((value) => /^https?:\/\//i.test(value), 'must be an http:// or https:// URL')
    .refine(
      (value) => !URL.canParse(value) || (new URL(value).username === '' && new URL(value).password === ''),
      "must not contain credentials; they come from the worker's UPLOAD_USERNAME and UPLOAD_PASSWORD",
    )
    .refine((value) => !value.includes('#'), 'must not contain a fragment'),
  mode: z.enum(['put', 'webdav']).default('put'),
});

const output = z.object({
  uploaded: z.array(z.object({ path: z.string(), url: z.string(), bytes: z.int().min(0) })),
});

/** A local file and where it goes. */
interface PlannedUpload {
  readonly local: string;
  readonly target: URL;
}

/** Basic-auth credentials from the worker environment. */
interface Credentials {
  readonly username: string;
  readonly password: string;
}

/** What every upload needs besides the file. */
interface UploadContext {
  readonly deps: ActionDeps;
  readonly credentials: Credentials | undefined;
  readonly signal: AbortSignal;
  readonly onBytes: (bytes: number) => void;
}

/** Uploads build output over HTTP PUT or WebDAV. */
export const deployHttpUpload = defineAction({
  id: 'deploy.http_upload',
  guarantee: {
    level: 'exactly-once',
    explanation:
      'Each file is PUT to its URL, which replaces what is there: a retry may send a file again, and the files at the destination end up the same as after one upload.',
  },
  env: ['UPLOAD_USERNAME', 'UPLOAD_PASSWORD', 'UPLOAD_ALLOWED_ORIGINS', ...NETWORK_GUARD_ENV],
  guardedInputs: [{ input: 'url', decides: "chooses where the files, and the worker's upload credentials, are sent" }],
  description:
    'Uploads a local file, or every regular file below a local directory (keeping relative paths, skipping ' +
    'symbolic links), with HTTP PUT, and returns {uploaded: [{path, url, bytes}]}. A single file goes to url ' +
    'itself unless url ends in "/"; directory files go below url. mode "webdav" uses a WebDAV client and creates ' +
    'missing collections first. Basic-auth credentials come from the worker environment (UPLOAD_USERNAME, ' +
    'UPLOAD_PASSWORD) when set, and only sent to origins listed in UPLOAD_ALLOWED_ORIGINS. With ' +
    'FLOW_HTTP_BLOCK_PRIVATE=1, loopback, link-local and private addresses are refused unless their origin is in ' +
    'FLOW_HTTP_PRIVATE_ORIGINS. 5xx and network failures are retried; other 4xx responses are not.',
  input,
  output,
  defaults: { timeout: '30m', heartbeat: '1m' },
  examples: [
    {
      title: 'Publish a release archive',
      with: {
        source: '${{ steps.build.output.archive }}',
        url: 'https://artifacts.example.com/releases/app/${{ vars.version }}/app.tar.gz',
      },
    },
    {
      title: 'Upload a documentation site to a WebDAV share',
      with: {
        source: '/srv/flow/worktrees/docs/site',
        url: 'https://dav.example.com/docs/${{ vars.version }}/',
        mode: 'webdav',
      },
    },
  ],
  async run(request, action) {
    const { deps, signal } = action;
    const base = new URL(request.url);
    if (request.mode === 'webdav' && base.search !== '') {
      throw ApplicationFailure.nonRetryable('url: a WebDAV url must not have a query string', 'InvalidActionInput');
    }
    const credentials = readCredentials(deps.env, base);
    // Every file goes to the origin of url (a PUT never follows redirects), so one check covers them all.
    try {
      await networkGuard(deps.env, 'deploy.http_upload').check(base);
    } catch (error) {
      throw error instanceof HostLookupError ? peerUnreachable(`deploy.http_upload: ${error.message}`) : error;
    }
    const plan = await planUploads(request.source, base);

    const uploaded: { path: string; url: string; bytes: number }[] = [];
    let sent = 0;
    let lastBeat = 0;
    const beat = (force: boolean): void => {
      if (!force && Date.now() - lastBeat < HEARTBEAT_INTERVAL_MS) return;
      lastBeat = Date.now();
      action.heartbeat({ uploaded: uploaded.length, files: plan.length, bytes_sent: sent });
    };
    const context: UploadContext = {
      deps,
      credentials,
      signal,
      onBytes: (bytes) => {
        sent += bytes;
        beat(false);
      },
    };
    const putFile =
      request.mode === 'webdav' ? await webdavUploader(base, context) : (file: PlannedUpload) => httpPut(file, context);
    for (const file of plan) {
      const bytes = await putFile(file);
      uploaded.push({ path: file.local, url: displayUrl(file.target), bytes });
      beat(true);
    }
    return { uploaded };
  },
});

/**
 * The worker's upload credentials, for origins listed in UPLOAD_ALLOWED_ORIGINS only: the url may come from event
 * data, and credentials must never follow it to a host nobody chose.
 */
function readCredentials(env: ActionDeps['env'], url: URL): Credentials | undefined {
  if (!env['UPLOAD_USERNAME'] && !env['UPLOAD_PASSWORD']) return undefined;
  const found = requireEnv(env, 'deploy.http_upload', ['UPLOAD_USERNAME', 'UPLOAD_PASSWORD', 'UPLOAD_ALLOWED_ORIGINS']);
  const allowed = found.UPLOAD_ALLOWED_ORIGINS.split(/[\s,]+/).filter(Boolean);
  if (!allowed.includes(url.origin)) {
    throw ApplicationFailure.nonRetryable(
      `the worker's upload credentials may only be sent to ${allowed.join(', ')}; add ${url.origin} to UPLOAD_ALLOWED_ORIGINS to upload there`,
      FailureType.MissingConfiguration,
    );
  }
  return { username: found.UPLOAD_USERNAME, password: found.UPLOAD_PASSWORD };
}

/** The files to upload and their target URLs, in a stable order. */
async function planUploads(source: string, base: URL): Promise<PlannedUpload[]> {
  let stats;
  try {
    stats = await fs.stat(source);
  } catch {
    throw ApplicationFailure.nonRetryable(`source: ${source} does not exist on the worker`, 'InvalidActionInput');
  }
  if (stats.isFile()) {
    if (!base.pathname.endsWith('/')) return [{ local: source, target: base }];
    return [{ local: source, target: below(base, [path.basename(source)]) }];
  }
  if (!stats.isDirectory()) {
    throw ApplicationFailure.nonRetryable(`source: ${source} is neither a file nor a directory`, 'InvalidActionInput');
  }
  const files: PlannedUpload[] = [];
  const walk = async (directory: string, segments: readonly string[]): Promise<void> => {
    const entries = await fs.readdir(directory, { withFileTypes: true });
    entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const entry of entries) {
      const local = path.join(directory, entry.name);
      // Only real files and directories: a symbolic link could publish a file from anywhere on the worker.
      if (entry.isDirectory()) await walk(local, [...segments, entry.name]);
      else if (entry.isFile()) {
        files.push({ local, target: below(base, [...segments, entry.name]) });
        if (files.length > MAX_FILES) {
          throw ApplicationFailure.nonRetryable(
            `source: ${source} holds more than ${MAX_FILES} files; upload an archive instead`,
            'InvalidActionInput',
          );
        }
      }
    }
  };
  await walk(source, []);
  return files;
}

/** The URL of a relative path below a base URL, each segment percent-encoded; the base's query is kept. */
function below(base: URL, segments: readonly string[]): URL {
  const target = new URL(base.href);
  const prefix = base.pathname.endsWith('/') ? base.pathname : `${base.pathname}/`;
  target.pathname = prefix + segments.map((segment) => encodeURIComponent(segment)).join('/');
  return target;
}

/** A URL without its query: pre-signed upload URLs carry their signature there, which must not reach history. */
function displayUrl(url: URL): string {
  return `${url.origin}${url.pathname}`;
}

/** Opens a file for streaming and reports its size, so the request can announce Content-Length. */
async function openForUpload(local: string, onBytes: (bytes: number) => void): Promise<[Readable, number]> {
  const handle = await fs.open(local, 'r');
  let size: number;
  try {
    ({ size } = await handle.stat());
  } catch (error) {
    await handle.close();
    throw error;
  }
  const stream = handle.createReadStream();
  stream.on('data', (chunk: Buffer | string) => onBytes(chunk.length));
  return [stream, size];
}

async function httpPut(file: PlannedUpload, context: UploadContext): Promise<number> {
  const [stream, size] = await openForUpload(file.local, context.onBytes);
  const headers = new Headers({ 'content-type': 'application/octet-stream', 'content-length': String(size) });
  if (context.credentials) headers.set('authorization', basicAuth(context.credentials));
  const what = `PUT ${displayUrl(file.target)}`;
  let response: Response;
  try {
    response = await context.deps.fetch(file.target, {
      method: 'PUT',
      headers,
      body: Readable.toWeb(stream) as ReadableStream<Uint8Array>,
      duplex: 'half',
      // Following a redirect would resend the file (and credentials) somewhere the definition did not name.
      redirect: 'manual',
      signal: context.signal,
    });
  } catch (error) {
    if (context.signal.aborted) throw context.signal.reason;
    throw peerUnreachable(`${what} failed: ${describe(error)}`);
  } finally {
    stream.destroy();
  }
  await response.body?.cancel();
  if (response.status >= 300 && response.status < 400) {
    throw ApplicationFailure.nonRetryable(
      `${what} answered ${response.status} (a redirect, not followed); point url at the final location`,
      FailureType.PeerRejected,
    );
  }
  if (response.status >= 400) throw failureForStatus(response.status, `${what} answered ${response.status}`);
  return size;
}

/** A function that uploads one file through a WebDAV client, creating the collections it needs first. */
async function webdavUploader(base: URL, context: UploadContext): Promise<(file: PlannedUpload) => Promise<number>> {
  // webdav is an ES module; loading it on first use keeps it out of workers that never upload over WebDAV.
  const { createClient } = await import('webdav');
  const client = createClient(base.origin, context.credentials ?? {});
  const existing = new Set<string>(['/']);
  return async (file) => {
    const remotePath = remotePathOf(file.target);
    const what = `WebDAV PUT ${displayUrl(file.target)}`;
    try {
      await ensureCollection(client, path.posix.dirname(remotePath), existing, context.signal);
      const [stream, size] = await openForUpload(file.local, context.onBytes);
      try {
        await client.putFileContents(remotePath, stream, {
          overwrite: true,
          headers: { 'Content-Length': String(size) },
          signal: context.signal,
        });
      } finally {
        stream.destroy();
      }
      return size;
    } catch (error) {
      if (context.signal.aborted) throw context.signal.reason;
      if (error instanceof ApplicationFailure) throw error;
      const status = (error as { status?: unknown }).status;
      if (typeof status === 'number') throw failureForStatus(status, `${what} answered ${status}`);
      throw peerUnreachable(`${what} failed: ${describe(error)}`);
    }
  };
}

/** The decoded path the WebDAV client expects (it encodes each segment itself). */
function remotePathOf(target: URL): string {
  try {
    return decodeURIComponent(target.pathname);
  } catch {
    throw ApplicationFailure.nonRetryable(
      `url: ${displayUrl(target)} holds an invalid percent-encoding`,
      'InvalidActionInput',
    );
  }
}

/**
 * Creates a collection and any missing parents. It looks upwards only until it finds one that exists, so nothing
 * above the url the definition names is touched when that exists already.
 */
async function ensureCollection(
  client: WebDAVClient,
  directory: string,
  existing: Set<string>,
  signal: AbortSignal,
): Promise<void> {
  const missing: string[] = [];
  for (let current = directory; !existing.has(current); current = path.posix.dirname(current)) {
    if (await client.exists(current, { signal })) break;
    missing.unshift(current);
  }
  for (const collection of missing) await client.createDirectory(collection, { signal });
  for (let current = directory; !existing.has(current); current = path.posix.dirname(current)) existing.add(current);
}

function basicAuth({ username, password }: Credentials): string {
  return `Basic ${Buffer.from(`${username}:${password}`).toString('base64')}`;
}

function describe(error: unknown): string {
  if (error instanceof Error) {
    const cause = (error as Error & { cause?: unknown }).cause;
    return cause instanceof Error ? `${error.message} (${cause.message})` : error.message;
  }
  return String(error);
}
