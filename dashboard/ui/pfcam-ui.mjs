/**
 * Front end of the pfcam dashboard widgets (an ES module loaded by each widget's controller; it defines no
 * global). Every camera-supplied string is put into the page with textContent only: never innerHTML, never
 * in a place AngularJS compiles. Data comes from the session-checked API; the socket only says "changed".
 */
const API = '/pfcam/api';
const mounts = new Set();
let sessionPromise = null;
let styleAdded = false;

/** Creates an element: attrs (attributes, `on*` listeners), children (nodes or text, put in as text). */
function el(tag, attrs, children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith('on') && typeof value === 'function') node.addEventListener(key.slice(2), value);
    else if (key === 'text') node.textContent = String(value);
    else node.setAttribute(key, value === true ? '' : String(value));
  }
  for (const child of [].concat(children || [])) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

function clear(node) {
  while (node.firstChild) node.removeChild(node.firstChild);
}

let uid = 0;
const nextId = (prefix) => `pfcam-${prefix}-${++uid}`;

function bytes(n) {
  if (n === null || n === undefined) return '–';
  const units = ['B', 'KB', 'MB', 'GB', 'TB'];
  let i = 0;
  let v = n;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v.toFixed(i === 0 ? 0 : 1)} ${units[i]}`;
}

function duration(seconds) {
  if (seconds === null || seconds === undefined) return '–';
  const d = Math.floor(seconds / 86400);
  const h = Math.floor((seconds % 86400) / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  return d > 0 ? `${d} d ${h} h` : h > 0 ? `${h} h ${m} min` : `${m} min`;
}

/** The signed-in user's session (permissions, CSRF token); `null` without the security module. */
function session(base) {
  if (!sessionPromise) {
    sessionPromise = fetch(`${base}${API}/session`, { credentials: 'same-origin' })
      .then((r) => (r.ok ? r.json() : null))
      .catch(() => null);
  }
  return sessionPromise;
}

class ApiError extends Error {
  constructor(status, body) {
    super((body && body.error && body.error.message) || `request failed (${status})`);
    this.status = status;
    this.body = body;
  }
}

function client(base) {
  async function call(method, path, body) {
    const s = await session(base);
    const headers = { Accept: 'application/json' };
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    if (method !== 'GET' && s && s.csrfToken) headers['X-CSRF-Token'] = s.csrfToken;
    const res = await fetch(`${base}${API}${path}`, {
      method,
      headers,
      credentials: 'same-origin',
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const json = await res.json().catch(() => null);
    if (!res.ok) throw new ApiError(res.status, json);
    return json;
  }
  return {
    get: (path) => call('GET', path),
    post: (path, body) => call('POST', path, body === undefined ? {} : body),
    put: (path, body) => call('PUT', path, body),
    patch: (path, body) => call('PATCH', path, body),
    del: (path) => call('DELETE', path),
    url: (path) => `${base}${API}${path}`,
    base,
    can: async (permission) => {
      const s = await session(base);
      return !s || !Array.isArray(s.permissions) || s.permissions.includes(permission);
    },
    session: () => session(base),
  };
}

/** The text of an error for the page: no permission, offline camera, busy store... */
function errorText(err) {
  if (err instanceof ApiError) {
    if (err.status === 401) return 'Your session has ended: sign in again.';
    if (err.status === 403) return 'You do not have permission for this.';
    if (err.status === 404) return 'Not found (or not one of your cameras).';
    if (err.status === 503) return `Not available right now: ${err.message}`;
    return err.message;
  }
  return `The server could not be reached (${err && err.message ? err.message : err}).`;
}

function statusLine(text, kind) {
  return el(
    'p',
    { class: `pfcam-state pfcam-state-${kind || 'info'}`, role: kind === 'error' ? 'alert' : 'status' },
    [text],
  );
}

function toast(root, text) {
  let region = document.getElementById('pfcam-toasts');
  if (!region) {
    region = el('div', { id: 'pfcam-toasts', class: 'pfcam-toasts', 'aria-live': 'polite', role: 'status' });
    document.body.append(region);
  }
  const item = el('div', { class: 'pfcam-toast' }, [text]);
  region.append(item);
  setTimeout(() => item.remove(), 4000);
  return root;
}

function button(label, onclick, attrs) {
  return el('button', Object.assign({ type: 'button', class: 'pfcam-button', onclick }, attrs || {}), [
    label,
  ]);
}

function field(labelText, input) {
  const id = input.id || nextId('f');
  input.id = id;
  return el('div', { class: 'pfcam-field' }, [el('label', { for: id }, [labelText]), input]);
}

function table(caption, headers, rows) {
  return el('table', { class: 'pfcam-table' }, [
    el('caption', { class: 'pfcam-sr' }, [caption]),
    el('thead', {}, [
      el(
        'tr',
        {},
        headers.map((h) => el('th', { scope: 'col' }, [h])),
      ),
    ]),
    el('tbody', {}, rows),
  ]);
}

// ------------------------------------------------------------------------------------------------ screens

async function overviewScreen(view, api) {
  const o = await api.get('/dashboard/overview');
  const cams = await api.get('/cameras').catch(() => ({ cameras: [] }));
  const count = (state) => cams.cameras.filter((c) => c.state === state).length;
  const tiles = [
    ['Cameras online', count('online')],
    ['Cameras offline', count('offline')],
    ['Cameras restarting', count('restarting')],
    ['Recordings today', o.recordingsToday],
    ['Last 24 h', o.recordingsLast24h],
    ['Unviewed', o.unviewed],
    ['Flagged', o.flagged],
    ['Stored', bytes(o.storedBytes)],
    ['Backup pending', o.backup.pending],
    ['Backup failed', o.backup.failed],
  ];
  const maxDay = Math.max(1, ...o.perDay.map((b) => b.count));
  const perDay = el(
    'ol',
    { class: 'pfcam-bars', 'aria-label': 'Recordings per day, last 30 days' },
    o.perDay.map((b) =>
      el('li', { title: `${b.bucket}: ${b.count}` }, [
        el('span', { class: 'pfcam-bar', style: `height:${Math.round((b.count / maxDay) * 100)}%` }),
        el('span', { class: 'pfcam-sr' }, [`${b.bucket}: ${b.count}`]),
      ]),
    ),
  );
  const perHourRows = Object.entries(o.perHour).map(([camera, buckets]) =>
    el('tr', {}, [
      el('th', { scope: 'row', text: camera }),
      el('td', { text: buckets.reduce((s, b) => s + b.count, 0) }),
      el('td', { text: buckets.map((b) => `${b.bucket.slice(11)}h:${b.count}`).join(' ') || '–' }),
    ]),
  );
  view.append(
    el('h2', {}, ['Overview']),
    el(
      'dl',
      { class: 'pfcam-tiles' },
      tiles.map(([k, v]) =>
        el('div', { class: 'pfcam-tile' }, [el('dt', { text: k }), el('dd', { text: v })]),
      ),
    ),
    el('h3', {}, ['Recordings per day (30 days)']),
    o.perDay.length ? perDay : statusLine('No recordings in the last 30 days.'),
    el('h3', {}, ['Recordings per hour and camera (24 h)']),
    perHourRows.length
      ? table('Recordings per hour and camera', ['Camera', 'Total', 'Per hour'], perHourRows)
      : statusLine('No cameras with recordings yet.'),
    el('h3', {}, ['Storage per camera']),
    table(
      'Storage per camera',
      ['Camera', 'Recordings', 'Size'],
      o.storage.map((s) =>
        el('tr', {}, [
          el('th', { scope: 'row', text: s.name || s.camera }),
          el('td', { text: s.recordings }),
          el('td', { text: bytes(s.bytes) }),
        ]),
      ),
    ),
    el('h3', {}, ['Latest recordings']),
    o.latest.length
      ? el(
          'ul',
          { class: 'pfcam-latest' },
          o.latest.map((r) => latestItem(api, r)),
        )
      : statusLine('No recordings yet.'),
  );
}

function latestItem(api, r) {
  return el('li', {}, [
    r.thumbnail
      ? el('img', {
          src: api.url(`/recordings/${r.id}/thumbnail`),
          alt: '',
          loading: 'lazy',
          width: 96,
          height: 54,
        })
      : null,
    el('span', { text: `${r.localTime} · ${r.camera} · ${r.name || r.fileName}` }),
  ]);
}

function recordingsScreen(view, api, state) {
  const filters = state.filters || (state.filters = {});
  const form = el('form', { class: 'pfcam-filters', role: 'search', 'aria-label': 'Filter recordings' });
  const inputs = {
    camera: el('input', { type: 'text', name: 'camera', value: filters.camera || '', autocomplete: 'off' }),
    name: el('input', { type: 'search', name: 'name', value: filters.name || '' }),
    tag: el('input', { type: 'text', name: 'tag', value: filters.tag || '' }),
    from: el('input', { type: 'datetime-local', name: 'from', value: filters.from || '' }),
    to: el('input', { type: 'datetime-local', name: 'to', value: filters.to || '' }),
    flagged: el('input', { type: 'checkbox', name: 'flagged', checked: filters.flagged === 'true' }),
    viewed: el('input', { type: 'checkbox', name: 'viewed', checked: filters.viewed === 'false' }),
  };
  form.append(
    field('Camera (serial)', inputs.camera),
    field('Name', inputs.name),
    field('Tag', inputs.tag),
    field('From', inputs.from),
    field('To', inputs.to),
    field('Flagged only', inputs.flagged),
    field('Unviewed only', inputs.viewed),
    el('button', { type: 'submit', class: 'pfcam-button' }, ['Apply filters']),
  );
  const tableHost = el('div', { class: 'pfcam-table-host' });
  const player = el('div', { class: 'pfcam-player' });
  const exportBar = el('div', { class: 'pfcam-export', role: 'group', 'aria-label': 'Export' });
  const more = el('div', { class: 'pfcam-more' });
  const params = () => {
    const p = new URLSearchParams();
    for (const key of ['camera', 'name', 'tag']) if (filters[key]) p.set(key, filters[key]);
    for (const key of ['from', 'to']) if (filters[key]) p.set(key, new Date(filters[key]).toISOString());
    if (filters.flagged) p.set('flagged', filters.flagged);
    if (filters.viewed) p.set('viewed', filters.viewed);
    return p;
  };
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    filters.camera = inputs.camera.value.trim();
    filters.name = inputs.name.value.trim();
    filters.tag = inputs.tag.value.trim();
    filters.from = inputs.from.value;
    filters.to = inputs.to.value;
    filters.flagged = inputs.flagged.checked ? 'true' : '';
    filters.viewed = inputs.viewed.checked ? 'false' : '';
    void load(false);
  });
  let cursor = null;
  let rows = [];
  async function load(append) {
    const p = params();
    p.set('limit', '50');
    if (append && cursor) p.set('cursor', cursor);
    if (!append) {
      clear(tableHost);
      tableHost.append(statusLine('Loading recordings…'));
    }
    try {
      const page = await api.get(`/recordings?${p}`);
      rows = append ? rows.concat(page.recordings) : page.recordings;
      cursor = page.nextCursor;
      await render();
    } catch (err) {
      clear(tableHost);
      tableHost.append(statusLine(errorText(err), 'error'));
    }
  }
  state.reload = () => load(false);
  async function render() {
    const [canDownload, canAnnotate, canDelete] = await Promise.all([
      api.can('events:download'),
      api.can('events:annotate'),
      api.can('events:delete'),
    ]);
    clear(tableHost);
    clear(more);
    clear(exportBar);
    if (canDownload) {
      for (const format of ['csv', 'json', 'zip']) {
        const q = params();
        q.set('format', format);
        exportBar.append(
          el('a', { class: 'pfcam-button', href: api.url(`/exports/recordings?${q}`), download: '' }, [
            `Export ${format.toUpperCase()}`,
          ]),
        );
      }
    }
    if (rows.length === 0) {
      tableHost.append(statusLine('No recordings match these filters.'));
      return;
    }
    const body = rows.map((r) =>
      recordingRow(api, r, { canDownload, canAnnotate, canDelete, player, reload: () => load(false) }),
    );
    tableHost.append(
      table(
        'Recordings',
        ['', 'Camera', 'Name', 'Time', 'Length', 'Size', 'Backup', 'Marks', 'Actions'],
        body,
      ),
    );
    if (cursor) more.append(button('Load more', () => load(true)));
  }
  view.append(el('h2', {}, ['Recordings']), form, exportBar, player, tableHost, more);
  void load(false);
}

function recordingRow(api, r, opts) {
  const marks = [r.flagged ? 'flagged' : '', r.viewed ? '' : 'new', ...r.tags].filter(Boolean).join(', ');
  const label = r.name || r.fileName;
  const actions = el('div', { class: 'pfcam-actions' }, [
    button('Play', () => play(api, r, opts.player), { 'aria-label': `Play ${label}` }),
    opts.canDownload
      ? el(
          'a',
          {
            class: 'pfcam-button',
            href: api.url(`/recordings/${r.id}/download`),
            'aria-label': `Download ${label}`,
          },
          ['Download'],
        )
      : null,
    opts.canAnnotate
      ? button(
          r.flagged ? 'Unflag' : 'Flag',
          () => act(api.patch(`/recordings/${r.id}`, { flagged: !r.flagged }), opts.reload),
          {
            'aria-label': `${r.flagged ? 'Unflag' : 'Flag'} ${label}`,
          },
        )
      : null,
    opts.canAnnotate
      ? button(
          'Tag',
          () => {
            const tag = window.prompt('Tags (comma separated)', r.tags.join(', '));
            if (tag !== null)
              void act(
                api.patch(`/recordings/${r.id}`, {
                  tags: tag
                    .split(',')
                    .map((t) => t.trim())
                    .filter(Boolean),
                }),
                opts.reload,
              );
          },
          { 'aria-label': `Tag ${label}` },
        )
      : null,
    r.viewed
      ? null
      : button(
          'Mark viewed',
          () => act(api.post(`/recordings/${r.id}/viewed`, { viewed: true }), opts.reload),
          { 'aria-label': `Mark viewed: ${label}` },
        ),
    opts.canDelete
      ? button(
          'Delete',
          () => {
            if (!window.confirm(`Delete ${label}?`)) return;
            const onCamera = window.confirm('Delete the copy on the camera too?');
            void act(api.del(`/recordings/${r.id}${onCamera ? '?camera=true' : ''}`), opts.reload);
          },
          { class: 'pfcam-button pfcam-danger', 'aria-label': `Delete ${label}` },
        )
      : null,
  ]);
  return el('tr', { 'data-recording': r.id }, [
    el('td', {}, [
      r.thumbnail
        ? el('img', {
            src: api.url(`/recordings/${r.id}/thumbnail`),
            alt: '',
            loading: 'lazy',
            width: 80,
            height: 45,
          })
        : '',
    ]),
    el('td', { text: r.camera }),
    el('td', { text: label }),
    el('td', {}, [el('time', { datetime: r.time, text: r.localTime })]),
    el('td', { text: r.length === null ? '–' : `${r.length} s` }),
    el('td', { text: bytes(r.size) }),
    el('td', { text: r.backupState }),
    el('td', { text: marks || '–' }),
    el('td', {}, [actions]),
  ]);
}

async function act(promise, after) {
  try {
    await promise;
    if (after) await after();
  } catch (err) {
    toast(null, errorText(err));
  }
}

function play(api, r, host) {
  clear(host);
  const video = el('video', {
    controls: true,
    autoplay: true,
    preload: 'metadata',
    src: api.url(`/recordings/${r.id}/video`),
    'aria-label': `Recording ${r.name || r.fileName}`,
  });
  video.addEventListener('error', () =>
    host.append(
      statusLine('The video cannot be played (not stored yet and the camera is offline?).', 'error'),
    ),
  );
  host.append(
    el('p', { text: `${r.localTime} · ${r.camera} · ${r.name || r.fileName}` }),
    video,
    button('Close player', () => clear(host)),
  );
  if (!r.viewed) void api.post(`/recordings/${r.id}/viewed`, { viewed: true }).catch(() => undefined);
}

let liveScript = null;

/** Loads the live view's custom elements (dashboard/ui/live/live-view.js) once; resolves false when it cannot. */
function loadLiveView(base) {
  if (customElements.get('pfcam-live-grid')) return Promise.resolve(true);
  liveScript ??= new Promise((resolve) => {
    const script = el('script', { src: `${base}/pfcam/ui/live/live-view.js` });
    script.addEventListener('load', () => resolve(true));
    script.addEventListener('error', () => {
      liveScript = null;
      resolve(false);
    });
    document.head.append(script);
  });
  return liveScript;
}

/**
 * A live element of live-view.js (its logic stays there): `camera` set, one camera's still and live panel;
 * unset, the grid of all cameras. `data-pfcam-live` keys it so that a redraw keeps it playing (adoptLive).
 */
function liveSlot(api, key, serial, label) {
  const grid = el('pfcam-live-grid', { api: api.url(''), camera: serial });
  return el('section', { class: 'pfcam-live-slot', 'data-pfcam-live': key, 'aria-label': label }, [grid]);
}

async function camerasScreen(view, api, state) {
  const { cameras } = await api.get('/cameras');
  // a job's progress line per camera, kept across redraws (the screen is drawn again when a camera changes)
  const jobs = state.jobs || (state.jobs = new Map());
  const [canTrigger, canReboot, canSettings, canLive, liveLoaded] = await Promise.all([
    api.can('events:trigger'),
    api.can('system:manage'),
    api.can('settings:manage'),
    api.can('streams:view'),
    loadLiveView(api.base),
  ]);
  const live = canLive && liveLoaded;
  view.append(el('h2', {}, ['Cameras']));
  if (cameras.length === 0) view.append(statusLine('No cameras are configured (or none of them is yours).'));
  if (canLive && !liveLoaded) view.append(statusLine('The live view is not available here.', 'error'));
  if (live && cameras.length > 0) {
    view.append(
      el('details', { class: 'pfcam-live-all', open: true }, [
        el('summary', { text: 'All cameras live (stills refresh every minute; click one to watch it live)' }),
        liveSlot(api, 'all', undefined, 'All cameras'),
      ]),
    );
  }
  for (const c of cameras) {
    const card = el('section', { class: `pfcam-card pfcam-${c.state}`, 'aria-label': `Camera ${c.name}` });
    const details = el('div', { class: 'pfcam-details' }, [statusLine('Reading the camera…')]);
    card.append(
      el('h3', { text: c.name }),
      el('dl', { class: 'pfcam-kv' }, [
        ...kv('State', c.state),
        ...kv('Serial', c.serial || '–'),
        ...kv('Last seen', c.lastSeen || 'never'),
        ...kv('Uptime', duration(c.uptime)),
        ...kv('Reboots', c.reboots),
        ...kv('Firmware', c.firmware || '–'),
      ]),
      live && c.serial ? liveSlot(api, `camera:${c.serial}`, c.serial, `Live view of ${c.name}`) : null,
      details,
    );
    view.append(card);
    if (!c.serial) continue;
    void api.get(`/cameras/${encodeURIComponent(c.serial)}`).then(
      (d) => {
        clear(details);
        details.append(cameraDetails(api, c, d, { canTrigger, canReboot, canSettings, jobs }));
      },
      (err) => {
        clear(details);
        details.append(statusLine(errorText(err), 'error'));
      },
    );
  }
}

function kv(k, v) {
  return [el('dt', { text: k }), el('dd', { text: v })];
}

function cameraDetails(api, c, d, can) {
  const path = `/cameras/${encodeURIComponent(c.serial)}`;
  const box = el('div');
  const read = (r, show) => (r.ok ? show(r.value) : `unavailable (${r.error})`);
  box.append(
    el('dl', { class: 'pfcam-kv' }, [
      ...kv(
        'Storage',
        read(
          d.storage,
          (s) => `${bytes(s.usedBytes)} of ${bytes(s.totalBytes)} (${s.recordings} recordings)`,
        ),
      ),
      ...kv(
        'Clock drift',
        read(d.clock, (k) => `${k.driftSeconds} s${k.ok ? '' : ' (too far off)'}`),
      ),
      ...kv(
        'Active events',
        read(d.activeEvents, (a) => (a.length ? a.map((e) => e.eventName || e.fileName).join(', ') : 'none')),
      ),
    ]),
  );
  if (can.canTrigger) {
    const name = el('input', { type: 'text', maxlength: 64, required: true });
    const post = el('input', { type: 'number', min: 0, max: 600, value: 5 });
    const form = el('form', { class: 'pfcam-inline', 'aria-label': `Trigger a recording on ${c.name}` }, [
      field('Event name', name),
      field('Post-event seconds', post),
      el('button', { type: 'submit', class: 'pfcam-button' }, ['Trigger']),
      button('Stop active events', () => act(api.post(`${path}/stop`, {}), () => toast(null, 'Stopped.'))),
    ]);
    form.addEventListener('submit', (ev) => {
      ev.preventDefault();
      void act(
        api.post(`${path}/trigger`, { eventName: name.value, postEventSeconds: Number(post.value) }),
        () => toast(null, 'Recording triggered.'),
      );
    });
    box.append(form);
  }
  if (can.canSettings && d.clock.ok && !d.clock.value.ok) {
    const ntp = el('input', { type: 'text', value: d.clock.value.ntpServer || 'pool.ntp.org' });
    box.append(
      el('div', { class: 'pfcam-inline' }, [
        field('NTP server', ntp),
        button('Fix the clock', () =>
          act(
            api
              .post(`${path}/clock/fix`, { ntpServer: ntp.value })
              .then((j) => follow(api, j, box, (line) => can.jobs.set(c.serial, line))),
          ),
        ),
      ]),
    );
  }
  if (can.canReboot) {
    box.append(
      button(
        'Reboot',
        () => {
          if (window.confirm(`Reboot ${c.name}?`))
            void act(
              api
                .post(`${path}/reboot`, {})
                .then((j) => follow(api, j, box, (line) => can.jobs.set(c.serial, line))),
            );
        },
        { class: 'pfcam-button pfcam-danger' },
      ),
    );
  }
  const running = can.jobs && can.jobs.get(c.serial);
  if (running) box.append(running);
  return box;
}

/** Follows a job until it ends, showing its progress in `host` (`keep` is handed the progress line). */
async function follow(api, job, host, keep) {
  const line = statusLine(`${job.kind}: waiting for the camera…`);
  host.append(line);
  if (keep) keep(line);
  let j = job;
  const started = Date.now();
  while (j.state === 'running' && Date.now() - started < 180000) {
    await new Promise((resolve) => setTimeout(resolve, 1000));
    j = await api.get(`/jobs/${job.id}`);
    line.textContent = `${j.kind}: ${j.state === 'running' ? `waiting for the camera (${Math.round((Date.now() - started) / 1000)} s)…` : j.state}`;
  }
  if (j.state === 'failed') line.textContent = `${j.kind} failed: ${j.error ? j.error.message : ''}`;
  else if (j.state === 'done') {
    const verified = j.result && j.result.verified === false ? ' — but not verified' : ' — back and verified';
    line.textContent = `${j.kind} done${j.kind === 'reboot' ? ' — camera back' : verified}`;
  }
  return j;
}

/** The message of a field's rule, checked before anything is sent (the server checks again). */
function checkRule(rule, value) {
  if (rule.kind === 'boolean') return typeof value === 'boolean' ? null : 'must be on or off';
  if (rule.kind === 'integer') {
    if (!Number.isInteger(value)) return 'must be a whole number';
    if (value < rule.min || value > rule.max) return `must be from ${rule.min} to ${rule.max}`;
    return null;
  }
  if (rule.kind === 'oneOf')
    return rule.values.includes(value) ? null : `must be one of ${rule.values.join(', ')}`;
  if (typeof value !== 'string') return 'must be text';
  if (value.length < rule.minLength || value.length > rule.maxLength)
    return `must be ${rule.minLength} to ${rule.maxLength} characters`;
  if (/[\u0000-\u001f\u007f]/.test(value)) return 'must not hold control characters';
  if (rule.format === 'ipv4' || (rule.format === 'ipv4OrEmpty' && value !== '')) {
    const ok = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(value);
    if (!ok || ok.slice(1).some((p) => Number(p) > 255)) return 'must be an IPv4 address (a.b.c.d)';
  }
  return null;
}

async function settingsScreen(view, api, state) {
  view.append(el('h2', {}, ['Camera settings']));
  if (!(await api.can('settings:manage'))) {
    view.append(statusLine('Camera settings are for managers and admins.', 'error'));
    return;
  }
  const { cameras } = await api.get('/cameras');
  const usable = cameras.filter((c) => c.serial);
  if (usable.length === 0) {
    view.append(statusLine('No camera to configure.'));
    return;
  }
  const pick = el(
    'select',
    {},
    usable.map((c) => el('option', { value: c.serial, text: `${c.name} (${c.serial})` })),
  );
  if (state.camera) pick.value = state.camera;
  const host = el('div');
  pick.addEventListener('change', () => {
    state.camera = pick.value;
    void show();
  });
  view.append(field('Camera', pick), host);
  async function show() {
    clear(host);
    host.append(statusLine('Reading the settings…'));
    const path = `/cameras/${encodeURIComponent(pick.value)}`;
    let form;
    try {
      form = await api.get(`${path}/settings`);
    } catch (err) {
      clear(host);
      host.append(statusLine(errorText(err), 'error'));
      return;
    }
    clear(host);
    const inputs = [];
    const formEl = el('form', { class: 'pfcam-settings', novalidate: true, 'aria-label': 'Settings' });
    for (const g of form.groups) {
      const fs = el('fieldset', {}, [el('legend', { text: g.group })]);
      for (const f of g.fields) {
        const input =
          f.rule.kind === 'boolean'
            ? el('input', { type: 'checkbox', checked: f.value === true })
            : f.rule.kind === 'oneOf'
              ? el(
                  'select',
                  {},
                  f.rule.values.map((v) => el('option', { value: v, text: v, selected: v === f.value })),
                )
              : el('input', {
                  type: f.rule.kind === 'integer' ? 'number' : 'text',
                  value: f.value === null ? '' : f.value,
                });
        const msg = el('span', { class: 'pfcam-field-error', id: nextId('err'), 'aria-live': 'polite' });
        input.setAttribute('aria-describedby', msg.id);
        inputs.push({ f, input, msg });
        fs.append(
          el('div', { class: 'pfcam-field' }, [
            el('label', { for: (input.id = nextId('s')), text: f.key }),
            input,
            msg,
          ]),
        );
      }
      formEl.append(fs);
    }
    const diffHost = el('div', { class: 'pfcam-diff', 'aria-live': 'polite' });
    const review = el('button', { type: 'submit', class: 'pfcam-button' }, ['Review changes']);
    formEl.append(
      el('p', {
        class: 'pfcam-warning',
        text: 'Saving restarts the camera: it is unreachable for up to a minute.',
      }),
      review,
      diffHost,
    );
    formEl.addEventListener('submit', (ev) => {
      ev.preventDefault();
      const changes = {};
      let bad = 0;
      for (const { f, input, msg } of inputs) {
        const value =
          f.rule.kind === 'boolean'
            ? input.checked
            : f.rule.kind === 'string'
              ? input.value
              : Number(input.value);
        if (value === f.value) {
          msg.textContent = '';
          input.removeAttribute('aria-invalid');
          continue;
        }
        const problem = checkRule(f.rule, value);
        msg.textContent = problem ? `${f.key} ${problem}` : '';
        if (problem) {
          bad++;
          input.setAttribute('aria-invalid', 'true');
        } else {
          input.removeAttribute('aria-invalid');
          changes[f.key] = value;
        }
      }
      clear(diffHost);
      if (bad > 0) {
        diffHost.append(statusLine(`${bad} field(s) need a change before anything is sent.`, 'error'));
        return;
      }
      void api.post(`${path}/settings/preview`, { changes }).then(
        (p) => {
          if (p.diff.length === 0) {
            diffHost.append(statusLine('Nothing to change.'));
            return;
          }
          diffHost.append(
            table(
              'Changes',
              ['Setting', 'Now', 'New'],
              p.diff.map((d) =>
                el('tr', {}, [
                  el('th', { scope: 'row', text: d.key }),
                  el('td', { text: String(d.from) }),
                  el('td', { text: String(d.to) }),
                ]),
              ),
            ),
            button('Save and restart the camera', () =>
              act(api.put(`${path}/settings`, { changes }).then((j) => follow(api, j, diffHost))),
            ),
          );
        },
        (err) => {
          const fields = (err.body && err.body.errors) || [];
          for (const e of fields) {
            const hit = inputs.find((i) => i.f.key === e.key);
            if (hit) hit.msg.textContent = e.message;
          }
          diffHost.append(statusLine(errorText(err), 'error'));
        },
      );
    });
    host.append(formEl, await liveControls(api, path));
  }
  await show();
}

async function liveControls(api, path) {
  const box = el('section', { class: 'pfcam-live-controls', 'aria-label': 'Live controls' }, [
    el('h3', {}, ['Live controls (no restart)']),
  ]);
  for (const resource of ['exposure', 'focus', 'overlay']) {
    try {
      const { values, rules } = await api.get(`${path}/live/${resource}`);
      const fs = el('fieldset', {}, [el('legend', { text: resource })]);
      for (const [key, rule] of Object.entries(rules)) {
        const input =
          rule.kind === 'boolean'
            ? el('input', { type: 'checkbox', checked: values[key] === true })
            : el('input', { type: 'number', value: values[key], min: rule.min, max: rule.max });
        input.addEventListener('change', () => {
          const value = rule.kind === 'boolean' ? input.checked : Number(input.value);
          const problem = checkRule(rule, value);
          if (problem) return toast(null, `${key} ${problem}`);
          void act(api.put(`${path}/live/${resource}`, { [key]: value }), () =>
            toast(null, `${resource} ${key} set`),
          );
        });
        fs.append(field(key, input));
      }
      box.append(fs);
    } catch (err) {
      box.append(statusLine(`${resource}: ${errorText(err)}`));
    }
  }
  return box;
}

async function alertsScreen(view, api) {
  const [{ alerts }, prefs] = await Promise.all([api.get('/alerts'), api.get('/alerts/preferences')]);
  view.append(el('h2', {}, ['Alerts']));
  view.append(
    alerts.length
      ? table(
          'Recent notifications',
          ['Time', 'Kind', 'Camera', 'Delivery'],
          alerts.map((a) =>
            el('tr', {}, [
              el('td', { text: a.createdAt }),
              el('td', { text: a.kind }),
              el('td', { text: a.camera || 'site' }),
              el('td', {
                text:
                  Object.entries(a.deliveries)
                    .map(
                      ([ch, s]) =>
                        `${ch}: ${Object.entries(s)
                          .map(([k, n]) => `${n} ${k}`)
                          .join(', ')}`,
                    )
                    .join('; ') || '–',
              }),
            ]),
          ),
        )
      : statusLine('No notifications yet.'),
  );
  const enabled = el('input', { type: 'checkbox', checked: prefs.enabled });
  const email = el('input', { type: 'checkbox', checked: prefs.channels.includes('email') });
  const dash = el('input', { type: 'checkbox', checked: prefs.channels.includes('dashboard') });
  const qs = el('input', { type: 'time', value: prefs.quietHours ? prefs.quietHours.start : '' });
  const qe = el('input', { type: 'time', value: prefs.quietHours ? prefs.quietHours.end : '' });
  const form = el('form', { class: 'pfcam-prefs', 'aria-label': 'My alert preferences' }, [
    el('h3', {}, ['My alert preferences']),
    field('Alerts on', enabled),
    field('By email', email),
    field('On the dashboard', dash),
    field('Quiet from', qs),
    field('Quiet until', qe),
    el('button', { type: 'submit', class: 'pfcam-button' }, ['Save preferences']),
  ]);
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    const channels = [email.checked ? 'email' : null, dash.checked ? 'dashboard' : null].filter(Boolean);
    void act(
      api.put('/alerts/preferences', {
        enabled: enabled.checked,
        channels,
        quietHours: qs.value && qe.value ? { start: qs.value, end: qe.value } : null,
      }),
      () => toast(null, 'Preferences saved.'),
    );
  });
  view.append(form);
}

async function systemScreen(view, api) {
  view.append(el('h2', {}, ['System']));
  if (!(await api.can('system:manage'))) {
    view.append(statusLine('The System screen is for admins.', 'error'));
    return;
  }
  const s = await api.get('/system');
  const p = s.retention.policy;
  view.append(
    el('dl', { class: 'pfcam-kv' }, [
      ...kv(
        'Disk',
        s.disk ? `${bytes(s.disk.availableBytes)} free of ${bytes(s.disk.totalBytes)}` : 'unknown',
      ),
      ...kv('Archive', `${s.recordings} recordings, ${bytes(s.storedBytes)}`),
      ...kv(
        'Backup backlog',
        `${s.backup.pendingCount} objects (${bytes(s.backup.pendingBytes)}), ${s.backup.failedCount} failed`,
      ),
      ...kv(
        'Retention',
        p
          ? `max age ${p.maxAgeDays ?? '–'} d, max size ${bytes(p.maxTotalBytes)}, keep flagged: ${p.keepFlagged ? 'yes' : 'no'}`
          : 'no policy configured',
      ),
    ]),
  );
  const dry = el('div', { 'aria-live': 'polite' });
  if (p) {
    view.append(
      button('What would retention delete next?', () =>
        act(
          api.post('/system/retention/dry-run', {}).then((r) => {
            clear(dry);
            dry.append(
              el('p', { text: `${r.removed} recordings (${bytes(r.freedBytes)}) would be deleted.` }),
              r.next.length
                ? table(
                    'Next deletions',
                    ['Time', 'Camera', 'Recording', 'Size', 'Why'],
                    r.next.map((n) =>
                      el('tr', {}, [
                        el('td', { text: n.localTime }),
                        el('td', { text: n.camera }),
                        el('td', { text: n.fileName }),
                        el('td', { text: bytes(n.bytes) }),
                        el('td', { text: n.reason }),
                      ]),
                    ),
                  )
                : null,
            );
          }),
        ),
      ),
      dry,
    );
  }
  view.append(rebuildSection(api, s.rebuild));
  view.append(
    table(
      'Storage per camera',
      ['Camera', 'Recordings', 'Size'],
      s.cameras.map((c) =>
        el('tr', {}, [
          el('th', { scope: 'row', text: c.name || c.camera }),
          el('td', { text: c.recordings }),
          el('td', { text: bytes(c.bytes) }),
        ]),
      ),
    ),
  );
}

/** The figures of a rebuild of the index (while it runs, and its result), as text. */
function rebuildFigures(r) {
  if (!r) return '';
  return `${r.found} recordings found in the bucket, ${r.added} added, ${r.skipped} skipped, ${r.errors} errors`;
}

/**
 * "Rebuild the index from S3" (admins): starts the job, follows it (progress, then the result), and shows the
 * last one when the screen is opened again. Refused by the server while one runs.
 */
function rebuildSection(api, rebuild) {
  const box = el('section', { class: 'pfcam-rebuild', 'aria-label': 'Rebuild the index from S3' }, [
    el('h3', { text: 'Rebuild the index from S3' }),
    el('p', {
      text: 'Adds the recordings backed up in the bucket that the index lacks. Nothing local is deleted or changed.',
    }),
  ]);
  const state = el('p', { class: 'pfcam-rebuild-state', role: 'status', 'aria-live': 'polite' });
  const failures = el('ul', { class: 'pfcam-rebuild-failures' });
  if (!rebuild || !rebuild.available) {
    box.append(statusLine('No S3 backup is configured for this dashboard.'));
    return box;
  }
  let following = false;
  function show(job) {
    clear(failures);
    if (job.state === 'running') {
      state.textContent = `Rebuilding the index… ${job.progress ? rebuildFigures(job.progress) : 'reading the bucket'}`;
    } else if (job.state === 'failed') {
      state.textContent = `The rebuild failed: ${job.error ? job.error.message : ''}`;
    } else {
      state.textContent = `Rebuild done: ${rebuildFigures(job.result)}.`;
      for (const f of (job.result && job.result.failures) || [])
        failures.append(el('li', { text: `${f.key}: ${f.error}` }));
    }
    start.disabled = job.state === 'running';
  }
  async function followJob(job) {
    if (following) return;
    following = true;
    try {
      let j = job;
      let shown = false;
      show(j);
      // until it ends, or the screen is drawn again (the new drawing follows it)
      while (j.state === 'running') {
        await new Promise((resolve) => setTimeout(resolve, 500));
        if (box.isConnected) shown = true;
        else if (shown) return;
        j = await api.get(`/jobs/${job.id}`);
        show(j);
      }
    } finally {
      following = false;
    }
  }
  const start = button('Rebuild the index from S3', () =>
    act(
      api.post('/system/rebuild-index', {}).then(followJob, (err) => {
        if (err instanceof ApiError && err.status === 409 && err.body && err.body.job)
          return followJob(err.body.job);
        throw err;
      }),
    ),
  );
  box.append(start, state, failures);
  if (rebuild.job) void followJob(rebuild.job).catch((err) => (state.textContent = errorText(err)));
  return box;
}

/** Moves the live elements of the old view into the same places of the new one: what plays keeps playing. */
function adoptLive(old, fresh) {
  const kept = new Map();
  for (const slot of old.querySelectorAll('[data-pfcam-live]')) kept.set(slot.dataset.pfcamLive, slot);
  for (const slot of fresh.querySelectorAll('[data-pfcam-live]')) {
    const previous = kept.get(slot.dataset.pfcamLive);
    if (!previous || !previous.firstElementChild) continue;
    clear(slot);
    slot.append(previous.firstElementChild);
  }
}

const SCREENS = {
  overview: overviewScreen,
  recordings: recordingsScreen,
  cameras: camerasScreen,
  'camera-settings': settingsScreen,
  alerts: alertsScreen,
  system: systemScreen,
};

/** Screens whose content a new recording changes (these refetch and toast). */
const REFRESH_ON = {
  recordings: ['recordings'],
  overview: ['recordings', 'cameras'],
  cameras: ['cameras'],
  alerts: ['alerts', 'recordings'],
};

function addStyle(base) {
  if (styleAdded) return;
  styleAdded = true;
  document.head.append(el('link', { rel: 'stylesheet', href: `${base}/pfcam-ui/assets/pfcam-ui.css` }));
}

/**
 * Mounts a screen into the widget's element. Returns `{ push, unmount }`: `push` takes the socket's "changed"
 * message and refetches what the page shows (debounced), `unmount` stops it.
 */
export function mount(cfg) {
  return mountScreen(cfg, SCREENS);
}

/** `mount` over another module's screens (`security-screens.mjs`): `screens` maps a name to its renderer. */
export function mountScreen(cfg, screens) {
  addStyle(cfg.base);
  const root = document.querySelector(`[data-pfcam-node="${cfg.node}"]`);
  const api = client(cfg.base);
  const state = {};
  const view = el('div', { class: 'pfcam-view', 'data-screen': cfg.screen, 'aria-busy': 'true' });
  let timer = null;
  let lastAt = 0;
  async function draw() {
    const fresh = el('div', { class: 'pfcam-view', 'data-screen': cfg.screen });
    try {
      await screens[cfg.screen](fresh, api, state);
    } catch (err) {
      fresh.append(statusLine(errorText(err), 'error'));
    }
    adoptLive(view, fresh);
    clear(view);
    view.append(...fresh.childNodes);
    view.setAttribute('aria-busy', 'false');
    view.setAttribute('data-ready', 'true');
  }
  if (root) {
    root.append(view);
    view.append(statusLine('Loading…'));
    void draw();
  }
  const handle = {
    push(payload) {
      if (!payload || payload.at === lastAt) return;
      lastAt = payload.at;
      const wanted = REFRESH_ON[cfg.screen] || [];
      if (!wanted.includes(payload.changed)) return;
      if (payload.changed === 'recordings' && (cfg.screen === 'recordings' || cfg.screen === 'overview'))
        toast(root, `New or changed recording${payload.camera ? ` on ${payload.camera}` : ''}`);
      clearTimeout(timer);
      timer = setTimeout(() => {
        if (cfg.screen === 'recordings' && state.reload) void state.reload();
        else void draw();
      }, 150);
    },
    unmount() {
      clearTimeout(timer);
      mounts.delete(handle);
      view.remove();
    },
  };
  mounts.add(handle);
  return handle;
}

/** The helpers other screen modules build on (`security-screens.mjs`). */
export { el, clear, nextId, client, ApiError, errorText, statusLine, toast, button, field, table };
