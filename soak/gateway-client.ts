/** What the gateway answered to one POST of an event, or why nothing answered. */
export interface Answer {
  readonly status: number;
  readonly eventId?: string;
  readonly workflowId?: string;
  readonly duplicate?: boolean;
  readonly detail?: string;
}

/** Status 0: the request got no answer (connection refused or reset, or the soak's own timeout). */
export const NO_ANSWER = 0;

/** Talks to a gateway as any sender would: HTTP with the bearer token. */
export class GatewayClient {
  constructor(private readonly token: string) {}

  /** POSTs an event to `/events/:source/:type` of the gateway at `url`. */
  async postEvent(
    url: string,
    event: { readonly source: string; readonly type: string },
    body: object,
    idempotencyKey?: string,
  ): Promise<Answer> {
    const headers: Record<string, string> = {
      authorization: `Bearer ${this.token}`,
      'content-type': 'application/json',
    };
    if (idempotencyKey !== undefined) headers['idempotency-key'] = idempotencyKey;
    try {
      const response = await fetch(`${url}/events/${event.source}/${event.type}`, {
        method: 'POST',
        headers,
        body: JSON.stringify(body),
        signal: AbortSignal.timeout(60_000),
      });
      const json = (await response.json().catch(() => ({}))) as Omit<Answer, 'status'>;
      return { ...json, status: response.status };
    } catch (error) {
      return { status: NO_ANSWER, detail: error instanceof Error ? error.message : String(error) };
    }
  }

  /** Saves a definition through `PUT /api/definitions/:id`; throws with the gateway's problem when it refuses. */
  async saveDefinition(url: string, definition: Record<string, unknown>): Promise<void> {
    const response = await fetch(`${url}/api/definitions/${String(definition['id'])}`, {
      method: 'PUT',
      headers: { authorization: `Bearer ${this.token}`, 'content-type': 'application/json' },
      body: JSON.stringify(definition),
    });
    if (!response.ok)
      throw new Error(`saving definition ${String(definition['id'])}: ${response.status} ${await response.text()}`);
  }
}
