/**
 * What the `pfcam-webhook` config node offers the nodes that use it: a signed-POST sender for one hook.
 */
import type { Node } from 'node-red';
import type { WebhookSender } from '../../lib/notify/webhook';

export interface WebhookHandle extends Node {
  /** The sender; throws the configuration error when the hook's settings are invalid. */
  sender(): WebhookSender;
  readonly configError: Error | undefined;
}

export function isWebhookHandle(value: unknown): value is WebhookHandle {
  return (
    value !== null &&
    typeof value === 'object' &&
    typeof (value as { sender?: unknown }).sender === 'function'
  );
}
