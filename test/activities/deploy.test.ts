import assert from 'node:assert/strict';
import fs from 'node:fs';
import type http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { v2 as webdav } from 'webdav-server';
import { deployHttpUpload } from '../../activities/actions/deploy-http-upload';
import { deployRsync } from '../../activities/actions/deploy-rsync';
import { HttpReceiver } from '../support/http-receiver';
import { runAction } from '../support/run-action';
import { failureOf } from '../support/failure-of';

const node = process.execPath;

/** Writes files (relative path → content) below a directory. */
function writeTree(root: string, files: Record<string, string>): void {
  for (const [relative, content] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(root, relative)), { recursive: true });
    fs.writeFileSync(path.join(root, relative), content);
  }
}

/** Every file below a directory as relative path → content, sorted. */
function readTree(root: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (directory: string): void => {
    for (const entry of fs.readdirSync(directory, { withFileTypes: true })) {
      const full = path.join(directory, entry.name);
      if (entry.isDirectory()) walk(full);
      else out[path.relative(root, full)] = fs.readFileSync(full, 'utf8');
    }
  };
  walk(root);
  return Object.fromEntries(Object.entries(out).sort(([a], [b]) => a.localeCompare(b)));
}

type RsyncOutput = { source: string; destination: string; files_transferred: number; output_tail: string };

/** Upload credentials for a url, with its origin allowed to receive them. */
function credentialsFor(url: string, password: string): Record<string, string> {
  return { UPLOAD_USERNAME: 'deployer', UPLOAD_PASSWORD: password, UPLOAD_ALLOWED_ORIGINS: new URL(url).origin };
}

