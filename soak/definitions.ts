import { SOAK_JOB } from './stack';

/** The events the soak sends. */
export const PING = { source: 'soak', type: 'ping' } as const;
export const REDELIVER = { source: 'soak', type: 'redeliver' } as const;
export const OUTAGE = { source: 'soak', type: 'outage' } as const;
export const PROBE = { source: 'soak', type: 'probe' } as const;
export const RELEASE = { source: 'soak', type: 'release' } as const;

/**
 * One step that tells the receiver which event it ran for: the receiver's count per event is what ran, so an event
 * counted twice ran twice, and one never counted was lost.
 */
export function pingDefinition(receiverUrl: string): Record<string, unknown> {
  return {
    id: 'soak-ping',
    name: 'Soak: one HTTP step per event',
    on: [PING, REDELIVER, OUTAGE, PROBE],
    steps: [
      {
        id: 'hit',
        action: 'http.request',
        with: { method: 'POST', url: `${receiverUrl}/hit`, json: { event: '${{ run.eventId }}' } },
      },
    ],
  };
}

/**
 * A small release against the local peers, one side effect of each kind the release toolbox has: a Jira comment, a
 * Slack message, a Jenkins build, a webhook call and an email, with a pause in the middle that keeps runs in flight
 * while the soak kills things. Each side effect names its event, so the peers' counts say what ran twice.
 */
export function releaseDefinition(receiverUrl: string): Record<string, unknown> {
  return {
    id: 'soak-release',
    name: 'Soak: a release against the local peers',
    on: [RELEASE],
    steps: [
      { id: 'comment', action: 'jira.comment', with: { issue: '${{ event.issue }}', text: 'Release started' } },
      {
        id: 'announce',
        action: 'slack.post_message',
        with: { channel: '#releases', text: 'Releasing ${{ event.issue }}' },
      },
      { id: 'pause', action: 'flow.sleep', with: { duration: '2s' } },
      {
        id: 'build',
        action: 'jenkins.trigger_build',
        with: { job: SOAK_JOB, parameters: { TICKET: '${{ event.issue }}' } },
      },
      {
        id: 'notify',
        action: 'http.request',
        with: { method: 'POST', url: `${receiverUrl}/release`, json: { event: '${{ run.eventId }}' } },
      },
      {
        id: 'mail',
        action: 'email.send',
        with: { to: ['stakeholders@example.com'], subject: 'Released ${{ event.issue }}', text: 'Done.' },
      },
    ],
  };
}
