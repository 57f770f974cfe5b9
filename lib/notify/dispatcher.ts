/**
 * The Notifier: takes notifications, applies the kind filter, the replay check and the cooldown, fans each one
 * out to its deliveries (email per recipient, the webhook, the dashboard), writes them to the outbox in the
 * same transaction, drives the outbox, and reports per notification once every delivery is final.
 */
import { PfcamError } from '../errors';
import type { Database } from '../store/database';
import { admit, nextDue, takeDue, type DueGroup } from './cooldown';
import { resolveMediaFile, type EmailMessage } from './email';
import {
  severityOf,
  type CameraRef,
  type MessageRecipient,
  type Notification,
  type NotificationKind,
  type Severity,
} from './notification';
import type { NotifyOptions } from './notify-options';
import {
  DeliveryError,
  Outbox,
  deliveriesOf,
  enqueue,
  idempotencyKey,
  pruneFinal,
  systemClock,
  type Channel,
  type Clock,
  type DeliveryState,
  type NewDelivery,
  type OutboxRow,
} from './outbox';
import { RecipientStore, dashboardUsers, emailTargets, type Recipient } from './recipients';
import { migrateNotify, type Sql } from './schema';
import { dashboardLink, describe, renderEmail, templateData, type TextSettings } from './templates';

/** What the dashboard output carries (shaped for node-red-dashboard's notification node by the node). */
export interface ToastMessage {
  notificationId: string;
  kind: NotificationKind;
  severity: Severity;
  title: string;
  text: string;
  /** A colour for the toast's border: by severity. */
  highlight: string;
  link: string;
  camera: CameraRef | null;
  /** Dashboard user ids that asked for this on the dashboard (empty: nobody in particular, show to all). */
  users: string[];
}

/** The JSON body every webhook receives. */
export interface WebhookBody {
  /** Notification id (stable: the same recording always has the same id). */
  id: string;
  /** This delivery's idempotency key, also in the `X-PFCAM-Delivery` header. */
  delivery: string;
  kind: NotificationKind;
  severity: Severity;
  site: string;
  at: string;
  title: string;
  message: string;
  link: string;
  camera: CameraRef | null;
  group: { count: number; firstAt: string; lastAt: string; items: { at: string; label: string }[] } | null;
  data: Record<string, string | number | null>;
}

interface EmailPayload {
  to: string;
  toName?: string;
  subject: string;
  text: string;
  html: string;
  thumb?: { path: string; cid: string };
}

interface WebhookPayload {
  body: WebhookBody;
}

/** How each delivery of a notification ended. */
export interface DeliveryRecord {
  channel: Channel;
  /** Email address, webhook config id, or `dashboard`. */
  recipient: string;
  state: DeliveryState;
  attempts: number;
  /** i18n key of the last error (shared catalog), when there was one. */
  errorKey?: string;
  error?: string;
  sentAt?: string;
}

export type ReportOutcome =
  'delivered' | 'partly-delivered' | 'failed' | 'grouped' | 'duplicate' | 'filtered' | 'no-recipients';

/** The report of one notification (the node's second output). */
export interface DeliveryReport {
  notificationId: string;
  kind: NotificationKind;
  camera: CameraRef | null;
  title: string;
  outcome: ReportOutcome;
  /** Set on a cooldown summary. */
  group?: { count: number; firstAt: string; lastAt: string };
  /** Set when the notification was grouped: when its window ends (ISO). */
  groupedUntil?: string;
  deliveries: DeliveryRecord[];
}

export interface NotifierChannels {
  email?: { send(mail: EmailMessage): Promise<unknown> };
  webhook?: {
    id: string;
    sender: { post(body: string, deliveryId: string): Promise<unknown>; maxAttempts: number };
  };
  dashboard?: (toast: ToastMessage) => void;
}

export interface NotifierConfig {
  db: Database;
  /** Whose rows these are: the notify node's id (stable across restarts). */
  owner: string;
  options: NotifyOptions;
  channels: NotifierChannels;
  /** Media folder: thumbnails are attached only from inside it. */
  mediaDir?: string;
  clock?: Clock;
  onReport?(report: DeliveryReport): void;
  onDelivered?(row: OutboxRow): void;
  onRetry?(row: OutboxRow, err: DeliveryError): void;
  onError?(err: unknown): void;
}

