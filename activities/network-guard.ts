/**
 * An opt-in guard against requests to the worker's own network. A URL rendered from event data can name any host,
 * including ones only the worker can reach: its loopback interface, the cloud metadata service at 169.254.169.254
 * (which hands out the machine's credentials), or internal services in private ranges. With
 * `FLOW_HTTP_BLOCK_PRIVATE=1` the actions that contact URLs from step input (`http.request`, `deploy.http_upload`)
 * resolve each host first and refuse it when any of its addresses is in such a range. Origins the definitions are
 * meant to reach on the inside are listed in `FLOW_HTTP_PRIVATE_ORIGINS`.
 *
 * Off by default: in development and in tests the peers usually are local. The worker cannot tell at run time which
 * part of a rendered URL came from the event, so when the guard is on it checks every URL these actions contact,
 * and every redirect. It resolves the name itself just before the request, and the request resolves it again, so a
 * DNS server that answers differently within that moment could slip past it; an egress firewall closes that gap.
 */
import { ApplicationFailure } from '@temporalio/common';
import dns from 'node:dns/promises';
import net from 'node:net';
import { ConfigError, parseFlag } from '../config';
import { FailureType } from './failures';
import { readOriginList } from './secret-origins';

/** Worker environment variables of the guard, for the actions' `env` lists (docs/actions.md). */
export const NETWORK_GUARD_ENV = ['FLOW_HTTP_BLOCK_PRIVATE', 'FLOW_HTTP_PRIVATE_ORIGINS'] as const;

/** The failure type of a refused destination: non-retryable, since the same URL resolves the same way. */
export const PRIVATE_DESTINATION_REFUSED = 'PrivateDestinationRefused';

/** Resolves a host name to all of its addresses. */
export type ResolveHost = (hostname: string) => Promise<readonly string[]>;

