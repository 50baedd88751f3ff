/**
 * A source adapter maps one tool's native webhook request to a Flow event. Adapters are pure functions of the
 * request; authentication (HMAC signatures, tokens), size limits, deduplication and dispatch are the router's job.
 */

/** The parts of an HTTP request an adapter may read. */
export interface WebhookRequest {
  /** Header names in lowercase. */
  readonly headers: Readonly<Record<string, string | undefined>>;
  /** The parsed JSON body (always a JSON object; the router rejects anything else first). */
  readonly body: Readonly<Record<string, unknown>>;
}

/** What an adapter makes of a request. */
export type AdapterResult =
  | {
      readonly kind: 'event';
      /** The Flow event type, such as `issue_transitioned` or `push`. */
      readonly type: string;
      /** The product's own delivery id, when it sends one; the router falls back to a hash of the body. */
      readonly deliveryKey?: string;
      /** The normalized fields definitions read as `event.<field>`; the router adds `raw` (the original payload). */
      readonly body: Readonly<Record<string, unknown>>;
      /** The product's id of the user who caused the event (Jira's account id, a GitHub login), when it names one. */
      readonly actor?: string;
    }
  /** A well-formed request that is not an event Flow handles (such as GitHub's `ping`): answered 200, nothing started. */
  | { readonly kind: 'ignored'; readonly reason: string }
  /** A malformed request: answered 400 (or 422) with `detail`, which must name the problem. */
  | { readonly kind: 'invalid'; readonly status: 400 | 422; readonly detail: string };

/** How a source authenticates its deliveries. */
export type WebhookAuth =
  /** HMAC-SHA256 of the raw body with the source's secret, sent as `<prefix><hex>` in `header`. */
  | { readonly kind: 'hmac-sha256'; readonly header: string; readonly prefix: string }
  /** The secret itself, sent in `header` (GitLab's `X-Gitlab-Token`). */
  | { readonly kind: 'token'; readonly header: string };

/** One webhook source: `POST /webhooks/<source>`. */
export interface WebhookAdapter {
  /** The source name in URLs, event ids and `FLOW_WEBHOOK_SECRET_<SOURCE>`. */
  readonly source: string;
  readonly auth: WebhookAuth;
  normalize(request: WebhookRequest): AdapterResult;
}