export interface SubmitResult {
  notificationId: string;
  /** `queued`: deliveries are in the outbox; the report follows when they are final. */
  outcome: 'queued' | 'grouped' | 'duplicate' | 'filtered' | 'no-recipients';
  /** Immediate report for every outcome but `queued`. */
  report?: DeliveryReport;
}

const HIGHLIGHT: Record<Severity, string> = {
  info: '#1e88e5',
  success: '#43a047',
  warning: '#fb8c00',
  error: '#e53935',
};

/** Final outbox rows and notifications are kept this long, then pruned. */
const KEEP_MS = 30 * 24 * 3600_000;

function recordOf(row: OutboxRow): DeliveryRecord {
  const r: DeliveryRecord = {
    channel: row.channel,
    recipient: row.recipient,
    state: row.state,
    attempts: row.attempts,
  };
  if (row.lastErrorKey) r.errorKey = row.lastErrorKey;
  if (row.lastError) r.error = row.lastError;
  if (row.sentAt) r.sentAt = new Date(row.sentAt).toISOString();
  return r;
}

function outcomeOf(records: readonly DeliveryRecord[]): ReportOutcome {
  const tried = records.filter((r) => r.state !== 'suppressed');
  if (tried.length === 0) return 'no-recipients';
  const sent = tried.filter((r) => r.state === 'sent').length;
  if (sent === tried.length) return 'delivered';
  return sent === 0 ? 'failed' : 'partly-delivered';
}

/** Kind-specific fields for the webhook body (no local paths). */
function dataOf(n: Notification): Record<string, string | number | null> {
  switch (n.kind) {
    case 'recording':
      return {
        recordingId: n.recording.id,
        fileName: n.recording.fileName,
        eventName: n.recording.eventName,
        triggeredAtUtc: n.recording.triggeredAtUtc,
        playbackTime: n.recording.playbackTime,
        videoSize: n.recording.videoSize ?? null,
        sha256: n.recording.sha256 ?? null,
      };
    case 'camera-offline':
    case 'camera-online':
    case 'camera-rebooted':
      return { state: n.state, previous: n.previous, uptime: n.uptime ?? null };
    case 'storage-low':
      return { scope: n.scope, freeBytes: n.freeBytes, totalBytes: n.totalBytes, path: n.path ?? null };
    case 'backup-failing':
      return { failures: n.failures, lastError: n.lastError, target: n.target ?? null };
    case 'clock-drift':
      return { driftSeconds: n.driftSeconds };
  }
}

export class Notifier {
  private readonly clock: Clock;
  private readonly outbox: Outbox;
  private readonly recipientStore: RecipientStore;
  private readonly text: TextSettings;
  private cooldownTimer: unknown;
  private cooldownAt = Infinity;
  private pruneTimer: NodeJS.Timeout | undefined;
  private started: Promise<void> | undefined;
  private closed = false;

  constructor(private readonly config: NotifierConfig) {
    this.clock = config.clock ?? systemClock;
    this.text = {
      site: config.options.site,
      timeZone: config.options.timeZone,
      dashboardUrl: config.options.dashboardUrl,
    };
    this.recipientStore = new RecipientStore(config.db);
    this.outbox = new Outbox(
      config.db,
      config.owner,
      (row) => this.deliver(row),
      config.options.outbox,
      {
        onFinal: (row) => {
          if (row.state === 'sent') config.onDelivered?.(row);
          this.completeLater(row.notificationId);
        },
        onRetry: (row, err) => config.onRetry?.(row, err),
        onError: (err) => config.onError?.(err),
      },
      this.clock,
    );
  }

  /** Creates the tables, resumes the outbox, tells overdue groups and reports what a previous run finished. */
  start(): Promise<void> {
    this.started ??= (async () => {
      await migrateNotify(this.config.db);
      await this.prune();
      await this.outbox.start();
      await this.flushDue();
      await this.reportFinished();
      this.pruneTimer = setInterval(
        () => void this.prune().catch((err: unknown) => this.config.onError?.(err)),
        6 * 3600_000,
      );
      this.pruneTimer.unref();
    })();
    return this.started;
  }

  /** Deliveries not yet final. */
  pendingCount(): Promise<number> {
    return this.outbox.pendingCount();
  }

  /** The recipients table (the same database). */
  get recipients(): RecipientStore {
    return this.recipientStore;
  }

