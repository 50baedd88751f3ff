/**
 * The registry: Flow's MongoDB store, which maps events to workflow definitions, plus the validation every
 * definition passes before it is stored. Store code stays within what both MongoDB 6+ and FerretDB v1 support: no
 * transactions, change streams, TTL indexes, `$lookup` or collation.
 */
export { MongoHandle, openMongo, pingMongo } from './mongo';
export { DefinitionStore, DefinitionDeletedError, RevisionConflictError } from './definitions-store';
export { EventIndex, type EventIndexBody } from './event-index';
export { WaitStore } from './waits-store';
export { GroupStore, GroupValidationError } from './groups-store';
export type { ApproverGroup, GroupSaveResult } from './groups-store';
export { LIFECYCLE_BINDINGS_TTL_MS, LifecycleBindings } from './lifecycle-bindings';
export type { BindingLookup, LifecycleBindingsOptions } from './lifecycle-bindings';
export type { DefinitionStoreOptions, DefinitionSummary, SaveResult, StoredDefinition } from './definitions-store';
export type { PublishedActionInfo, PublishedActionLookup } from './definitions-store';
export {
  ActionCatalog,
  ActionCatalogConflictError,
  ActionCatalogStore,
  ActionPublicationError,
} from './action-catalog-store';
export type { ActionCatalogOptions, PackPublication, PublishedAction, PublishResult } from './action-catalog-store';
export { RegistryLock } from './registry-lock';
export type { RegistryLockOptions } from './registry-lock';
export { SubscriptionConflictError, SubscriptionOwnerError, SubscriptionStore } from './subscriptions-store';
export type {
  RevisionGuardedResult,
  StoredSubscription,
  SubscriptionLinkUse,
  SubscriptionSaveResult,
  SubscriptionWriteOptions,
} from './subscriptions-store';
export { generatedId as generatedSubscriptionId, validateSubscription } from './validate-subscription';
export type { SubscriptionValidationOptions, SubscriptionValidationResult } from './validate-subscription';
export { validateDefinition, formatPath } from './validate-definition';
export type { DefinitionError, ValidationResult } from './validate-definition';
export { parseDefinitionText, definitionToYaml, DefinitionSyntaxError } from './definition-format';
export type { DefinitionFormat } from './definition-format';
