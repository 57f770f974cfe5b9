/**
 * The texts of a notification: a tiny, safe mustache-like renderer (no code runs: names are looked up in plain
 * data, functions are ignored), the variables each notification offers, and the default templates.
 *
 * Syntax: `{{name}}` (escaped for HTML in the HTML template), `{{{name}}}` or `{{&name}}` (raw),
 * `{{#name}}...{{/name}}` (shown when truthy; repeated for each item of a list, the item's fields in scope),
 * `{{^name}}...{{/name}}` (shown when falsy or an empty list), `{{! comment }}`, `{{.}}` (the current item),
 * dotted names (`camera.name`).
 */
import { InputError } from '../errors';
import { severityOf, type Notification, type Severity } from './notification';

// ---- renderer ----

type TemplateNode =
  | { t: 'text'; v: string }
  | { t: 'var'; name: string; raw: boolean }
  | { t: 'section'; name: string; inverted: boolean; children: TemplateNode[] };

export class TemplateError extends InputError {
  constructor(message: string) {
    super(message, { key: 'errors.notifyTemplate' });
  }
}

/** A parsed template, rendered any number of times. */
export class Template {
  private constructor(
    readonly source: string,
    private readonly nodes: TemplateNode[],
  ) {}

  /** Parses `source`; throws a TemplateError naming the problem and where it is. */
  static parse(source: string, what = 'template'): Template {
    return new Template(source, parseTemplate(source, what));
  }

  /** Renders with `data`; `escape` is applied to every `{{name}}` (not to raw ones). */
  render(data: TemplateData, escape: (s: string) => string = (s) => s): string {
    return renderNodes(this.nodes, [data], escape);
  }
}

/** The data a template sees: plain values, lists of plain objects, nested plain objects. */
export type TemplateValue = string | number | boolean | null | undefined | TemplateData | TemplateData[];
export interface TemplateData {
  [name: string]: TemplateValue;
}

const NAME_RE = /^(\.|[A-Za-z_][\w-]*(\.[A-Za-z_][\w-]*)*)$/;

function parseTemplate(src: string, what: string): TemplateNode[] {
  const root: TemplateNode[] = [];
  const stack: { name: string; children: TemplateNode[]; at: number }[] = [];
  let current = root;
  let i = 0;
  const where = (pos: number): string => {
    const line = src.slice(0, pos).split('\n').length;
    return `${what}, line ${line}`;
  };
  while (i < src.length) {
    const open = src.indexOf('{{', i);
    if (open < 0) {
      current.push({ t: 'text', v: src.slice(i) });
      break;
    }
    if (open > i) current.push({ t: 'text', v: src.slice(i, open) });
    const triple = src.startsWith('{{{', open);
    const close = src.indexOf(triple ? '}}}' : '}}', open + (triple ? 3 : 2));
    if (close < 0) throw new TemplateError(`unclosed "{{" (${where(open)})`);
    const inner = src.slice(open + (triple ? 3 : 2), close).trim();
    i = close + (triple ? 3 : 2);
    if (triple) {
      if (!NAME_RE.test(inner)) throw new TemplateError(`bad name "{{{${inner}}}}" (${where(open)})`);
      current.push({ t: 'var', name: inner, raw: true });
      continue;
    }
    const sigil = inner.charAt(0);
    const name = inner.slice(1).trim();
    if (sigil === '!') continue;
    if (sigil === '#' || sigil === '^') {
      if (!NAME_RE.test(name)) throw new TemplateError(`bad section name "${inner}" (${where(open)})`);
      const section: TemplateNode = { t: 'section', name, inverted: sigil === '^', children: [] };
      current.push(section);
      stack.push({ name, children: current, at: open });
      current = section.children;
    } else if (sigil === '/') {
      const top = stack.pop();
      if (!top) throw new TemplateError(`"{{/${name}}}" closes nothing (${where(open)})`);
      if (top.name !== name) {
        throw new TemplateError(
          `"{{/${name}}}" found where "{{/${top.name}}}" was expected (${where(open)})`,
        );
      }
      current = top.children;
    } else if (sigil === '&') {
      if (!NAME_RE.test(name)) throw new TemplateError(`bad name "${inner}" (${where(open)})`);
      current.push({ t: 'var', name, raw: true });
    } else {
      if (!NAME_RE.test(inner)) throw new TemplateError(`bad name "{{${inner}}}" (${where(open)})`);
      current.push({ t: 'var', name: inner, raw: false });
    }
  }
  const unclosed = stack.pop();
  if (unclosed)
    throw new TemplateError(`section "{{#${unclosed.name}}}" is not closed (${where(unclosed.at)})`);
  return root;
}