describe('activities: deploy.rsync', () => {
  let dir: string;
  let source: string;
  let target: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'flow-deploy-'));
    source = path.join(dir, 'site');
    target = path.join(dir, 'target');
    writeTree(source, {
      'index.html': '<h1>release</h1>',
      'assets/app.js': 'console.log(1)',
      'assets/app.js.map': '{}',
      'debug.log': 'noise',
    });
    writeTree(target, { 'stale.html': 'old', 'keep.log': 'kept by exclude' });
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it("copies a directory's contents for real, respecting excludes and counting the files transferred", async () => {
    const result = (await runAction(deployRsync, {
      source: `${source}/`,
      destination: target,
      excludes: ['*.map', '*.log'],
    })) as RsyncOutput;
    assert.deepEqual(readTree(target), {
      'assets/app.js': 'console.log(1)',
      'index.html': '<h1>release</h1>',
      'keep.log': 'kept by exclude',
      'stale.html': 'old',
    });
    assert.equal(result.files_transferred, 2);
    assert.equal(result.source, `${source}/`);
    assert.equal(result.destination, target);
    assert.match(result.output_tail, /^>f\+{9} index\.html$/m);
    assert.match(result.output_tail, /^Number of regular files transferred: 2$/m);

    const again = (await runAction(deployRsync, { source: `${source}/`, destination: target })) as RsyncOutput;
    assert.equal(again.files_transferred, 2, 'the previously excluded files now transfer; the rest are unchanged');
    const third = (await runAction(deployRsync, { source: `${source}/`, destination: target })) as RsyncOutput;
    assert.equal(third.files_transferred, 0);
  });

  it('deletes destination files missing from the source only when delete is set, keeping excluded ones', async () => {
    await runAction(deployRsync, { source: `${source}/`, destination: target, excludes: ['*.log'] });
    assert.ok(fs.existsSync(path.join(target, 'stale.html')), 'delete defaults to false');
    await runAction(deployRsync, { source: `${source}/`, destination: target, excludes: ['*.log'], delete: true });
    assert.equal(fs.existsSync(path.join(target, 'stale.html')), false);
    assert.equal(fs.readFileSync(path.join(target, 'keep.log'), 'utf8'), 'kept by exclude');
    assert.ok(fs.existsSync(path.join(target, 'assets/app.js.map')));
  });

  it('changes nothing on a dry run but reports what would be transferred', async () => {
    const before = readTree(target);
    const result = (await runAction(deployRsync, {
      source: `${source}/`,
      destination: target,
      delete: true,
      dry_run: true,
    })) as RsyncOutput;
    assert.deepEqual(readTree(target), before);
    assert.equal(result.files_transferred, 4);
    assert.match(result.output_tail, /^\*deleting +stale\.html$/m);
  });

  it('copies the directory itself when the source has no trailing slash', async () => {
    await runAction(deployRsync, { source, destination: target, excludes: ['*.log', '*.map'] });
    assert.equal(fs.readFileSync(path.join(target, 'site', 'index.html'), 'utf8'), '<h1>release</h1>');
    assert.equal(fs.existsSync(path.join(target, 'index.html')), false);
  });

  it('reaches user@host:path destinations through the remote shell named by RSYNC_RSH in the worker env', async () => {
    // A stand-in for ssh: records how rsync called it, then runs the remote rsync command locally.
    const rsh = path.join(dir, 'fake-ssh.js');
    const calls = path.join(dir, 'rsh-calls.json');
    fs.writeFileSync(
      rsh,
      [
        `#!${node}`,
        `const args = process.argv.slice(2);`,
        `require('node:fs').writeFileSync(${JSON.stringify(calls)}, JSON.stringify(args));`,
        `const rest = args[0] === '-l' ? args.slice(3) : args.slice(1);`,
        `const child = require('node:child_process').spawn(rest[0], rest.slice(1), { stdio: 'inherit' });`,
        `child.on('exit', (code) => process.exit(code ?? 1));`,
      ].join('\n'),
      { mode: 0o755 },
    );
    const result = (await runAction(
      deployRsync,
      { source: `${source}/`, destination: `deployer@build-host:${target}`, excludes: ['*.log'] },
      { env: { RSYNC_RSH: rsh, PATH: process.env['PATH'] } },
    )) as RsyncOutput;
    assert.equal(result.files_transferred, 3);
    assert.equal(fs.readFileSync(path.join(target, 'assets/app.js'), 'utf8'), 'console.log(1)');
    const args = JSON.parse(fs.readFileSync(calls, 'utf8')) as string[];
    assert.deepEqual(args.slice(0, 5), ['-l', 'deployer', 'build-host', 'rsync', '--server']);
    assert.equal(args.at(-1), target);
  });

  it('fails retryably when the remote shell cannot connect (ssh exit 255) or the rsync stream breaks (exit 12)', async () => {
    // When the remote shell dies, rsync reports either the shell's 255 or its own 12 (protocol stream broken),
    // depending on which it notices first; both mean "the connection failed" and both must be retried.
    for (const shellExit of [255, 1]) {
      const rsh = path.join(dir, `broken-ssh-${shellExit}.js`);
      fs.writeFileSync(
        rsh,
        `#!${node}\nconsole.error('ssh: connect to host build-host port 22: Connection refused');\nprocess.exit(${shellExit});\n`,
        { mode: 0o755 },
      );
      const failure = await failureOf(
        runAction(
          deployRsync,
          { source: `${source}/`, destination: 'build-host:/srv/www' },
          { env: { RSYNC_RSH: rsh } },
        ),
      );
      assert.equal(failure.type, 'CommandFailed');
      assert.equal(failure.nonRetryable, false, `remote shell exit ${shellExit}`);
      assert.match(
        failure.message,
        /exited with code (255 \(the remote shell failed\)|12 \(error in the rsync protocol data stream\))/,
      );
      if (shellExit === 1) assert.match(failure.message, /exited with code 12/);
      assert.match(failure.message, /Connection refused/);
    }
  });

  it('fails without retrying on a local rsync error, quoting its output', async () => {
    fs.writeFileSync(path.join(dir, 'a-file'), 'x');
    const failure = await failureOf(
      runAction(deployRsync, { source: `${source}/`, destination: path.join(dir, 'a-file', 'sub') }),
    );
    assert.equal(failure.type, 'CommandFailed');
    assert.equal(failure.nonRetryable, true);
    assert.match(failure.message, /^\/usr\/bin\/rsync -a --stats --itemize-changes -- /);
    assert.match(failure.message, /exited with code 3 \(errors selecting input\/output files or directories\)/);
    assert.match(failure.message, /Not a directory/);
  });

  it('fails without running rsync when the source does not exist', async () => {
    const failure = await failureOf(
      runAction(deployRsync, { source: path.join(dir, 'missing/'), destination: target }),
    );
    assert.equal(failure.type, 'InvalidActionInput');
    assert.equal(failure.nonRetryable, true);
    assert.match(failure.message, /source: .*missing\/ does not exist on the worker/);
  });

  it('rejects destinations, sources and excludes that rsync or a remote shell could read as options or commands', async () => {
    const marker = path.join(dir, 'pwned');
    const before = readTree(target);
    const cases: [Record<string, unknown>, RegExp][] = [
      [{ destination: '-e sh x' }, /destination: must not start with "-"/],
      [{ destination: `--rsh=touch ${marker}` }, /destination: must not start with "-"/],
      [{ destination: `-oProxyCommand=touch ${marker}:/srv` }, /destination: must not start with "-"/],
      [{ destination: `deploy@-oProxyCommand=touch:/srv` }, /destination: host "-oProxyCommand=touch" must be/],
      [{ destination: 'evil host:/srv/www' }, /destination: host "evil host" must be a host name/],
      [{ destination: 'root;id@host:/srv' }, /destination: user "root;id" must be a plain user name/],
      [{ destination: `host:/srv; touch ${marker}` }, /destination: the remote path must be non-empty and hold only/],
      [{ destination: `host:$(touch ${marker})` }, /destination: the remote path must be non-empty/],
      [{ destination: 'host:`id`' }, /destination: the remote path must be non-empty/],
      [{ destination: 'host:--server' }, /destination: the remote path must not start with "-"/],
      [{ destination: 'host:' }, /destination: the remote path must be non-empty/],
      [{ destination: 'host:/srv/../etc' }, /destination: the remote path must not contain "\.\." segments/],
      [{ destination: 'host::module' }, /destination: rsync daemon destinations/],
      [{ destination: 'rsync://host/module' }, /destination: rsync daemon URLs/],
      [{ destination: 'relative/dir' }, /destination: must be an absolute local path, host:path or user@host:path/],
      [{ destination: `${target}/../..` }, /destination: must not contain "\.\." segments/],
      [{ destination: `${target}\0` }, /destination: must not contain NUL/],
      [{ source: '-rf' }, /source: must be an absolute path/],
      [{ source: `--files-from=${marker}` }, /source: must be an absolute path/],
      [{ source: 'site/' }, /source: must be an absolute path/],
      [{ source: `${source}/../../etc` }, /source: must not contain "\.\." segments/],
      [{ excludes: [`--rsh=touch ${marker}`] }, /excludes\.0: must not start with "-", "\+" or "!"/],
      [{ excludes: ['*.log', '-e'] }, /excludes\.1: must not start with "-"/],
      [{ excludes: ['+ secrets/'] }, /excludes\.0: must not start with/],
      [{ excludes: ['!'] }, /excludes\.0: must not start with/],
      [{ excludes: ['a\n- b'] }, /excludes\.0: must be a single line/],
      [{ rsync_options: ['-e', 'sh'] }, /rsync_options/],
    ];
    for (const [override, problem] of cases) {
      const input = { source: `${source}/`, destination: target, ...override };
      const failure = await failureOf(runAction(deployRsync, input));
      assert.equal(failure.type, 'InvalidActionInput', JSON.stringify(input));
      assert.equal(failure.nonRetryable, true);
      assert.match(failure.message, problem);
    }
    assert.deepEqual(readTree(target), before, 'no rejected step copied anything');
    assert.equal(fs.existsSync(marker), false);
  });
});

