import type { Responder } from './http-receiver';

/**
 * Gates for requests to `/hold/<name>`: such a request waits at the receiver until the test opens its gate, so a
 * step (and the run, and its train) stays busy for exactly as long as a test needs.
 */
export class Gates {
  private readonly opened = new Set<string>();
  private readonly waiters = new Map<string, (() => void)[]>();

  /** The receiver's responder: holds `/hold/<name>` requests until their gate opens, answers others at once. */
  readonly responder: Responder = async (request) => {
    const name = /^\/hold\/([^/?]+)/.exec(request.path)?.[1];
    if (name) await this.wait(name);
    return undefined;
  };

  wait(name: string): Promise<void> {
    if (this.opened.has(name)) return Promise.resolve();
    return new Promise((resolve) => this.waiters.set(name, [...(this.waiters.get(name) ?? []), resolve]));
  }

  open(name: string): void {
    this.opened.add(name);
    for (const resolve of this.waiters.get(name) ?? []) resolve();
    this.waiters.delete(name);
  }

  /** Lets every held request go (in `after`, so nothing hangs). */
  openAll(): void {
    for (const name of this.waiters.keys()) this.open(name);
  }
}