  /**
   * Takes one notification. Resolves once its deliveries are safely in the outbox (or it was grouped, found
   * to be a replay, or filtered out).
   */
  async submit(n: Notification, fromMessage: readonly MessageRecipient[] = []): Promise<SubmitResult> {
    await this.start();
    if (this.closed) throw new PfcamError('errors.notifyClosed', 'the notify node is closing');
    const { options, owner } = this.config;
    const base = {
      notificationId: n.id,
      kind: n.kind,
      camera: n.camera ?? null,
      deliveries: [] as DeliveryRecord[],
    };
    if (!options.kinds.has(n.kind)) {
      return {
        notificationId: n.id,
        outcome: 'filtered',
        report: { ...base, title: describe(n, this.text).title, outcome: 'filtered' },
      };
    }
    const now = this.clock.now();
    const table = options.useRecipientTable ? await this.recipientStore.list() : [];
    const thumb =
      n.kind === 'recording' && !n.group
        ? await resolveMediaFile(this.config.mediaDir, n.recording.thumbPath)
        : null;

    const result = await this.config.db.transaction(async (tx) => {
      const ins = await tx.run(
        `INSERT OR IGNORE INTO notify_notifications (owner, id, kind, camera, state, body, created_at)
         VALUES (?, ?, ?, ?, 'new', ?, ?)`,
        [owner, n.id, n.kind, n.camera?.serialNumber ?? null, JSON.stringify(n), now],
      );
      if (ins.changes === 0) return { outcome: 'duplicate' as const };
      const admission = await admit(tx, owner, n, fromMessage, now, options.cooldownMs);
      if (!admission.send) {
        await tx.run(
          "UPDATE notify_notifications SET state = 'grouped', reported_at = ? WHERE owner = ? AND id = ?",
          [now, owner, n.id],
        );
        return { outcome: 'grouped' as const, windowEnd: admission.windowEnd };
      }
      const empty: string[] = [];
      if (admission.overdue && (await this.queueGroup(tx, admission.overdue, table, now)) === 0) {
        empty.push(admission.overdue.summary.id);
      }
      const count = await this.queue(tx, n, fromMessage, table, thumb, now);
      if (count === 0) empty.push(n.id);
      return { outcome: count === 0 ? ('no-recipients' as const) : ('queued' as const), empty };
    });

    const title = describe(n, this.text).title;
    if (result.outcome === 'duplicate') {
      return { notificationId: n.id, outcome: 'duplicate', report: { ...base, title, outcome: 'duplicate' } };
    }
    if (result.outcome === 'grouped') {
      this.scheduleCooldown(result.windowEnd);
      return {
        notificationId: n.id,
        outcome: 'grouped',
        report: {
          ...base,
          title,
          outcome: 'grouped',
          groupedUntil: new Date(result.windowEnd).toISOString(),
        },
      };
    }
    this.outbox.kick();
    void this.scheduleNextCooldown();
    let report: DeliveryReport | undefined;
    for (const id of result.empty) {
      const r = await this.complete(id);
      if (id === n.id) report = r ?? undefined;
      else if (r) this.config.onReport?.(r);
    }
    if (result.outcome === 'no-recipients') {
      return {
        notificationId: n.id,
        outcome: 'no-recipients',
        report: report ?? { ...base, title, outcome: 'no-recipients' },
      };
    }
    return { notificationId: n.id, outcome: 'queued' };
  }

