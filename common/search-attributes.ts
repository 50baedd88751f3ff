import { defineSearchAttributeKey, SearchAttributeType, type SearchAttributePair } from '@temporalio/common';

/**
 * The custom search attributes Flow sets on every run, so release managers can filter runs in the Temporal UI
 * (for example `FlowDefinition = "start-release"`).
 */
export const flowSearchAttributes = {
  FlowDefinition: defineSearchAttributeKey('FlowDefinition', SearchAttributeType.KEYWORD),
  FlowRevision: defineSearchAttributeKey('FlowRevision', SearchAttributeType.INT),
  FlowSource: defineSearchAttributeKey('FlowSource', SearchAttributeType.KEYWORD),
  FlowEventType: defineSearchAttributeKey('FlowEventType', SearchAttributeType.KEYWORD),
  FlowEventId: defineSearchAttributeKey('FlowEventId', SearchAttributeType.KEYWORD),
  /**
   * On an event's dispatcher: how many runs the event started or woke. Set only to 0, by dispatchers that matched
   * nothing (`FlowMatchedRuns = 0` lists them; `GET /api/events/unmatched`); absent on the others.
   */
  FlowMatchedRuns: defineSearchAttributeKey('FlowMatchedRuns', SearchAttributeType.INT),
} as const;

/** The search attributes of one definition's run for one event. */
export function runSearchAttributes(
  definitionId: string,
  revision: number,
  event: { readonly id: string; readonly source: string; readonly type: string },
): SearchAttributePair[] {
  return [
    { key: flowSearchAttributes.FlowDefinition, value: definitionId },
    { key: flowSearchAttributes.FlowRevision, value: revision },
    { key: flowSearchAttributes.FlowSource, value: event.source },
    { key: flowSearchAttributes.FlowEventType, value: event.type },
    { key: flowSearchAttributes.FlowEventId, value: event.id },
  ];
}

/** Names of Flow's search attributes with the type names the Temporal CLI's `--search-attribute` flag expects. */
export function searchAttributeCliSpecs(): string[] {
  return Object.values(flowSearchAttributes).map((key) => `${key.name}=${cliTypeName(key.type)}`);
}

function cliTypeName(type: SearchAttributeType): string {
  switch (type) {
    case SearchAttributeType.KEYWORD:
      return 'Keyword';
    case SearchAttributeType.TEXT:
      return 'Text';
    case SearchAttributeType.INT:
      return 'Int';
    case SearchAttributeType.DOUBLE:
      return 'Double';
    case SearchAttributeType.BOOL:
      return 'Bool';
    case SearchAttributeType.DATETIME:
      return 'Datetime';
    case SearchAttributeType.KEYWORD_LIST:
      return 'KeywordList';
  }
}