type UploadOutput = { uploaded: { path: string; url: string; bytes: number }[] };

describe('activities: deploy.http_upload', () => {
  let dir: string;
  let receiver: HttpReceiver;
  before(async () => {
    receiver = await HttpReceiver.start();
  });
  after(() => receiver.stop());
  beforeEach(() => {
    receiver.requests.length = 0;
    receiver.respondWith(() => ({ status: 201, body: null }));
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'flow-upload-'));
    writeTree(path.join(dir, 'site'), {
      'index.html': '<h1>1.2.3</h1>',
      'assets/logo v2.svg': '<svg/>',
      'docs/guide/intro.md': '# Intro\n',
    });
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('PUTs every file of a directory below the url, keeping relative paths, with basic auth from the worker env', async () => {
    const site = path.join(dir, 'site');
    const result = (await runAction(
      deployHttpUpload,
      { source: site, url: `${receiver.url}/releases/1.2.3` },
      { env: credentialsFor(`${receiver.url}/releases/1.2.3`, 'pa55') },
    )) as UploadOutput;
    const sent = receiver.requests.map((request) => ({
      method: request.method,
      path: request.path,
      body: request.body,
    }));
    assert.deepEqual(sent, [
      { method: 'PUT', path: '/releases/1.2.3/assets/logo%20v2.svg', body: '<svg/>' },
      { method: 'PUT', path: '/releases/1.2.3/docs/guide/intro.md', body: '# Intro\n' },
      { method: 'PUT', path: '/releases/1.2.3/index.html', body: '<h1>1.2.3</h1>' },
    ]);
    for (const request of receiver.requests) {
      assert.equal(request.headers['authorization'], `Basic ${Buffer.from('deployer:pa55').toString('base64')}`);
      assert.equal(request.headers['content-length'], String(Buffer.byteLength(request.body)));
    }
    assert.deepEqual(result.uploaded, [
      {
        path: path.join(site, 'assets/logo v2.svg'),
        url: `${receiver.url}/releases/1.2.3/assets/logo%20v2.svg`,
        bytes: 6,
      },
      {
        path: path.join(site, 'docs/guide/intro.md'),
        url: `${receiver.url}/releases/1.2.3/docs/guide/intro.md`,
        bytes: 8,
      },
      { path: path.join(site, 'index.html'), url: `${receiver.url}/releases/1.2.3/index.html`, bytes: 14 },
    ]);
  });

  it('PUTs a single file to the url itself, or below a url ending in "/", without credentials when none are set', async () => {
    const file = path.join(dir, 'site', 'index.html');
    await runAction(deployHttpUpload, { source: file, url: `${receiver.url}/artifacts/app-1.2.3.html?sig=abc` });
    const result = (await runAction(deployHttpUpload, {
      source: file,
      url: `${receiver.url}/latest/`,
    })) as UploadOutput;
    assert.deepEqual(
      receiver.requests.map((request) => request.path),
      ['/artifacts/app-1.2.3.html?sig=abc', '/latest/index.html'],
    );
    assert.equal(receiver.requests[0]?.body, '<h1>1.2.3</h1>');
    assert.equal(receiver.requests[0]?.headers['authorization'], undefined);
    assert.deepEqual(result.uploaded, [{ path: file, url: `${receiver.url}/latest/index.html`, bytes: 14 }]);
  });

  it('skips symbolic links, so a link cannot publish files from elsewhere on the worker', async () => {
    fs.writeFileSync(path.join(dir, 'secret.txt'), 'do not publish');
    fs.symlinkSync(path.join(dir, 'secret.txt'), path.join(dir, 'site', 'secret.txt'));
    fs.symlinkSync(dir, path.join(dir, 'site', 'parent'));
    await runAction(deployHttpUpload, { source: path.join(dir, 'site'), url: `${receiver.url}/r/` });
    assert.equal(receiver.requests.length, 3);
    assert.ok(receiver.requests.every((request) => !request.body.includes('do not publish')));
  });

  it('makes 503 retryable and 403 non-retryable, and does not follow redirects', async () => {
    for (const [status, retryable, type] of [
      [503, true, 'PeerUnavailable'],
      [403, false, 'PeerRejected'],
      [302, false, 'PeerRejected'],
    ] as const) {
      receiver.respondWith(() => ({ status, body: { error: 'x' } }));
      const failure = await failureOf(
        runAction(deployHttpUpload, {
          source: path.join(dir, 'site', 'index.html'),
          url: `${receiver.url}/up?sig=s3cr3t`,
        }),
      );
      assert.equal(failure.nonRetryable, !retryable, `status ${status}`);
      assert.equal(failure.type, type);
      assert.match(failure.message, new RegExp(`^PUT ${receiver.url}/up answered ${status}`));
      assert.doesNotMatch(failure.message, /s3cr3t/, 'the query (often a signature) stays out of messages');
    }
    assert.equal(receiver.requests.length, 3, 'the redirect was not followed');
  });

  it('treats an unreachable server as retryable', async () => {
    const failure = await failureOf(
      runAction(deployHttpUpload, { source: path.join(dir, 'site', 'index.html'), url: 'http://127.0.0.1:1/up' }),
    );
    assert.equal(failure.type, 'PeerUnavailable');
    assert.equal(failure.nonRetryable, false);
    assert.match(failure.message, /^PUT http:\/\/127\.0\.0\.1:1\/up failed: /);
  });

  it('needs both UPLOAD_USERNAME and UPLOAD_PASSWORD once either is set', async () => {
    const failure = await failureOf(
      runAction(
        deployHttpUpload,
        { source: path.join(dir, 'site'), url: `${receiver.url}/r/` },
        { env: { UPLOAD_USERNAME: 'deployer' } },
      ),
    );
    assert.equal(failure.type, 'MissingConfiguration');
    assert.match(failure.message, /UPLOAD_PASSWORD/);
    assert.equal(receiver.requests.length, 0);
  });

  it('never sends the worker credentials to an origin missing from UPLOAD_ALLOWED_ORIGINS', async () => {
    const failure = await failureOf(
      runAction(
        deployHttpUpload,
        { source: path.join(dir, 'site'), url: `${receiver.url}/r/` },
        { env: { ...credentialsFor('https://artifacts.example.com/', 'pa55') } },
      ),
    );
    assert.equal(failure.type, 'MissingConfiguration');
    assert.equal(failure.nonRetryable, true);
    assert.match(
      failure.message,
      /may only be sent to https:\/\/artifacts\.example\.com; add http:\/\/127\.0\.0\.1:\d+ to UPLOAD_ALLOWED_ORIGINS/,
    );
    assert.equal(receiver.requests.length, 0, 'nothing was sent');
  });

  it('refuses a private address with FLOW_HTTP_BLOCK_PRIVATE=1 unless its origin is in FLOW_HTTP_PRIVATE_ORIGINS', async () => {
    const input = { source: path.join(dir, 'site'), url: `${receiver.url}/guarded/` };
    const failure = await failureOf(runAction(deployHttpUpload, input, { env: { FLOW_HTTP_BLOCK_PRIVATE: '1' } }));
    assert.equal(failure.type, 'PrivateDestinationRefused');
    assert.equal(failure.nonRetryable, true);
    assert.equal(receiver.requests.length, 0, 'nothing was sent');
    await runAction(deployHttpUpload, input, {
      env: { FLOW_HTTP_BLOCK_PRIVATE: '1', FLOW_HTTP_PRIVATE_ORIGINS: receiver.url },
    });
    assert.ok(receiver.to('/guarded/').length > 0);
  });

  it('rejects unsafe sources and urls before uploading anything', async () => {
    const site = path.join(dir, 'site');
    const cases: [Record<string, unknown>, RegExp][] = [
      [{ source: '-rf' }, /source: must be an absolute path/],
      [{ source: 'site' }, /source: must be an absolute path/],
      [{ source: `${site}/../..` }, /source: must not contain "\.\." segments/],
      [{ url: 'ftp://127.0.0.1/up' }, /url: must be an http/],
      [{ url: '--upload-file=/etc/passwd' }, /url: /],
      [{ url: 'http://user:pw@127.0.0.1/up' }, /url: must not contain credentials/],
      [{ mode: 'scp' }, /mode: /],
      [{ password: 'inline' }, /password/],
    ];
    for (const [override, problem] of cases) {
      const input = { source: site, url: `${receiver.url}/r/`, ...override };
      const failure = await failureOf(runAction(deployHttpUpload, input));
      assert.equal(failure.type, 'InvalidActionInput', JSON.stringify(input));
      assert.match(failure.message, problem);
    }
    const missing = await failureOf(runAction(deployHttpUpload, { source: path.join(dir, 'nope'), url: receiver.url }));
    assert.equal(missing.type, 'InvalidActionInput');
    assert.match(missing.message, /does not exist on the worker/);
    assert.equal(receiver.requests.length, 0);
  });

  describe('mode webdav', () => {
    let davRoot: string;
    let server: webdav.WebDAVServer;
    let davUrl: string;
    beforeEach(async () => {
      davRoot = fs.mkdtempSync(path.join(os.tmpdir(), 'flow-dav-'));
      fs.mkdirSync(path.join(davRoot, 'shares'));
      const users = new webdav.SimpleUserManager();
      const deployer = users.addUser('deployer', 'pa55', false);
      const privileges = new webdav.SimplePathPrivilegeManager();
      privileges.setRights(deployer, '/', ['all']);
      server = new webdav.WebDAVServer({
        hostname: '127.0.0.1',
        port: 0,
        requireAuthentification: true,
        httpAuthentication: new webdav.HTTPBasicAuthentication(users, 'flow-test'),
        privilegeManager: privileges,
        rootFileSystem: new webdav.PhysicalFileSystem(davRoot),
      });
      const listening = await new Promise<http.Server | undefined>((resolve) => server.start(resolve));
      davUrl = `http://127.0.0.1:${(listening!.address() as AddressInfo).port}`;
    });
    afterEach(async () => {
      await server.stopAsync();
      fs.rmSync(davRoot, { recursive: true, force: true });
    });

    it('uploads a directory, creating missing nested collections, and the files exist on the server', async () => {
      const result = (await runAction(
        deployHttpUpload,
        { source: path.join(dir, 'site'), url: `${davUrl}/shares/docs/1.2.3/`, mode: 'webdav' },
        { env: credentialsFor(`${davUrl}/shares/docs/1.2.3/`, 'pa55') },
      )) as UploadOutput;
      assert.deepEqual(readTree(path.join(davRoot, 'shares')), {
        'docs/1.2.3/assets/logo v2.svg': '<svg/>',
        'docs/1.2.3/docs/guide/intro.md': '# Intro\n',
        'docs/1.2.3/index.html': '<h1>1.2.3</h1>',
      });
      assert.deepEqual(
        result.uploaded.map((file) => [file.url, file.bytes]),
        [
          [`${davUrl}/shares/docs/1.2.3/assets/logo%20v2.svg`, 6],
          [`${davUrl}/shares/docs/1.2.3/docs/guide/intro.md`, 8],
          [`${davUrl}/shares/docs/1.2.3/index.html`, 14],
        ],
      );

      // A second upload finds the collections in place and overwrites the files.
      fs.writeFileSync(path.join(dir, 'site', 'index.html'), '<h1>1.2.3 (rebuilt)</h1>');
      await runAction(
        deployHttpUpload,
        { source: path.join(dir, 'site'), url: `${davUrl}/shares/docs/1.2.3`, mode: 'webdav' },
        { env: credentialsFor(`${davUrl}/shares/docs/1.2.3`, 'pa55') },
      );
      assert.equal(
        fs.readFileSync(path.join(davRoot, 'shares/docs/1.2.3/index.html'), 'utf8'),
        '<h1>1.2.3 (rebuilt)</h1>',
      );
    });

    it('uploads a single file to the url itself', async () => {
      await runAction(
        deployHttpUpload,
        { source: path.join(dir, 'site', 'index.html'), url: `${davUrl}/shares/home.html`, mode: 'webdav' },
        { env: credentialsFor(`${davUrl}/shares/home.html`, 'pa55') },
      );
      assert.equal(fs.readFileSync(path.join(davRoot, 'shares/home.html'), 'utf8'), '<h1>1.2.3</h1>');
    });

    it('fails without retrying when the server rejects the credentials', async () => {
      const failure = await failureOf(
        runAction(
          deployHttpUpload,
          { source: path.join(dir, 'site'), url: `${davUrl}/shares/x/`, mode: 'webdav' },
          { env: credentialsFor(`${davUrl}/shares/x/`, 'wrong') },
        ),
      );
      assert.equal(failure.type, 'PeerRejected');
      assert.equal(failure.nonRetryable, true);
      assert.match(failure.message, /answered 401/);
      assert.equal(fs.existsSync(path.join(davRoot, 'shares/x')), false);
    });
  });
});
