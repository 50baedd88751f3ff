import type { RunEventInput } from '../common/run-control';
import type { IntakeDeps } from './accept-event';

/** Emits one run lifecycle event through the intake, deduplicated per run and transition. */
export function emitRunEvent(_intake: IntakeDeps, _input: RunEventInput): Promise<void> {
  return Promise.reject(new Error('emitRunEvent is not built yet'));
}