function isData(v: unknown): v is TemplateData {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function lookup(name: string, stack: readonly TemplateValue[]): TemplateValue {
  if (name === '.') return stack[stack.length - 1];
  const [head = '', ...rest] = name.split('.');
  for (let s = stack.length - 1; s >= 0; s--) {
    const scope = stack[s];
    if (isData(scope) && Object.prototype.hasOwnProperty.call(scope, head)) {
      let value: unknown = scope[head];
      for (const part of rest) {
        value = isData(value) && Object.prototype.hasOwnProperty.call(value, part) ? value[part] : undefined;
      }
      return typeof value === 'function' ? undefined : (value as TemplateValue);
    }
  }
  return undefined;
}

function truthy(v: TemplateValue): boolean {
  if (Array.isArray(v)) return v.length > 0;
  return v !== undefined && v !== null && v !== false && v !== '';
}

function textOf(v: TemplateValue): string {
  if (typeof v === 'string') return v;
  if (typeof v === 'number') return Number.isFinite(v) ? String(v) : '';
  return '';
}

function renderNodes(
  nodes: readonly TemplateNode[],
  stack: TemplateValue[],
  escape: (s: string) => string,
): string {
  let out = '';
  for (const node of nodes) {
    if (node.t === 'text') out += node.v;
    else if (node.t === 'var') {
      const text = textOf(lookup(node.name, stack));
      out += node.raw ? text : escape(text);
    } else {
      const value = lookup(node.name, stack);
      if (node.inverted) {
        if (!truthy(value)) out += renderNodes(node.children, stack, escape);
      } else if (Array.isArray(value)) {
        for (const item of value) out += renderNodes(node.children, [...stack, item], escape);
      } else if (truthy(value)) {
        out += renderNodes(node.children, isData(value) ? [...stack, value] : stack, escape);
      }
    }
  }
  return out;
}

const HTML_ESCAPES: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
  '`': '&#96;',
  '=': '&#61;',
};

export function escapeHtml(s: string): string {
  return s.replace(/[&<>"'`=]/g, (c) => HTML_ESCAPES[c] ?? c);
}

// ---- formatting ----

const timeFormatters = new Map<string, Intl.DateTimeFormat>();

/** `2025-03-04 14:05:09 CET`: an instant as wall-clock time in `timeZone` (IANA), with the zone's abbreviation. */
export function formatTime(iso: string, timeZone: string): string {
  const ms = Date.parse(iso);
  if (Number.isNaN(ms)) return iso;
  let f = timeFormatters.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-GB', {
      timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
      timeZoneName: 'short',
    });
    timeFormatters.set(timeZone, f);
  }
  const p: Record<string, string> = {};
  for (const part of f.formatToParts(new Date(ms))) p[part.type] = part.value;
  return `${p.year}-${p.month}-${p.day} ${p.hour}:${p.minute}:${p.second} ${p.timeZoneName ?? timeZone}`;
}