/** A host name could not be resolved while checking it; the request would have failed the same way. */
export class HostLookupError extends Error {
  constructor(
    readonly hostname: string,
    cause: unknown,
  ) {
    super(`cannot resolve ${hostname}: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
    this.name = 'HostLookupError';
  }
}

/** Checks a destination before each request (and each redirect) of one action invocation. */
export interface NetworkGuard {
  readonly enabled: boolean;
  /**
   * Resolves to nothing when `url` may be contacted; throws a non-retryable `ApplicationFailure` when it is refused,
   * or {@link HostLookupError} when its host cannot be resolved.
   */
  check(url: URL): Promise<void>;
}

interface Range {
  readonly label: string;
  readonly list: net.BlockList;
}

function range(label: string, subnets: readonly (readonly [string, number])[]): Range {
  const list = new net.BlockList();
  for (const [address, prefix] of subnets) list.addSubnet(address, prefix, net.isIPv6(address) ? 'ipv6' : 'ipv4');
  return { label, list };
}

/**
 * The blocked ranges, each with the word a refusal uses for it. Link-local holds the metadata services of most clouds
 * (169.254.169.254, fd00:ec2::254 is in the private fc00::/7); carrier-grade NAT holds a few others (100.100.100.200).
 * IPv4 rules also match IPv4-mapped IPv6 addresses
 * (`::ffff:127.0.0.1`), which `net.BlockList` compares as IPv4.
 */
const BLOCKED: readonly Range[] = [
  range('loopback', [
    ['127.0.0.0', 8],
    ['::1', 128],
  ]),
  range('link-local', [
    ['169.254.0.0', 16],
    ['fe80::', 10],
  ]),
  range('private', [
    ['10.0.0.0', 8],
    ['172.16.0.0', 12],
    ['192.168.0.0', 16],
    ['fc00::', 7],
    ['fec0::', 10],
  ]),
  range('carrier-grade NAT', [['100.64.0.0', 10]]),
  range('unspecified', [
    ['0.0.0.0', 8],
    ['::', 128],
  ]),
  range('multicast or reserved', [
    ['224.0.0.0', 3],
    ['ff00::', 8],
  ]),
];

/** NAT64 addresses carry an IPv4 address in their last 32 bits, which decides where they lead. */
const NAT64 = range('NAT64', [['64:ff9b::', 96]]);

/** The kind of blocked range `address` (an IPv4 or IPv6 literal) is in, or undefined when it is not in one. */
export function blockedRange(address: string): string | undefined {
  const family = net.isIPv6(address) ? 'ipv6' : net.isIPv4(address) ? 'ipv4' : undefined;
  if (family === undefined) return undefined;
  if (family === 'ipv6' && NAT64.list.check(address, 'ipv6')) {
    const embedded = embeddedIpv4(address);
    return embedded === undefined ? undefined : blockedRange(embedded);
  }
  return BLOCKED.find((candidate) => candidate.list.check(address, family))?.label;
}

/**
 * Whether `FLOW_HTTP_BLOCK_PRIVATE` turns the guard on, parsed as config/ parses every flag; a value that is not a
 * flag fails the step as MissingConfiguration rather than leaving the guard off.
 */
export function blockPrivateEnabled(env: Readonly<Record<string, string | undefined>>): boolean {
  try {
    return parseFlag(env, 'FLOW_HTTP_BLOCK_PRIVATE');
  } catch (error) {
    if (error instanceof ConfigError) {
      throw ApplicationFailure.nonRetryable(
        `${error.message} Set it to 1 to refuse loopback, link-local and private addresses, or leave it unset.`,
        FailureType.MissingConfiguration,
      );
    }
    throw error;
  }
}

/** The guard for one action invocation, configured from the worker environment. */
export function networkGuard(
  env: Readonly<Record<string, string | undefined>>,
  action: string,
  resolve: ResolveHost = resolveAll,
): NetworkGuard {
  const enabled = blockPrivateEnabled(env);
  const allowed = enabled ? (readOriginList(env, 'FLOW_HTTP_PRIVATE_ORIGINS') ?? []) : [];
  return {
    enabled,
    async check(url) {
      if (!enabled || allowed.includes(url.origin)) return;
      // URL keeps IPv6 literals in brackets; WHATWG parsing has already turned 2130706433 or 0x7f.1 into 127.0.0.1.
      const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
      let addresses: readonly string[];
      if (net.isIP(host) !== 0) addresses = [host];
      else {
        try {
          addresses = await resolve(host);
        } catch (error) {
          throw new HostLookupError(host, error);
        }
      }
      for (const address of addresses) {
        const label = blockedRange(address);
        if (label === undefined) continue;
        throw ApplicationFailure.nonRetryable(
          `${action} refused ${url.origin}: ${host === address ? 'it is' : `${host} resolves to`} ${address}, a ` +
            `${label} address, and this worker blocks those (FLOW_HTTP_BLOCK_PRIVATE); if definitions may call this ` +
            `origin, add it to FLOW_HTTP_PRIVATE_ORIGINS`,
          PRIVATE_DESTINATION_REFUSED,
        );
      }
    },
  };
}

async function resolveAll(hostname: string): Promise<readonly string[]> {
  const found = await dns.lookup(hostname, { all: true, verbatim: true });
  return found.map((entry) => entry.address);
}

/** The IPv4 address in the last 32 bits of an IPv6 address, such as 169.254.169.254 in `64:ff9b::a9fe:a9fe`. */
function embeddedIpv4(address: string): string | undefined {
  const dotted = /(\d+\.\d+\.\d+\.\d+)$/.exec(address);
  if (dotted?.[1] !== undefined) return dotted[1];
  const [head = '', tail] = address.split('::');
  const before = head.split(':').filter(Boolean);
  const after = tail === undefined ? [] : tail.split(':').filter(Boolean);
  const groups = [...before, ...Array<string>(Math.max(0, 8 - before.length - after.length)).fill('0'), ...after];
  const [high, low] = groups.slice(6).map((group) => parseInt(group, 16));
  if (groups.length !== 8 || high === undefined || low === undefined || Number.isNaN(high) || Number.isNaN(low))
    return undefined;
  return [high >> 8, high & 0xff, low >> 8, low & 0xff].join('.');
}
