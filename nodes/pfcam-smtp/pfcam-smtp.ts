import type { Node, NodeAPI, NodeDef } from 'node-red';
import { errorText } from '../../lib/errors';
import { EmailSender } from '../../lib/notify/email';
import { parseSmtpOptions, type RawSmtpConfig, type SmtpCredentials } from '../../lib/notify/notify-options';
import { handleClose } from '../shared/input';
import type { SmtpHandle } from './smtp-handle';

interface SmtpNodeDef extends NodeDef, Omit<RawSmtpConfig, 'name'> {}

type SmtpNode = Node<SmtpCredentials> & SmtpHandle;

/** The `pfcam-smtp` config node: one SMTP server (host, port, STARTTLS / TLS, login), shared by notify nodes. */
export default function (RED: NodeAPI): void {
  function PfcamSmtpNode(this: Node<SmtpCredentials>, def: SmtpNodeDef): void {
    RED.nodes.createNode(this, def);
    setup(this as SmtpNode, def);
  }

  function setup(node: SmtpNode, def: SmtpNodeDef): void {
    let sender: EmailSender | undefined;
    let configError: Error | undefined;
    try {
      sender = new EmailSender(parseSmtpOptions(def, node.credentials ?? {}));
    } catch (err) {
      configError = err instanceof Error ? err : new Error(String(err));
      node.warn(RED._('pfcam-smtp.errors.config', { error: errorText(err) }));
    }
    Object.defineProperty(node, 'configError', { get: () => configError });
    node.sender = (): EmailSender => {
      if (!sender) throw configError ?? new Error('SMTP not configured');
      return sender;
    };
    handleClose(node, () => {
      sender?.close();
      sender = undefined;
      configError ??= new Error('SMTP config node closed');
    });
  }

  RED.nodes.registerType('pfcam-smtp', PfcamSmtpNode, {
    credentials: {
      user: { type: 'text' },
      password: { type: 'password' },
    },
  });
}
