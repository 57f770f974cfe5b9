/** The alerting: notifications, their texts, channels (email, webhook, dashboard), cooldown and outbox. */
export * from './notification';
export * from './templates';
export * from './recipients';
export * from './cooldown';
export * from './outbox';
export * from './email';
export * from './webhook';
export * from './notify-options';
export * from './dispatcher';
export { NOTIFY_NAMESPACE, NOTIFY_MIGRATIONS, migrateNotify } from './schema';