/** `1 min 05 s`, `12 s`. */
export function formatDuration(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s} s`;
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const rest = String(s % 60).padStart(2, '0');
  return h > 0 ? `${h} h ${String(m).padStart(2, '0')} min ${rest} s` : `${m} min ${rest} s`;
}

/** `1.5 GB` (decimal units, as disks are sold). */
export function formatBytes(bytes: number): string {
  const units = ['B', 'kB', 'MB', 'GB', 'TB', 'PB'];
  let v = Math.max(0, bytes);
  let u = 0;
  while (v >= 1000 && u < units.length - 1) {
    v /= 1000;
    u++;
  }
  return `${u === 0 ? v : v.toFixed(v < 10 ? 1 : 0)} ${units[u]}`;
}

/**
 * The dashboard link of a notification: `<dashboardUrl>?event=<recording id>` for a recording,
 * `<dashboardUrl>?camera=<serial>` for a camera, the dashboard itself otherwise; empty without a dashboard URL.
 */
export function dashboardLink(dashboardUrl: string, n: Notification): string {
  if (dashboardUrl === '') return '';
  const sep = dashboardUrl.includes('?') ? '&' : '?';
  if (n.kind === 'recording' && !n.group)
    return `${dashboardUrl}${sep}event=${encodeURIComponent(String(n.recording.id))}`;
  if (n.camera) return `${dashboardUrl}${sep}camera=${encodeURIComponent(n.camera.serialNumber)}`;
  return dashboardUrl;
}

// ---- what a notification says ----

export interface TextSettings {
  site: string;
  timeZone: string;
  dashboardUrl: string;
}

/** Headline and sentence of a notification, in plain text. */
export function describe(n: Notification, settings: TextSettings): { title: string; message: string } {
  const cam = n.camera?.name ?? '';
  const time = (iso: string): string => formatTime(iso, settings.timeZone);
  const g = n.group;
  if (g) {
    const span = `between ${time(g.firstAt)} and ${time(g.lastAt)}`;
    const counted = (one: string, many: string): string => (g.count === 1 ? one : many);
    switch (n.kind) {
      case 'recording': {
        const title = `${g.count} new ${counted('recording', 'recordings')} on ${cam}`;
        return { title, message: `${title} ${span}.` };
      }
      case 'camera-offline':
        return {
          title: `${cam} went offline ${g.count} more ${counted('time', 'times')}`,
          message: `${cam} went offline ${g.count} more ${counted('time', 'times')} ${span}.`,
        };
      case 'camera-online':
        return {
          title: `${cam} came back online ${g.count} more ${counted('time', 'times')}`,
          message: `${cam} came back online ${g.count} more ${counted('time', 'times')} ${span}.`,
        };
      case 'camera-rebooted':
        return {
          title: `${cam} rebooted ${g.count} more ${counted('time', 'times')}`,
          message: `${cam} rebooted ${g.count} more ${counted('time', 'times')} ${span}.`,
        };
      default: {
        const one = describe({ ...n, group: undefined }, settings);
        return {
          title: `${one.title} (${g.count} more)`,
          message: `${one.message} Repeated ${g.count} more ${counted('time', 'times')} ${span}.`,
        };
      }
    }
  }
  switch (n.kind) {
    case 'recording': {
      const what = n.recording.eventName ? `"${n.recording.eventName}"` : 'a recording';
      return {
        title: `New recording on ${cam}`,
        message: `${cam} recorded ${what} at ${time(n.recording.triggeredAtUtc)} (${formatDuration(n.recording.playbackTime)}).`,
      };
    }
    case 'camera-offline':
      return { title: `${cam} is offline`, message: `${cam} stopped answering at ${time(n.at)}.` };
    case 'camera-online':
      return { title: `${cam} is back online`, message: `${cam} answers again since ${time(n.at)}.` };
    case 'camera-rebooted':
      return {
        title: `${cam} rebooted`,
        message: `${cam} restarted${n.uptime !== undefined ? ` (up ${formatDuration(n.uptime)})` : ''}, seen at ${time(n.at)}.`,
      };
    case 'storage-low': {
      const where = n.scope === 'camera' ? `on ${cam}` : `on ${settings.site}${n.path ? ` (${n.path})` : ''}`;
      const pct = n.totalBytes > 0 ? ` (${((100 * n.freeBytes) / n.totalBytes).toFixed(1)} %)` : '';
      return {
        title: `Storage low ${where}`,
        message: `Storage is low ${where}: ${formatBytes(n.freeBytes)} free of ${formatBytes(n.totalBytes)}${pct}.`,
      };
    }
    case 'backup-failing':
      return {
        title: `Backup failing${cam ? ` for ${cam}` : ''}`,
        message:
          `The backup${n.target ? ` to ${n.target}` : ''} failed ${n.failures} ${n.failures === 1 ? 'time' : 'times'} in a row` +
          `${n.lastError ? `; last error: ${n.lastError}` : ''}.`,
      };
    case 'clock-drift': {
      const ahead = n.driftSeconds >= 0 ? 'ahead' : 'behind';
      return {
        title: `Clock drift on ${cam}`,
        message: `The clock of ${cam} is ${formatDuration(Math.abs(n.driftSeconds))} ${ahead} (at ${time(n.at)}).`,
      };
    }
  }
}

/** The variables every template can use (the help lists them). */
export function templateData(
  n: Notification,
  settings: TextSettings,
  extra: { thumbnail?: string } = {},
): TemplateData {
  const { title, message } = describe(n, settings);
  const severity: Severity = severityOf(n);
  const data: TemplateData = {
    site: settings.site,
    kind: n.kind,
    severity,
    title,
    message,
    camera: n.camera?.name ?? '',
    cameraSerial: n.camera?.serialNumber ?? '',
    time: formatTime(n.at, settings.timeZone),
    isoTime: n.at,
    timeZone: settings.timeZone,
    link: dashboardLink(settings.dashboardUrl, n),
    thumbnail: extra.thumbnail ?? '',
    grouped: n.group !== undefined,
    count: n.group?.count ?? 1,
    from: n.group ? formatTime(n.group.firstAt, settings.timeZone) : '',
    to: n.group ? formatTime(n.group.lastAt, settings.timeZone) : '',
    items: (n.group?.items ?? []).map((it) => ({
      time: formatTime(it.at, settings.timeZone),
      label: it.label,
    })),
    eventName: '',
    eventId: '',
    fileName: '',
    clipLength: '',
    videoSize: '',
  };
  if (n.kind === 'recording' && !n.group) {
    data.eventName = n.recording.eventName ?? '';
    data.eventId = String(n.recording.id);
    data.fileName = n.recording.fileName;
    data.clipLength = formatDuration(n.recording.playbackTime);
    data.videoSize = n.recording.videoSize !== undefined ? formatBytes(n.recording.videoSize) : '';
  }
  return data;
}

// ---- defaults ----

export const DEFAULT_SUBJECT_TEMPLATE = '[{{site}}] {{title}}';

export const DEFAULT_TEXT_TEMPLATE = `{{message}}

