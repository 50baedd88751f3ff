/**
 * Secrets bound to origins. A `FLOW_SECRET_<NAME>` value may only be sent to the origins listed in
 * `FLOW_SECRET_<NAME>_ORIGINS` (such as `https://tracker.example,https://other:8443`); without that list it is sent
 * nowhere. A step's URL may come from event data, and a credential must never follow it to a host nobody chose: the
 * binding is the worker operator's decision, made where the secret itself is configured.
 */
import { ApplicationFailure } from '@temporalio/common';
import { FailureType } from './failures';

/** The failure type of a secret refused for an origin; non-retryable, since only an operator can change the list. */
export const SECRET_ORIGIN_REFUSED = 'SecretOriginRefused';

/** The variable listing the origins a secret variable may be sent to: `FLOW_SECRET_X` → `FLOW_SECRET_X_ORIGINS`. */
export function originsVariable(secretVariable: string): string {
  return `${secretVariable}_ORIGINS`;
}

/** True for a variable that lists a secret's origins; its value is configuration, not a credential. */
export function isOriginsVariable(name: string): boolean {
  return /^FLOW_SECRET_[A-Z0-9_]+_ORIGINS$/i.test(name);
}

/**
 * Reads a list of origins (`scheme://host[:port]`, separated by commas or whitespace) from the worker environment.
 * Undefined when the variable is unset or empty. An entry with a path, query, credentials or another scheme than
 * http(s) is a configuration error, so a typo never silently allows or refuses more than meant.
 */
export function readOriginList(
  env: Readonly<Record<string, string | undefined>>,
  variable: string,
): readonly string[] | undefined {
  const value = env[variable]?.trim();
  if (!value) return undefined;
  return value.split(/[\s,]+/).map((entry) => {
    const origin = originOf(entry);
    if (origin === undefined) {
      throw ApplicationFailure.nonRetryable(
        `${variable} holds "${entry}", which is not an origin; list origins such as https://tracker.example or ` +
          'http://10.0.0.5:8080 (scheme, host and port only), separated by commas',
        FailureType.MissingConfiguration,
      );
    }
    return origin;
  });
}

/**
 * Fails unless the secret in `secretVariable` may be sent to `url`'s origin. The message names the secret's variable,
 * the origin and what to set; never the secret's value. `field` says which part of the step asked for the secret.
 */
export function requireSecretOrigin(
  env: Readonly<Record<string, string | undefined>>,
  secretVariable: string,
  url: URL,
  field: string,
): void {
  const listVariable = originsVariable(secretVariable);
  const allowed = readOriginList(env, listVariable);
  if (allowed?.includes(url.origin)) return;
  const reason =
    allowed === undefined
      ? `${listVariable} is not set, so it is sent nowhere; set ${listVariable}=${url.origin} on the worker if this ` +
        'origin may receive it'
      : `it may only be sent to ${allowed.join(', ')} (${listVariable}); add ${url.origin} there if this origin may ` +
        'receive it';
  throw ApplicationFailure.nonRetryable(
    `${field}: the worker refused to send ${secretVariable} to ${url.origin}: ${reason}`,
    SECRET_ORIGIN_REFUSED,
  );
}

/** `https://Tracker.example:443/` → `https://tracker.example`; undefined unless the entry is an http(s) origin. */
function originOf(entry: string): string | undefined {
  if (!URL.canParse(entry)) return undefined;
  const url = new URL(entry);
  const bare =
    /^https?:$/.test(url.protocol) &&
    url.username === '' &&
    url.password === '' &&
    url.pathname === '/' &&
    url.search === '' &&
    url.hash === '' &&
    !/[?#]/.test(entry);
  return bare ? url.origin : undefined;
}
