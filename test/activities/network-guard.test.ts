import assert from 'node:assert/strict';
import { blockedRange, HostLookupError, networkGuard } from '../../activities/network-guard';
import { failureOf } from '../support/failure-of';

describe('activities: the network guard for URLs from step input', () => {
  it('names the blocked range of loopback, link-local, private and similar addresses, in every notation', () => {
    const cases: [string, string | undefined][] = [
      ['127.0.0.1', 'loopback'],
      ['127.255.0.9', 'loopback'],
      ['::1', 'loopback'],
      ['::ffff:127.0.0.1', 'loopback'],
      ['::ffff:7f00:1', 'loopback'],
      ['169.254.169.254', 'link-local'],
      ['fe80::1', 'link-local'],
      ['64:ff9b::a9fe:a9fe', 'link-local'],
      ['64:ff9b::169.254.169.254', 'link-local'],
      ['10.0.0.1', 'private'],
      ['172.16.0.1', 'private'],
      ['172.31.255.255', 'private'],
      ['192.168.1.10', 'private'],
      ['fd00:ec2::254', 'private'],
      ['fc00::1', 'private'],
      ['100.100.100.200', 'carrier-grade NAT'],
      ['0.0.0.0', 'unspecified'],
      ['::', 'unspecified'],
      ['224.0.0.251', 'multicast or reserved'],
      ['ff02::1', 'multicast or reserved'],
      ['172.32.0.1', undefined],
      ['8.8.8.8', undefined],
      ['::ffff:8.8.8.8', undefined],
      ['64:ff9b::808:808', undefined],
      ['2606:4700:4700::1111', undefined],
      ['not an address', undefined],
    ];
    for (const [address, expected] of cases) assert.equal(blockedRange(address), expected, address);
  });

  it('resolves a host name and refuses it when any of its addresses is blocked', async () => {
    const names: Record<string, string[]> = {
      'public.example': ['93.184.215.14', '2606:2800:21f:cb07:6820:80da:af6b:8b2c'],
      'sneaky.example': ['93.184.215.14', '169.254.169.254'],
    };
    const guard = networkGuard({ FLOW_HTTP_BLOCK_PRIVATE: 'yes' }, 'test.action', (host) =>
      names[host] ? Promise.resolve(names[host]) : Promise.reject(new Error(`getaddrinfo ENOTFOUND ${host}`)),
    );
    assert.equal(guard.enabled, true);
    await guard.check(new URL('https://public.example/hook'));
    const failure = await failureOf(guard.check(new URL('https://sneaky.example/hook')));
    assert.equal(failure.type, 'PrivateDestinationRefused');
    assert.match(
      failure.message,
      /test\.action refused https:\/\/sneaky\.example: sneaky\.example resolves to 169\.254\.169\.254, a link-local address/,
    );
    // WHATWG parsing turns the decimal and hex spellings of loopback into 127.0.0.1 before the guard sees them.
    for (const url of ['http://2130706433/', 'http://0x7f.1/', 'http://[::ffff:127.0.0.1]/']) {
      assert.equal((await failureOf(guard.check(new URL(url)))).type, 'PrivateDestinationRefused', url);
    }
    await assert.rejects(guard.check(new URL('https://missing.example/')), HostLookupError);
  });

  it('does nothing while FLOW_HTTP_BLOCK_PRIVATE is unset or 0, and skips origins in FLOW_HTTP_PRIVATE_ORIGINS', async () => {
    const resolveNothing = () => Promise.reject(new Error('must not resolve'));
    for (const env of [{}, { FLOW_HTTP_BLOCK_PRIVATE: '0' }, { FLOW_HTTP_BLOCK_PRIVATE: '' }]) {
      const guard = networkGuard(env, 'test.action', resolveNothing);
      assert.equal(guard.enabled, false);
      await guard.check(new URL('http://169.254.169.254/latest/meta-data/'));
    }
    const guard = networkGuard(
      { FLOW_HTTP_BLOCK_PRIVATE: '1', FLOW_HTTP_PRIVATE_ORIGINS: 'http://10.0.0.5:8080, https://git.internal' },
      'test.action',
      resolveNothing,
    );
    await guard.check(new URL('http://10.0.0.5:8080/api'));
    await guard.check(new URL('https://git.internal/repo'));
    const failure = await failureOf(guard.check(new URL('http://10.0.0.5:9090/api')));
    assert.equal(failure.type, 'PrivateDestinationRefused');
  });
});
