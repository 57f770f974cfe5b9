import type { Node, NodeAPI, NodeDef, NodeMessage, NodeMessageInFlow } from 'node-red';
import { PfcamError, errorText } from '../../lib/errors';
import { DeliveryError } from '../../lib/notify/outbox';
import {
  Notifier,
  type DeliveryReport,
  type NotifierChannels,
  type ToastMessage,
} from '../../lib/notify/dispatcher';
import { messageRecipients, toNotification } from '../../lib/notify/notification';
import {
  parseNotifyOptions,
  type NotifyOptions,
  type RawNotifyConfig,
} from '../../lib/notify/notify-options';
import { isSmtpHandle } from '../pfcam-smtp/smtp-handle';
import { isStoreHandle, type StoreHandle } from '../pfcam-store/store-handle';
import { isWebhookHandle } from '../pfcam-webhook/webhook-handle';
import { handleClose, handleInput } from '../shared/input';
import { Status } from '../shared/status';

/** The node's configuration as the editor saves it (checked by `parseNotifyOptions`). */
interface NotifyNodeDef extends NodeDef, Omit<RawNotifyConfig, 'name'> {}

/** Input: a `pfcam/recording` or `pfcam/status` message, or `msg.notification`; optional `msg.recipients`. */
interface NotifyInputMessage extends NodeMessageInFlow {
  notification?: unknown;
  recipients?: unknown;
}

/** Output 1: a toast for node-red-dashboard's notification node. */
interface ToastOutputMessage extends NodeMessage {
  topic: string;
  payload: string;
  highlight: string;
  notification: ToastMessage;
}

/** Output 2: the delivery report of a notification. */
interface ReportOutputMessage extends NodeMessage {
  topic: typeof REPORT_TOPIC;
  payload: DeliveryReport;
}

const REPORT_TOPIC = 'pfcam/notify/report';

export default function (RED: NodeAPI): void {
  function PfcamNotifyNode(this: Node, def: NotifyNodeDef): void {
    RED.nodes.createNode(this, def);
    setup(this, def);
  }

  function setup(node: Node, def: NotifyNodeDef): void {
    const status = new Status(node, RED);

    let options: NotifyOptions | undefined;
    let setupError: Error | undefined;
    try {
      options = parseNotifyOptions(def, { timeZone: process.env.TZ });
    } catch (err) {
      setupError = err instanceof Error ? err : new Error(String(err));
    }

    const storeNode = def.store ? RED.nodes.getNode(def.store) : null;
    const store: StoreHandle | undefined = isStoreHandle(storeNode) ? storeNode : undefined;
    if (!store && !setupError) {
      setupError = new PfcamError(
        'errors.notifyNoStore',
        'no pfcam-store is chosen: the outbox lives in its database',
      );
    }
    store?.register(node);

    // A channel whose config node is invalid still queues its deliveries (they wait, retried, until the
    // settings are fixed and deployed), so nothing is lost to a typo.
    const brokenChannel = (channel: string, err: Error) => (): Promise<never> =>
      Promise.reject(
        new DeliveryError(
          'errors.notifyChannelConfig',
          `${channel} settings invalid: ${errorText(err)}`,
          true,
        ),
      );
    let channelProblem: Error | undefined;
    const channels: NotifierChannels = {};
    const smtpNode = def.smtp ? RED.nodes.getNode(def.smtp) : null;
    if (isSmtpHandle(smtpNode)) {
      if (smtpNode.configError) {
        channelProblem = smtpNode.configError;
        channels.email = { send: brokenChannel('email', smtpNode.configError) };
      } else channels.email = smtpNode.sender();
    }
    const hookNode = def.webhook ? RED.nodes.getNode(def.webhook) : null;
    if (isWebhookHandle(hookNode)) {
      if (hookNode.configError) {
        channelProblem = hookNode.configError;
        channels.webhook = {
          id: hookNode.id,
          sender: { maxAttempts: 1000, post: brokenChannel('webhook', hookNode.configError) },
        };
      } else channels.webhook = { id: hookNode.id, sender: hookNode.sender() };
    }
    channels.dashboard = (toast: ToastMessage): void => {
      const out: ToastOutputMessage = {
        topic: toast.title,
        payload: toast.text,
        highlight: toast.highlight,
        notification: toast,
      };
      node.send([out, null]);
    };

    let sent = 0;
    let refresh: NodeJS.Immediate | undefined;
    let closed = false;
    let notifier: Notifier | undefined;
    let lastProblem: string | undefined = channelProblem ? 'errors.notifyChannelConfig' : undefined;

    /** Shows sent / waiting counts (debounced), unless a delivery problem is being retried. */
    const showCounts = (): void => {
      if (refresh || closed) return;
      refresh = setImmediate(() => {
        refresh = undefined;
        notifier?.pendingCount().then(
          (pending) => {
            if (closed) return;
            if (lastProblem && pending > 0) status.connecting(lastProblem);
            else {
              lastProblem = undefined;
              status.ok('status.notifyCounts', { sent, pending });
            }
          },
          () => undefined,
        );
      });
    };

    const ready: Promise<Notifier> = (async () => {
      if (setupError || !options || !store) throw setupError ?? new Error('not configured');
      const db = await store.database();
      const n = new Notifier({
        db,
        owner: node.id,
        options,
        channels,
        mediaDir: store.mediaDir,
        onReport: (report) => {
          if (closed) return;
          const out: ReportOutputMessage = { topic: REPORT_TOPIC, payload: report };
          node.send([null, out]);
        },
        onDelivered: () => {
          sent++;
          showCounts();
        },
        onRetry: (_row, err) => {
          lastProblem = err.key;
          if (!closed) status.connecting(err.key);
        },
        onError: (err) => {
          if (!closed) node.warn(RED._('pfcam-notify.log.background', { error: errorText(err) }));
        },
      });
      notifier = n;
      await n.start();
      return n;
    })();
    ready.then(
      () => {
        if (lastProblem) status.error(lastProblem);
        else showCounts();
      },
      (err: unknown) => {
        if (closed) return;
        status.failed(err);
        node.warn(RED._('pfcam-notify.errors.setup', { error: errorText(err) }));
      },
    );

    handleInput<NotifyInputMessage>(node, status, async (msg, send) => {
      const n = await ready;
      const mapped = toNotification(msg);
      if (!mapped.notification) return;
      const result = await n.submit(mapped.notification, messageRecipients(msg.recipients));
      if (result.report) {
        const out = msg as unknown as ReportOutputMessage;
        out.topic = REPORT_TOPIC;
        out.payload = result.report;
        send([null, out]);
      }
      showCounts();
    });

    handleClose(node, async () => {
      closed = true;
      if (refresh) clearImmediate(refresh);
      await ready.then(
        (n) => n.close(),
        () => undefined,
      );
      store?.deregister(node);
      status.clear();
    });
  }

  RED.nodes.registerType('pfcam-notify', PfcamNotifyNode);
}