  /** Stops timers and the outbox (waiting briefly for deliveries in flight). Idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.cooldownTimer !== undefined) this.clock.clearTimeout(this.cooldownTimer);
    this.cooldownTimer = undefined;
    clearInterval(this.pruneTimer);
    await this.started?.catch(() => undefined);
    await this.outbox.close();
  }

  // ---- fan-out ----

  private async queueGroup(
    sql: Sql,
    group: DueGroup,
    table: readonly Recipient[],
    now: number,
  ): Promise<number> {
    const ins = await sql.run(
      `INSERT OR IGNORE INTO notify_notifications (owner, id, kind, camera, state, body, created_at)
       VALUES (?, ?, ?, ?, 'new', ?, ?)`,
      [
        this.config.owner,
        group.summary.id,
        group.summary.kind,
        group.summary.camera?.serialNumber ?? null,
        JSON.stringify(group.summary),
        now,
      ],
    );
    if (ins.changes === 0) return -1;
    return this.queue(sql, group.summary, group.recipients, table, null, now);
  }

  /** Writes the deliveries of `n` to the outbox; returns how many (suppressed ones included). */
  private async queue(
    sql: Sql,
    n: Notification,
    fromMessage: readonly MessageRecipient[],
    table: readonly Recipient[],
    thumb: string | null,
    now: number,
  ): Promise<number> {
    const { options, owner, channels } = this.config;
    const deliveries: NewDelivery[] = [];
    const { title, message } = describe(n, this.text);
    if (channels.email) {
      for (const target of emailTargets(n, options.recipients, fromMessage, table, now, options.timeZone)) {
        const key = idempotencyKey(owner, n.id, 'email', target.email);
        const cid = thumb ? `thumb-${key}@pfcam` : undefined;
        const rendered = renderEmail(options.templates, templateData(n, this.text, { thumbnail: cid }));
        const payload: EmailPayload = { to: target.email, ...rendered };
        if (target.name) payload.toName = target.name;
        if (thumb && cid) payload.thumb = { path: thumb, cid };
        deliveries.push({
          channel: 'email',
          recipient: target.email,
          payload,
          maxAttempts: options.emailMaxAttempts,
          ...(target.quiet ? { state: 'suppressed' as const, note: 'quiet hours' } : {}),
        });
      }
    }
    if (channels.webhook) {
      const hook = channels.webhook;
      const body: WebhookBody = {
        id: n.id,
        delivery: idempotencyKey(owner, n.id, 'webhook', hook.id),
        kind: n.kind,
        severity: severityOf(n),
        site: options.site,
        at: n.at,
        title,
        message,
        link: dashboardLink(options.dashboardUrl, n),
        camera: n.camera ?? null,
        group: n.group ?? null,
        data: dataOf(n),
      };
      const payload: WebhookPayload = { body };
      deliveries.push({
        channel: 'webhook',
        recipient: hook.id,
        payload,
        maxAttempts: hook.sender.maxAttempts,
      });
    }
    if (options.dashboard && channels.dashboard) {
      const severity = severityOf(n);
      const toast: ToastMessage = {
        notificationId: n.id,
        kind: n.kind,
        severity,
        title,
        text: message,
        highlight: HIGHLIGHT[severity],
        link: dashboardLink(options.dashboardUrl, n),
        camera: n.camera ?? null,
        users: dashboardUsers(n, table, now, options.timeZone),
      };
      deliveries.push({ channel: 'dashboard', recipient: 'dashboard', payload: toast, maxAttempts: 1 });
    }
    await enqueue(sql, owner, n.id, deliveries, now);
    await sql.run('UPDATE notify_notifications SET state = ? WHERE owner = ? AND id = ?', [
      deliveries.length > 0 ? 'queued' : 'done',
      owner,
      n.id,
    ]);
    return deliveries.length;
  }

  // ---- delivery ----

  private async deliver(row: OutboxRow): Promise<void> {
    const { channels } = this.config;
    switch (row.channel) {
      case 'email': {
        if (!channels.email)
          throw new DeliveryError('errors.notifyNoChannel', 'email is no longer configured', false);
        const p = row.payload as EmailPayload;
        const mail: EmailMessage = {
          to: p.to,
          subject: p.subject,
          text: p.text,
          html: p.html,
          messageId: `${row.idemKey}@pfcam`,
        };
        if (p.toName) mail.toName = p.toName;
        if (p.thumb) {
          const path = await resolveMediaFile(this.config.mediaDir, p.thumb.path);
          if (path)
            mail.inline = {
              cid: p.thumb.cid,
              path,
              filename: `thumbnail${/\.[a-z0-9]+$/i.exec(path)?.[0] ?? '.jpg'}`,
            };
        }
        await channels.email.send(mail);
        return;
      }
      case 'webhook': {
        const hook = channels.webhook;
        if (!hook || hook.id !== row.recipient) {
          throw new DeliveryError(
            'errors.notifyNoChannel',
            'this webhook is no longer configured on the node',
            false,
          );
        }
        await hook.sender.post(JSON.stringify((row.payload as WebhookPayload).body), row.idemKey);
        return;
      }
      case 'dashboard': {
        if (!channels.dashboard)
          throw new DeliveryError('errors.notifyNoChannel', 'dashboard output is off', false);
        channels.dashboard(row.payload as ToastMessage);
        return;
      }
    }
  }

