import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import {
  buildSubscriptionLinks,
  SUBSCRIPTION_LINK_LIFETIME_MS,
  verifySubscriptionLink,
} from '../../common/subscription-links';
import { deliveryId } from '../../common/subscriptions';

const SECRET = 'a-link-secret-of-at-least-32-characters';
const NOW = new Date('2030-01-01T00:00:00Z');
const tokenOf = (url: string): string => url.slice(url.lastIndexOf('/') + 1);

describe('common: signed subscription links', () => {
  const input = {
    publicUrl: 'https://flow.example.com/',
    secret: SECRET,
    subscription: 'alice-shop',
    deliveryId: deliveryId('alice-shop', 'jira-42/transition:7'),
    generation: 'gen-1',
    expiresAt: new Date(NOW.getTime() + 60_000),
  };

  it('builds an unsubscribe and a mute URL on the public URL that verify to what they name', () => {
    const links = buildSubscriptionLinks(input);
    assert.match(
      links.unsubscribe,
      /^https:\/\/flow\.example\.com\/subscriptions\/links\/[A-Za-z0-9_-]+\.[A-Za-z0-9_-]{22}$/,
    );
    assert.notEqual(links.unsubscribe, links.mute);
    const unsubscribe = verifySubscriptionLink(tokenOf(links.unsubscribe), SECRET, NOW);
    assert.ok(unsubscribe.ok);
    assert.deepEqual(unsubscribe.link, {
      action: 'unsubscribe',
      subscription: 'alice-shop',
      eventId: 'jira-42/transition:7',
      deliveryId: 'alice-shop/jira-42/transition:7',
      generation: 'gen-1',
      expiresAt: new Date(NOW.getTime() + 60_000),
    });
    const mute = verifySubscriptionLink(tokenOf(links.mute), SECRET, NOW);
    assert.ok(mute.ok);
    assert.equal(mute.link.action, 'mute');
    assert.notEqual(mute.useId, unsubscribe.useId);
    // The same input builds the same links (a retried activity), so their one use is shared.
    assert.deepEqual(buildSubscriptionLinks(input), links);
  });

  it('expires 90 days after it is built by default, and refuses an expired link', () => {
    const { mute } = buildSubscriptionLinks({ ...input, expiresAt: undefined });
    const check = verifySubscriptionLink(tokenOf(mute), SECRET);
    assert.ok(check.ok);
    const lifetime = check.link.expiresAt.getTime() - Date.now();
    assert.ok(
      lifetime > SUBSCRIPTION_LINK_LIFETIME_MS - 5_000 && lifetime <= SUBSCRIPTION_LINK_LIFETIME_MS,
      `${lifetime}`,
    );
    const token = tokenOf(buildSubscriptionLinks(input).mute);
    assert.deepEqual(verifySubscriptionLink(token, SECRET, new Date(NOW.getTime() + 60_000)), {
      ok: false,
      reason: 'expired',
    });
  });

  it('refuses another secret, a changed payload and a changed signature, including an equivalent spelling', () => {
    const token = tokenOf(buildSubscriptionLinks(input).unsubscribe);
    const [payload = '', signature = ''] = token.split('.');
    assert.deepEqual(verifySubscriptionLink(token, `${SECRET}x`, NOW), { ok: false, reason: 'signature' });

    // The payload re-signed by someone without the secret: another subscription, another action, a later expiry.
    const forged = Buffer.from(JSON.stringify([1, 'u', 'bob-shop', 'e', 'gen-1', 4102444800])).toString('base64url');
    assert.deepEqual(verifySubscriptionLink(`${forged}.${signature}`, SECRET, NOW), { ok: false, reason: 'signature' });
    const flipped = signature.startsWith('A') ? `B${signature.slice(1)}` : `A${signature.slice(1)}`;
    assert.deepEqual(verifySubscriptionLink(`${payload}.${flipped}`, SECRET, NOW), { ok: false, reason: 'signature' });
    // 22 base64url characters carry 132 bits for 128: the last one has spellings that decode alike. Only one passes.
    const last = signature.at(-1)!;
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
    const twin = alphabet[alphabet.indexOf(last) ^ 1]!;
    assert.deepEqual(Buffer.from(`${signature.slice(0, -1)}${twin}`, 'base64url'), Buffer.from(signature, 'base64url'));
    assert.deepEqual(verifySubscriptionLink(`${payload}.${signature.slice(0, -1)}${twin}`, SECRET, NOW), {
      ok: false,
      reason: 'signature',
    });
    assert.deepEqual(verifySubscriptionLink(`${payload}.${signature}x`, SECRET, NOW), {
      ok: false,
      reason: 'signature',
    });
  });

  it('refuses what is not a token, and a signed payload of the wrong shape', () => {
    for (const bad of ['', 'abc', 'a.b.c', 'a b.c', `${'a'.repeat(3000)}.b`, '%2e.x']) {
      assert.deepEqual(verifySubscriptionLink(bad, SECRET, NOW), { ok: false, reason: 'malformed' }, bad);
    }
    // The shape is checked only once the signature passes: sign these with the same derived key.
    const key = createHmac('sha256', SECRET).update('flow subscription links v1').digest();
    const sign = (fields: unknown): string => {
      const payload = Buffer.from(JSON.stringify(fields)).toString('base64url');
      return `${payload}.${createHmac('sha256', key).update(payload).digest().subarray(0, 16).toString('base64url')}`;
    };
    const later = Math.floor(NOW.getTime() / 1000) + 60;
    assert.ok(verifySubscriptionLink(sign([1, 'm', 's', 'e', 'g', later]), SECRET, NOW).ok, 'the helper signs alike');
    for (const fields of [
      [2, 'm', 's', 'e', 'g', later],
      [1, 'x', 's', 'e', 'g', later],
      [1, 'm', '', 'e', 'g', later],
      [1, 'm', 's/t', 'e', 'g', later],
      [1, 'm', 's', 'e', '', later],
      [1, 'm', 's', 'e', 'g', 'tomorrow'],
      [1, 'm', 's', 'e', 'g'],
      { a: 1 },
    ]) {
      assert.deepEqual(
        verifySubscriptionLink(sign(fields), SECRET, NOW),
        { ok: false, reason: 'malformed' },
        JSON.stringify(fields),
      );
    }
  });

  it('refuses to build a link for a delivery of another subscription, or without a generation', () => {
    assert.throws(() => buildSubscriptionLinks({ ...input, deliveryId: 'bob/e1' }), /is not one of subscription/);
    assert.throws(() => buildSubscriptionLinks({ ...input, generation: '' }), /has no generation/);
  });
});