{{#camera}}Camera: {{camera}}
{{/camera}}{{#eventName}}Event: {{eventName}}
{{/eventName}}Time: {{time}}
{{#clipLength}}Clip length: {{clipLength}}
{{/clipLength}}{{#items}}- {{time}} {{label}}
{{/items}}{{#link}}
Open in the dashboard: {{link}}
{{/link}}
-- 
{{site}}
`;

export const DEFAULT_HTML_TEMPLATE = `<!DOCTYPE html>
<html><body style="font-family: Arial, Helvetica, sans-serif; color: #222;">
<h2 style="margin: 0 0 8px 0;">{{title}}</h2>
<p>{{message}}</p>
{{#thumbnail}}<p><img src="cid:{{thumbnail}}" alt="thumbnail" style="max-width: 480px; width: 100%;"></p>
{{/thumbnail}}<table cellpadding="4" style="border-collapse: collapse;">
{{#camera}}<tr><td><b>Camera</b></td><td>{{camera}}</td></tr>
{{/camera}}{{#eventName}}<tr><td><b>Event</b></td><td>{{eventName}}</td></tr>
{{/eventName}}<tr><td><b>Time</b></td><td>{{time}}</td></tr>
{{#clipLength}}<tr><td><b>Clip length</b></td><td>{{clipLength}}</td></tr>
{{/clipLength}}</table>
{{#items}}<ul>{{/items}}{{#items}}<li>{{time}} {{label}}</li>{{/items}}{{#items}}</ul>{{/items}}
{{#link}}<p><a href="{{link}}">Open in the dashboard</a></p>
{{/link}}<p style="color: #888; font-size: 12px;">{{site}}</p>
</body></html>
`;

/** The three email templates, parsed. */
export interface EmailTemplates {
  subject: Template;
  text: Template;
  html: Template;
}

export function parseEmailTemplates(src: { subject?: string; text?: string; html?: string }): EmailTemplates {
  const pick = (v: string | undefined, d: string): string => (v === undefined || v.trim() === '' ? d : v);
  return {
    subject: Template.parse(pick(src.subject, DEFAULT_SUBJECT_TEMPLATE), 'subject template'),
    text: Template.parse(pick(src.text, DEFAULT_TEXT_TEMPLATE), 'text template'),
    html: Template.parse(pick(src.html, DEFAULT_HTML_TEMPLATE), 'HTML template'),
  };
}

/** Renders an email: the subject on one line, the text as is, the HTML with every `{{name}}` escaped. */
export function renderEmail(
  templates: EmailTemplates,
  data: TemplateData,
): { subject: string; text: string; html: string } {
  return {
    subject: templates.subject.render(data).replace(/\s+/g, ' ').trim().slice(0, 250),
    text: templates.text.render(data),
    html: templates.html.render(data, escapeHtml),
  };
}
