import assert from 'node:assert/strict';
import { httpRequest } from '../../activities/actions/http-request';
import { failureOf } from '../support/failure-of';
import { HttpReceiver } from '../support/http-receiver';
import { runAction } from '../support/run-action';

/** Runs the real http.request activity with an activity context, against a real local HTTP server. */
function callHttp(input: unknown, env: Record<string, string> = {}): Promise<unknown> {
  return runAction(httpRequest, input, { env });
}

describe('activities: http.request', () => {
  let receiver: HttpReceiver;
  before(async () => {
    receiver = await HttpReceiver.start();
  });
  after(() => receiver.stop());
  beforeEach(() => {
    receiver.requests.length = 0;
  });

  it('sends method, query, headers and a JSON body, and parses a JSON response', async () => {
    receiver.respondWith(() => ({ status: 201, body: { created: true } }));
    const result = await callHttp({
      method: 'POST',
      url: `${receiver.url}/items`,
      query: { dry: true, n: 2 },
      headers: { 'X-Team': 'release' },
      json: { a: 1 },
    });
    assert.deepEqual((result as { status: number; body: unknown }).status, 201);
    assert.deepEqual((result as { body: unknown }).body, { created: true });
    const sent = receiver.requests[0]!;
    assert.equal(sent.path, '/items?dry=true&n=2');
    assert.equal(sent.headers['x-team'], 'release');
    assert.equal(sent.headers['content-type'], 'application/json');
    assert.deepEqual(sent.json, { a: 1 });
  });

  it('makes 5xx and 429 retryable and other 4xx non-retryable', async () => {
    for (const [status, retryable] of [
      [503, true],
      [429, true],
      [404, false],
      [400, false],
    ] as const) {
      receiver.respondWith(() => ({ status, body: { error: 'x' } }));
      const failure = await failureOf(callHttp({ url: `${receiver.url}/s` }));
      assert.equal(failure.nonRetryable, !retryable, `status ${status}`);
      assert.equal(failure.type, retryable ? 'HttpServerError' : 'HttpClientError');
      assert.match(failure.message, new RegExp(`answered ${status}$`));
    }
  });

  it('reads secret headers from FLOW_SECRET_* in the worker environment, and fails clearly when one is missing', async () => {
    receiver.respondWith(() => undefined);
    await callHttp(
      { url: `${receiver.url}/auth`, secret_headers: { Authorization: 'TRACKER_TOKEN' } },
      { FLOW_SECRET_TRACKER_TOKEN: 'Bearer s3cret', FLOW_SECRET_TRACKER_TOKEN_ORIGINS: receiver.url },
    );
    assert.equal(receiver.requests[0]?.headers['authorization'], 'Bearer s3cret');
    const failure = await failureOf(
      callHttp({ url: `${receiver.url}/auth`, secret_headers: { Authorization: 'OTHER' } }),
    );
    assert.equal(failure.type, 'MissingSecret');
    assert.equal(failure.nonRetryable, true);
    assert.match(failure.message, /FLOW_SECRET_OTHER, which is not set/);
  });

  it('refuses to send a secret whose FLOW_SECRET_<NAME>_ORIGINS is unset, naming the variable and origin but never the value', async () => {
    receiver.respondWith(() => undefined);
    const failure = await failureOf(
      callHttp(
        { url: `${receiver.url}/auth`, secret_headers: { 'X-Api-Key': 'TRACKER_TOKEN' } },
        { FLOW_SECRET_TRACKER_TOKEN: 'key-4242-secret' },
      ),
    );
    assert.equal(failure.type, 'SecretOriginRefused');
    assert.equal(failure.nonRetryable, true);
    assert.match(failure.message, /FLOW_SECRET_TRACKER_TOKEN/);
    assert.match(failure.message, /FLOW_SECRET_TRACKER_TOKEN_ORIGINS is not set/);
    assert.ok(failure.message.includes(receiver.url), failure.message);
    assert.ok(!failure.message.includes('key-4242-secret'), failure.message);
    assert.equal(receiver.requests.length, 0, 'nothing was sent');
  });

  it('refuses a secret for an origin its list does not name, and rejects a malformed list', async () => {
    receiver.respondWith(() => undefined);
    const refused = await failureOf(
      callHttp(
        { url: `${receiver.url}/auth`, secret_headers: { Authorization: 'TRACKER_TOKEN' } },
        {
          FLOW_SECRET_TRACKER_TOKEN: 'Bearer s3cret',
          FLOW_SECRET_TRACKER_TOKEN_ORIGINS: 'https://tracker.example, https://other.example:8443',
        },
      ),
    );
    assert.equal(refused.type, 'SecretOriginRefused');
    assert.match(refused.message, /may only be sent to https:\/\/tracker\.example, https:\/\/other\.example:8443/);
    assert.ok(!refused.message.includes('s3cret'));
    const malformed = await failureOf(
      callHttp(
        { url: `${receiver.url}/auth`, secret_headers: { Authorization: 'TRACKER_TOKEN' } },
        { FLOW_SECRET_TRACKER_TOKEN: 'Bearer s3cret', FLOW_SECRET_TRACKER_TOKEN_ORIGINS: `${receiver.url}/api` },
      ),
    );
    assert.equal(malformed.type, 'MissingConfiguration');
    assert.match(malformed.message, /FLOW_SECRET_TRACKER_TOKEN_ORIGINS holds .*, which is not an origin/);
    assert.equal(receiver.requests.length, 0);
  });

  it('refuses secret_headers that name an _ORIGINS list instead of a secret', async () => {
    const failure = await failureOf(
      callHttp({ url: `${receiver.url}/auth`, secret_headers: { Authorization: 'TRACKER_TOKEN_ORIGINS' } }),
    );
    assert.equal(failure.type, 'InvalidActionInput');
    assert.match(failure.message, /not the _ORIGINS list/);
  });

  describe('redirects', () => {
    let other: HttpReceiver;
    before(async () => {
      other = await HttpReceiver.start();
    });
    after(() => other.stop());
    beforeEach(() => {
      other.requests.length = 0;
      other.respondWith(() => undefined);
    });

    const secretEnv = (): Record<string, string> => ({
      FLOW_SECRET_TRACKER_TOKEN: 'Bearer tracker-s3cret',
      FLOW_SECRET_TRACKER_KEY: 'key-s3cret-value',
      FLOW_SECRET_TRACKER_TOKEN_ORIGINS: receiver.url,
      FLOW_SECRET_TRACKER_KEY_ORIGINS: `${receiver.url},${other.url}`,
    });
    const withSecrets = { Authorization: 'TRACKER_TOKEN', 'X-Api-Key': 'TRACKER_KEY' };

    it('never forwards a secret header to another origin: a redirect there drops all of them', async () => {
      receiver.respondWith((req) =>
        req.path === '/start' ? { status: 302, headers: { location: `${other.url}/landing` } } : undefined,
      );
      const result = (await callHttp(
        { url: `${receiver.url}/start`, headers: { 'X-Team': 'release' }, secret_headers: withSecrets },
        secretEnv(),
      )) as { status: number };
      assert.equal(result.status, 200);
      assert.equal(receiver.requests[0]?.headers['x-api-key'], 'key-s3cret-value', 'the first origin gets them');
      const landed = other.requests[0];
      assert.ok(landed, 'the redirect was followed');
      assert.equal(landed.path, '/landing');
      // X-Api-Key is dropped too, although its own list names this origin: a redirect is not the definition's choice.
      assert.equal(landed.headers['x-api-key'], undefined);
      assert.equal(landed.headers['authorization'], undefined);
      assert.equal(landed.headers['x-team'], 'release', 'ordinary headers still go');
      assert.ok(!JSON.stringify(landed.headers).includes('s3cret'));
    });

    it('keeps secret headers on a redirect within the origin, and drops them for good once a redirect has left it', async () => {
      receiver.respondWith((req) => {
        if (req.path === '/old') return { status: 308, headers: { location: '/new' } };
        if (req.path === '/away') return { status: 307, headers: { location: `${other.url}/bounce` } };
        return undefined;
      });
      other.respondWith(() => ({ status: 302, headers: { location: `${receiver.url}/back` } }));
      await callHttp({ url: `${receiver.url}/old`, secret_headers: withSecrets }, secretEnv());
      assert.equal(receiver.to('/new')[0]?.headers['authorization'], 'Bearer tracker-s3cret');
      await callHttp({ url: `${receiver.url}/away`, secret_headers: withSecrets }, secretEnv());
      assert.equal(other.to('/bounce')[0]?.headers['authorization'], undefined);
      const back = receiver.to('/back')[0];
      assert.ok(back, 'the chain came back to the first origin');
      assert.equal(back.headers['authorization'], undefined, 'a secret does not come back with the redirect');
      assert.equal(back.headers['x-api-key'], undefined);
    });

    it('turns a POST into a GET without the body on 303, and keeps method and body on 307', async () => {
      receiver.respondWith((req) => {
        if (req.path === '/see-other') return { status: 303, headers: { location: '/result' } };
        if (req.path === '/temporary') return { status: 307, headers: { location: '/again' } };
        return undefined;
      });
      await callHttp({ method: 'POST', url: `${receiver.url}/see-other`, json: { a: 1 } });
      const result = receiver.to('/result')[0]!;
      assert.equal(result.method, 'GET');
      assert.equal(result.body, '');
      assert.equal(result.headers['content-type'], undefined);
      await callHttp({ method: 'POST', url: `${receiver.url}/temporary`, json: { a: 2 } });
      const again = receiver.to('/again')[0]!;
      assert.equal(again.method, 'POST');
      assert.deepEqual(again.json, { a: 2 });
    });

    it('stops after 5 redirects, and refuses a redirect to a scheme other than http(s)', async () => {
      receiver.respondWith((req) =>
        req.path.startsWith('/loop')
          ? { status: 302, headers: { location: `/loop${receiver.requests.length}` } }
          : { status: 301, headers: { location: 'file:///etc/passwd' } },
      );
      const loop = await failureOf(callHttp({ url: `${receiver.url}/loop` }));
      assert.equal(loop.type, 'HttpTooManyRedirects');
      assert.equal(loop.nonRetryable, true);
      assert.equal(receiver.to('/loop').length, 6, 'the first request and 5 redirects');
      const file = await failureOf(callHttp({ url: `${receiver.url}/file` }));
      assert.equal(file.type, 'HttpRedirectRefused');
      assert.match(file.message, /a file: URL/);
    });

    it('returns a 3xx without a Location as the answer', async () => {
      receiver.respondWith(() => ({ status: 304, body: null }));
      const result = (await callHttp({ url: `${receiver.url}/cached` })) as { status: number };
      assert.equal(result.status, 304);
    });
  });

  describe('the private-address guard (FLOW_HTTP_BLOCK_PRIVATE)', () => {
    it('is off by default, so local peers keep working', async () => {
      receiver.respondWith(() => undefined);
      const result = (await callHttp({ url: `${receiver.url}/local` })) as { status: number };
      assert.equal(result.status, 200);
    });

    it('refuses loopback addresses, literal or resolved from a name, before sending anything', async () => {
      const port = new URL(receiver.url).port;
      for (const url of [`${receiver.url}/x`, `http://localhost:${port}/x`, `http://[::1]:${port}/x`]) {
        const failure = await failureOf(callHttp({ url }, { FLOW_HTTP_BLOCK_PRIVATE: '1' }));
        assert.equal(failure.type, 'PrivateDestinationRefused', url);
        assert.equal(failure.nonRetryable, true);
        assert.match(failure.message, /a loopback address/);
        assert.match(failure.message, /FLOW_HTTP_PRIVATE_ORIGINS/);
      }
      const metadata = await failureOf(
        callHttp({ url: 'http://169.254.169.254/latest/meta-data/' }, { FLOW_HTTP_BLOCK_PRIVATE: 'true' }),
      );
      assert.match(metadata.message, /169\.254\.169\.254, a link-local address/);
      assert.equal(receiver.requests.length, 0);
    });

    it('lets origins in FLOW_HTTP_PRIVATE_ORIGINS through, and checks every redirect', async () => {
      const other = await HttpReceiver.start();
      try {
        receiver.respondWith((req) =>
          req.path === '/hop' ? { status: 302, headers: { location: `${other.url}/inside` } } : undefined,
        );
        const env = { FLOW_HTTP_BLOCK_PRIVATE: '1', FLOW_HTTP_PRIVATE_ORIGINS: receiver.url };
        const allowed = (await callHttp({ url: `${receiver.url}/ok` }, env)) as { status: number };
        assert.equal(allowed.status, 200);
        const failure = await failureOf(callHttp({ url: `${receiver.url}/hop` }, env));
        assert.equal(failure.type, 'PrivateDestinationRefused');
        assert.ok(failure.message.includes(other.url), failure.message);
        assert.equal(other.requests.length, 0, 'the redirect target got nothing');
      } finally {
        await other.stop();
      }
    });

    it('fails as MissingConfiguration on a value it does not understand', async () => {
      const failure = await failureOf(callHttp({ url: `${receiver.url}/x` }, { FLOW_HTTP_BLOCK_PRIVATE: 'maybe' }));
      assert.equal(failure.type, 'MissingConfiguration');
      assert.match(failure.message, /FLOW_HTTP_BLOCK_PRIVATE="maybe" must be true or false/);
    });
  });

  it('fails without retrying on invalid input, naming the field', async () => {
    const failure = await failureOf(callHttp({ url: 'ftp://example.com/file', method: 'FETCH' }));
    assert.equal(failure.type, 'InvalidActionInput');
    assert.equal(failure.nonRetryable, true);
    assert.match(failure.message, /url: must be an http/);
    assert.match(failure.message, /method: /);
  });

  it('treats an unreachable host as a retryable network error', async () => {
    const failure = await failureOf(callHttp({ url: 'http://127.0.0.1:1/nothing', timeout: '2s' }));
    assert.equal(failure.type, 'HttpNetworkError');
    assert.equal(failure.nonRetryable, false);
  });

  it('refuses response bodies too large for workflow history', async () => {
    receiver.respondWith(() => ({ status: 200, body: 'x'.repeat(1024 * 1024 + 10) }));
    const failure = await failureOf(callHttp({ url: `${receiver.url}/big` }));
    assert.equal(failure.type, 'HttpResponseTooLarge');
  });
});
