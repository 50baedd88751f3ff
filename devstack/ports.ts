import fs from 'node:fs';
import net from 'node:net';

/** True when nothing accepts TCP connections on `host:port`. */
export function isPortFree(port: number, host = '127.0.0.1'): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once('error', () => resolve(false));
    server.listen(port, host, () => server.close(() => resolve(true)));
  });
}

/** The kernel's range for ephemeral ports (what `listen(0)` and outgoing connections get). */
function ephemeralRange(): [number, number] {
  try {
    const [low, high] = fs
      .readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8')
      .trim()
      .split(/\s+/)
      .map(Number);
    if (Number.isInteger(low) && Number.isInteger(high) && low! <= high!) return [low!, high!];
  } catch {
    // Not Linux: fall back to the IANA dynamic range, which most other systems use.
  }
  return [49152, 65535];
}

/** Ports this process has handed out, so two calls never return the same one. */
const handedOut = new Set<number>();

/**
 * A currently unused TCP port on loopback, for a process that will bind it later.
 *
 * The port is taken from outside the kernel's ephemeral range: a port the kernel hands to `listen(0)` is free again
 * once probed, and another process asking the kernel for "any port" in the meantime (the Temporal dev server picks
 * several that way while it starts) could be given it before the intended process binds it.
 */
export async function findFreePort(host = '127.0.0.1'): Promise<number> {
  const [low, high] = ephemeralRange();
  const [from, to] = low - 1 >= 12_000 ? [10_000, low - 1] : [high + 1, 65_535];
  for (let attempt = 0; attempt < 200 && to > from; attempt++) {
    const port = from + Math.floor(Math.random() * (to - from + 1));
    if (handedOut.has(port)) continue;
    if (await isPortFree(port, host)) {
      handedOut.add(port);
      return port;
    }
  }
  return kernelPort(host);
}

function kernelPort(host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, host, () => {
      const address = server.address();
      server.close(() =>
        address && typeof address === 'object' ? resolve(address.port) : reject(new Error('no port')),
      );
    });
  });
}
