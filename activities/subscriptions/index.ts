/** Delivery of subscriptions (docs/subscriptions.md): the notify activity and its parts. */
export { NOTIFY_ACTION, notifySubscribers } from './notify';
export type { NotifyControl, NotifyDeps } from './notify';
export { SubscriptionDeliveries } from './deliveries';
export type { ChannelOutcome, Claim, DeliveryRecord } from './deliveries';
export { notificationMessageId } from './email';
export { defaultText, notificationText } from './message';
export { decideRate, notificationLinks } from './seams';
export type { NotificationLink, RateDecision } from './seams';
export { NOTIFICATION_METADATA_TYPE } from './slack';
