/**
 * The package's public API for integrators' own code (function nodes with libs, other packages, scripts): the
 * camera client, its errors, the shapes of the camera API and of every node's output messages.
 *
 *   import { CameraClient, type PfcamEventsMessage } from '@pfcam/node-red-pfcam';
 */
export * from './camera/types';
export type * from './camera/camera-api';
export { CameraClient, createCameraClient } from './camera/camera-client';
export type { CameraClientOptions, ClientTimeouts, ClientTls } from './camera/client-options';
export * from './camera/errors';
export { PfcamError, InputError } from './errors';
export type { CameraState, HealthChange, HealthSnapshot } from './camera/camera-health';
export { validateSettingsChanges, diffSettings, stripSecrets } from './camera/settings-schema';
export type * from './camera/messages';
export type * from './camera/messages-settings';
export type * from './archive/messages';

// The alerting: webhook signature check for receivers, the recipients table, notification and report shapes.
export { signWebhook, verifyWebhookSignature } from './notify/webhook';
export { RecipientStore, validateRecipient } from './notify/recipients';
export type { Recipient, RecipientInput, RecipientChannel, QuietHours } from './notify/recipients';
export type { Notification, NotificationKind } from './notify/notification';
export type { DeliveryReport, DeliveryRecord, ToastMessage, WebhookBody } from './notify/dispatcher';