  // ---- reports ----

  private completeLater(notificationId: string): void {
    this.complete(notificationId).then(
      (report) => {
        if (report) this.config.onReport?.(report);
      },
      (err: unknown) => this.config.onError?.(err),
    );
  }

  /** The report of a notification whose deliveries are all final, once (null otherwise or if already given). */
  private async complete(notificationId: string): Promise<DeliveryReport | null> {
    const { db, owner } = this.config;
    if (!db.isOpen) return null;
    const rows = await deliveriesOf(db, owner, notificationId);
    if (rows.some((r) => r.state === 'pending' || r.state === 'sending')) return null;
    const marked = await db.run(
      "UPDATE notify_notifications SET state = 'done', reported_at = ? WHERE owner = ? AND id = ? AND reported_at IS NULL",
      [this.clock.now(), owner, notificationId],
    );
    if (marked.changes === 0) return null;
    const row = await db.get<{ body: string }>(
      'SELECT body FROM notify_notifications WHERE owner = ? AND id = ?',
      [owner, notificationId],
    );
    if (!row) return null;
    const n = JSON.parse(row.body) as Notification;
    const deliveries = rows.map(recordOf);
    const report: DeliveryReport = {
      notificationId,
      kind: n.kind,
      camera: n.camera ?? null,
      title: describe(n, this.text).title,
      outcome: outcomeOf(deliveries),
      deliveries,
    };
    if (n.group) report.group = { count: n.group.count, firstAt: n.group.firstAt, lastAt: n.group.lastAt };
    return report;
  }

  /** Reports notifications finished by a previous run that stopped before reporting them. */
  private async reportFinished(): Promise<void> {
    const ids = await this.config.db.all<{ id: string }>(
      "SELECT id FROM notify_notifications WHERE owner = ? AND state = 'queued' AND reported_at IS NULL",
      [this.config.owner],
    );
    for (const { id } of ids) {
      const report = await this.complete(id);
      if (report) this.config.onReport?.(report);
    }
  }

  // ---- cooldown ----

  /** Arms the cooldown timer for `atMs` unless it is already armed for an earlier time. */
  private scheduleCooldown(atMs: number): void {
    if (this.closed || atMs >= this.cooldownAt) return;
    if (this.cooldownTimer !== undefined) this.clock.clearTimeout(this.cooldownTimer);
    this.cooldownAt = atMs;
    this.cooldownTimer = this.clock.setTimeout(
      () => {
        this.cooldownTimer = undefined;
        this.cooldownAt = Infinity;
        this.flushDue().catch((err: unknown) => {
          this.config.onError?.(err);
          this.scheduleCooldown(this.clock.now() + 5_000);
        });
      },
      Math.max(0, atMs - this.clock.now()),
    );
  }

  private async scheduleNextCooldown(): Promise<void> {
    try {
      const t = await nextDue(this.config.db, this.config.owner);
      if (t !== null) this.scheduleCooldown(t);
    } catch (err) {
      this.config.onError?.(err);
    }
  }

  /** Tells the groups whose window has ended, then waits for the next one. */
  private async flushDue(): Promise<void> {
    if (this.closed) return;
    const { db, owner, options } = this.config;
    const now = this.clock.now();
    const table = options.useRecipientTable ? await this.recipientStore.list() : [];
    const empty: string[] = [];
    const queued = await db.transaction(async (tx) => {
      const due = await takeDue(tx, owner, now, options.cooldownMs);
      for (const group of due) {
        if ((await this.queueGroup(tx, group, table, now)) === 0) empty.push(group.summary.id);
      }
      return due.length;
    });
    if (queued > 0) this.outbox.kick();
    for (const id of empty) {
      const r = await this.complete(id);
      if (r) this.config.onReport?.(r);
    }
    await this.scheduleNextCooldown();
  }

  private async prune(): Promise<void> {
    const { db, owner } = this.config;
    const before = this.clock.now() - KEEP_MS;
    await pruneFinal(db, owner, before);
    await db.run(
      `DELETE FROM notify_notifications WHERE owner = ? AND created_at < ? AND NOT EXISTS
         (SELECT 1 FROM notify_outbox o WHERE o.owner = notify_notifications.owner AND o.notification_id = notify_notifications.id)`,
      [owner, before],
    );
  }
}
