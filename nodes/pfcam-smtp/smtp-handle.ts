/**
 * What the `pfcam-smtp` config node offers the nodes that use it: one email sender per SMTP server, shared.
 *
 * ```ts
 * const smtp = RED.nodes.getNode(config.smtp);
 * if (isSmtpHandle(smtp)) await smtp.sender().send(mail);
 * ```
 */
import type { Node } from 'node-red';
import type { EmailSender } from '../../lib/notify/email';

export interface SmtpHandle extends Node {
  /** The sender; throws the configuration error when the SMTP settings are invalid. */
  sender(): EmailSender;
  /** The configuration error, if any (for status). */
  readonly configError: Error | undefined;
}

export function isSmtpHandle(value: unknown): value is SmtpHandle {
  return (
    value !== null &&
    typeof value === 'object' &&
    typeof (value as { sender?: unknown }).sender === 'function'
  );
}
