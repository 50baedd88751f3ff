/** Delivery of subscriptions (docs/subscriptions.md): the notify activity, its rate limit and digests, and its parts. */
export { NOTIFY_ACTION, notifySubscribers } from './notify';
export type { NotifyControl, NotifyDeps } from './notify';
export { SubscriptionDeliveries } from './deliveries';
export type { ChannelOutcome, Claim, DeliveryRecord } from './deliveries';
export { notificationMessageId } from './email';
export { defaultText, notificationText } from './message';
export { MUTE_LABEL, notificationLinks, UNSUBSCRIBE_LABEL } from './links';
export type { NotificationLink, NotificationLinks } from './links';
export {
  clockOf,
  decideRate,
  DEFAULT_DIGEST_GRACE_MS,
  DEFAULT_WINDOW_MS,
  digestDeliveryId,
  digestWorkflowId,
  SubscriptionWindows,
  windowOf,
} from './rate';
export type { DigestInput, DigestResult, DigestWorkflowInput, RateDecision, RateSettings, RateWindow } from './rate';
export { digestText, sendSubscriptionDigest, startSubscriptionDigest } from './digest';
export type { DigestDeps } from './digest';
export { NOTIFICATION_METADATA_TYPE } from './slack';
