import net, { type AddressInfo } from 'node:net';

/**
 * A TCP relay on loopback that forwards every connection to a server on `127.0.0.1:<target>` and keeps every byte
 * the clients sent, so a test can prove what went over the wire (a password in clear text, or only after STARTTLS).
 */
export class WireTap {
  private readonly chunks: Buffer[] = [];
  private readonly sockets = new Set<net.Socket>();
  private readonly server: net.Server;

  constructor(target: number) {
    this.server = net.createServer((client) => {
      const upstream = net.connect(target, '127.0.0.1');
      for (const socket of [client, upstream]) {
        this.sockets.add(socket);
        socket.on('close', () => this.sockets.delete(socket));
        // One side failing closes the other; the test sees the failure through the client library.
        socket.on('error', () => {
          client.destroy();
          upstream.destroy();
        });
      }
      client.on('data', (chunk: Buffer) => this.chunks.push(chunk));
      client.pipe(upstream);
      upstream.pipe(client);
    });
  }

  async start(): Promise<this> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    return this;
  }

  get port(): number {
    return (this.server.address() as AddressInfo).port;
  }

  /** Everything clients have sent so far, as one buffer. */
  clientBytes(): Buffer {
    return Buffer.concat(this.chunks);
  }

  /** Forgets what was sent so far. */
  clear(): void {
    this.chunks.length = 0;
  }

  async stop(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
