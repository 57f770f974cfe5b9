/**
 * The account, user and audit screens of the pfcam dashboard (an ES module loaded by the `pfcam-ui-account`,
 * `pfcam-ui-users` and `pfcam-ui-audit` widgets). What the server answers goes into the page as text only
 * (textContent), never as markup. The server decides who sees what: a refusal (403) is shown as "no
 * permission" and nothing else of the screen is drawn. A one-time password, a token secret or recovery codes
 * are shown once, when the server answers them, and are kept nowhere.
 */
import {
  ApiError,
  button,
  clear,
  el,
  errorText,
  field,
  mountScreen,
  nextId,
  statusLine,
  table,
  toast,
} from './pfcam-ui.mjs';

const ROLES = ['viewer', 'manager', 'admin'];
/** The scopes an API token may hold (lib/auth/permissions.ts TOKEN_SCOPES; the server checks them). */
const TOKEN_SCOPES = [
  'events:view',
  'streams:view',
  'cameras:view',
  'events:download',
  'events:annotate',
  'events:trigger',
];

/** The text of a failed request: the security routes answer `{ error: "..." }`. */
function problem(err) {
  if (err instanceof ApiError) {
    if (err.status === 403) return 'No permission: your role does not allow this.';
    if (err.body && typeof err.body.error === 'string' && err.status !== 401)
      return `${err.body.error} (${err.status})`;
  }
  return errorText(err);
}

/** Runs an action, shows its failure in `where` (a live region) or as a toast, then `after`. */
async function run(where, promise, after) {
  try {
    const result = await promise;
    if (after) await after(result);
    return result;
  } catch (err) {
    if (where) {
      clear(where);
      where.append(statusLine(problem(err), 'error'));
    } else toast(null, problem(err));
    return undefined;
  }
}

function time(iso) {
  if (!iso) return '–';
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? String(iso) : d.toLocaleString();
}

/** "a, b , c" → ['a','b','c']; empty → null (every camera). */
function serials(text) {
  const list = text
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  return list.length ? list : null;
}

const scopeText = (cameras) =>
  cameras === null || cameras === undefined ? 'all cameras' : cameras.join(', ');

/** A box for a secret answered once: labelled, with the note that it is not shown again. */
function once(title, note, values) {
  const id = nextId('once');
  return el('section', { class: 'pfcam-once', role: 'status', 'aria-labelledby': id }, [
    el('h3', { id, text: title }),
    el('p', { text: note }),
    values.length === 1
      ? el('p', {}, [el('code', { class: 'pfcam-secret', text: values[0] })])
      : el(
          'ol',
          { class: 'pfcam-codes' },
          values.map((v) => el('li', {}, [el('code', { class: 'pfcam-secret', text: v })])),
        ),
  ]);
}

/** The first request of an admin screen: on a refusal the screen shows that and nothing else. */
async function firstLoad(view, promise) {
  try {
    return await promise;
  } catch (err) {
    if (err instanceof ApiError && err.status === 403) {
      view.append(statusLine('No permission: this screen is for admins.', 'error'));
      return undefined;
    }
    throw err;
  }
}

// ------------------------------------------------------------------------------------------ My account

async function accountScreen(view, api) {
  const me = await api.session();
  view.append(el('h2', {}, ['My account']));
  if (me && me.user)
    view.append(el('p', { class: 'pfcam-whoami', text: `Signed in as ${me.user.name} (${me.user.role})` }));
  const base = api.url('').replace(/\/pfcam\/api$/, '');
  const signOutMsg = el('div', { 'aria-live': 'polite' });
  view.append(
    button(
      'Sign out',
      () =>
        run(
          signOutMsg,
          fetch(`${base}/pfcam/logout`, {
            method: 'POST',
            credentials: 'same-origin',
            headers: { 'X-CSRF-Token': (me && me.csrfToken) || '' },
          }).then(async (res) => {
            if (!res.ok) throw new ApiError(res.status, await res.json().catch(() => null));
          }),
          () => window.location.assign(`${base}/pfcam/login`),
        ),
      { class: 'pfcam-button pfcam-signout' },
    ),
    signOutMsg,
  );

  // sessions
  const sessionsHost = el('div', { class: 'pfcam-table-host' });
  const sessionsMsg = el('div', { 'aria-live': 'polite' });
  view.append(el('h3', {}, ['My sessions']), sessionsMsg, sessionsHost);
  async function loadSessions() {
    const { sessions } = await api.get('/account/sessions');
    clear(sessionsHost);
    const others = sessions.filter((s) => !s.current);
    sessionsHost.append(
      table(
        'My sessions',
        ['Session', 'Started', 'Last seen', 'Address', 'Browser', 'Action'],
        sessions.map((s, i) =>
          el('tr', { class: s.current ? 'pfcam-current' : undefined }, [
            el('th', { scope: 'row', text: s.current ? 'This session' : `Session ${i + 1}` }),
            el('td', { text: time(s.createdAt) }),
            el('td', { text: time(s.lastSeenAt) }),
            el('td', { text: s.ip || '–' }),
            el('td', { class: 'pfcam-wrap', text: s.userAgent || '–' }),
            el('td', {}, [
              s.current
                ? el('span', { text: 'this one' })
                : button(
                    'End',
                    () =>
                      run(
                        sessionsMsg,
                        api.del(`/account/sessions/${encodeURIComponent(s.handle)}`),
                        async () => {
                          toast(null, 'Session ended.');
                          await loadSessions();
                        },
                      ),
                    { 'aria-label': `End session ${i + 1} (${s.userAgent || s.ip || 'unknown'})` },
                  ),
            ]),
          ]),
        ),
      ),
      button(
        'Log out everywhere else',
        () =>
          run(
            sessionsMsg,
            Promise.all(others.map((s) => api.del(`/account/sessions/${encodeURIComponent(s.handle)}`))),
            async () => {
              clear(sessionsMsg);
              sessionsMsg.append(statusLine(`${others.length} other session(s) ended.`));
              await loadSessions();
            },
          ),
        { disabled: others.length === 0, class: 'pfcam-button pfcam-danger' },
      ),
    );
  }
  await loadSessions();

  // password
  const current = el('input', { type: 'password', autocomplete: 'current-password', required: true });
  const next = el('input', { type: 'password', autocomplete: 'new-password', minlength: 12, required: true });
  const again = el('input', {
    type: 'password',
    autocomplete: 'new-password',
    minlength: 12,
    required: true,
  });
  const pwMsg = el('div', { 'aria-live': 'polite' });
  const pwForm = el('form', { class: 'pfcam-inline', 'aria-label': 'Change my password' }, [
    field('Current password', current),
    field('New password (12 characters or more)', next),
    field('New password again', again),
    el('button', { type: 'submit', class: 'pfcam-button' }, ['Change password']),
  ]);
  pwForm.addEventListener('submit', (ev) => {
    ev.preventDefault();
    clear(pwMsg);
    if (next.value !== again.value) {
      pwMsg.append(statusLine('The new passwords differ.', 'error'));
      return;
    }
    void run(
      pwMsg,
      api.post('/account/password', { currentPassword: current.value, newPassword: next.value }),
      async (r) => {
        current.value = next.value = again.value = '';
        pwMsg.append(statusLine(`Password changed; ${r.otherSessionsEnded} other session(s) ended.`));
        await loadSessions();
      },
    );
  });
  view.append(el('h3', {}, ['Change password']), pwForm, pwMsg);

  // recovery codes
  const codesHost = el('div', { 'aria-live': 'polite' });
  view.append(
    el('h3', {}, ['Recovery codes']),
    el('p', {
      text: 'Each code signs you in once instead of the authenticator code. New codes replace the old ones.',
    }),
    button('Regenerate recovery codes', () => {
      if (!window.confirm('Make new recovery codes? The old ones stop working.')) return;
      void run(codesHost, api.post('/account/recovery-codes', {}), (r) => {
        clear(codesHost);
        codesHost.append(
          once(
            'New recovery codes',
            'Shown only now: write them down or store them safely. The old codes no longer work.',
            r.recoveryCodes,
          ),
        );
      });
    }),
    codesHost,
  );
}

// ------------------------------------------------------------------------------------------------- Users

async function usersScreen(view, api) {
  view.append(el('h2', {}, ['Users']));
  const first = await firstLoad(view, api.get('/users'));
  if (!first) return;
  const secretHost = el('div', { 'aria-live': 'polite' });
  const msg = el('div', { 'aria-live': 'polite' });
  const listHost = el('div', { class: 'pfcam-table-host' });

  const name = el('input', { type: 'text', autocomplete: 'off', required: true, maxlength: 64 });
  const role = el(
    'select',
    {},
    ROLES.map((r) => el('option', { value: r, text: r })),
  );
  const cameras = el('input', { type: 'text', autocomplete: 'off', placeholder: 'all cameras' });
  const create = el('form', { class: 'pfcam-inline', 'aria-label': 'Create a user' }, [
    field('User name', name),
    field('Role', role),
    field('Cameras (serials, comma separated; empty: all)', cameras),
    el('button', { type: 'submit', class: 'pfcam-button' }, ['Create user']),
  ]);
  create.addEventListener('submit', (ev) => {
    ev.preventDefault();
    clear(msg);
    void run(
      msg,
      api.post('/users', { name: name.value.trim(), role: role.value, cameras: serials(cameras.value) }),
      async (r) => {
        name.value = cameras.value = '';
        clear(secretHost);
        secretHost.append(
          once(
            `One-time password for ${r.user.name}`,
            'Shown only now: give it to the user. At first sign-in they choose their own password and set up an authenticator.',
            [r.password],
          ),
        );
        await loadUsers();
      },
    );
  });

  function userRow(u) {
    const who = u.name;
    const roleSel = el(
      'select',
      { 'aria-label': `Role of ${who}` },
      ROLES.map((r) => el('option', { value: r, text: r, selected: r === u.role })),
    );
    const camIn = el('input', {
      type: 'text',
      'aria-label': `Cameras of ${who} (empty: all)`,
      value: u.cameras ? u.cameras.join(', ') : '',
      placeholder: 'all cameras',
      size: 14,
    });
    const state = [
      u.disabled ? 'disabled' : 'active',
      u.mfaEnrolled ? 'authenticator set up' : 'no authenticator',
      u.mustChangePassword ? 'must change password' : '',
    ]
      .filter(Boolean)
      .join(', ');
    const after = (text) => async () => {
      toast(null, text);
      await loadUsers();
    };
    return el('tr', { 'data-user': who }, [
      el('th', { scope: 'row', text: who }),
      el('td', {}, [roleSel]),
      el('td', {}, [camIn]),
      el('td', { text: state }),
      el('td', { text: time(u.createdAt) }),
      el('td', {}, [
        el('div', { class: 'pfcam-actions' }, [
          button(
            'Save',
            () =>
              run(
                msg,
                api.patch(`/users/${u.id}`, { role: roleSel.value, cameras: serials(camIn.value) }),
                after(`${who}: saved`),
              ),
            { 'aria-label': `Save role and cameras of ${who}` },
          ),
          button(
            u.disabled ? 'Enable' : 'Disable',
            () =>
              run(
                msg,
                api.patch(`/users/${u.id}`, { disabled: !u.disabled }),
                after(`${who}: ${u.disabled ? 'enabled' : 'disabled'}`),
              ),
            { 'aria-label': `${u.disabled ? 'Enable' : 'Disable'} ${who}` },
          ),
          button(
            'Reset MFA',
            () => {
              if (
                !window.confirm(`Reset the authenticator and recovery codes of ${who}? Their sessions end.`)
              )
                return;
              void run(msg, api.post(`/users/${u.id}/reset-mfa`, {}), after(`${who}: MFA reset`));
            },
            { 'aria-label': `Reset MFA of ${who}` },
          ),
          button(
            'Delete',
            () => {
              if (!window.confirm(`Delete the user ${who}? This cannot be undone.`)) return;
              void run(msg, api.del(`/users/${u.id}`), after(`${who}: deleted`));
            },
            { class: 'pfcam-button pfcam-danger', 'aria-label': `Delete ${who}` },
          ),
        ]),
      ]),
    ]);
  }

  async function loadUsers(answer) {
    const { users } = answer || (await api.get('/users'));
    clear(listHost);
    listHost.append(
      users.length
        ? table('Users', ['Name', 'Role', 'Cameras', 'State', 'Created', 'Actions'], users.map(userRow))
        : statusLine('No users.'),
    );
  }

  view.append(
    el('h3', {}, ['Create a user']),
    create,
    secretHost,
    msg,
    el('h3', {}, ['All users']),
    listHost,
  );
  await loadUsers(first);
  await tokensPart(view, api);
}

async function tokensPart(view, api) {
  const host = el('section', { class: 'pfcam-tokens', 'aria-labelledby': 'pfcam-tokens-h' }, [
    el('h3', { id: 'pfcam-tokens-h' }, ['API tokens']),
  ]);
  view.append(host);
  let answer;
  try {
    answer = await api.get('/tokens');
  } catch (err) {
    host.append(statusLine(problem(err), 'error'));
    return;
  }
  const secretHost = el('div', { 'aria-live': 'polite' });
  const msg = el('div', { 'aria-live': 'polite' });
  const listHost = el('div', { class: 'pfcam-table-host' });
  const label = el('input', { type: 'text', autocomplete: 'off', required: true, maxlength: 64 });
  const cameras = el('input', { type: 'text', autocomplete: 'off', placeholder: 'all cameras' });
  const boxes = TOKEN_SCOPES.map((s) => ({
    s,
    box: el('input', { type: 'checkbox', checked: s === 'events:view' }),
  }));
  const scopes = el(
    'fieldset',
    { class: 'pfcam-scopes' },
    [el('legend', { text: 'Scopes' })].concat(
      boxes.map(({ s, box }) => {
        box.id = nextId('scope');
        return el('span', { class: 'pfcam-check' }, [box, el('label', { for: box.id, text: s })]);
      }),
    ),
  );
  const form = el('form', { class: 'pfcam-inline', 'aria-label': 'Create an API token' }, [
    field('Token label', label),
    field('Token cameras (serials, comma separated; empty: all)', cameras),
    scopes,
    el('button', { type: 'submit', class: 'pfcam-button' }, ['Create token']),
  ]);
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    clear(msg);
    void run(
      msg,
      api.post('/tokens', {
        label: label.value.trim(),
        scopes: boxes.filter((b) => b.box.checked).map((b) => b.s),
        cameras: serials(cameras.value),
      }),
      async (r) => {
        label.value = cameras.value = '';
        clear(secretHost);
        secretHost.append(
          once(
            `Token ${r.token.label}`,
            'Shown only now: copy it into the integration. Send it as "Authorization: Bearer <token>".',
            [r.secret],
          ),
        );
        await load();
      },
    );
  });
  async function load(given) {
    const { tokens } = given || (await api.get('/tokens'));
    clear(listHost);
    listHost.append(
      tokens.length
        ? table(
            'API tokens',
            ['Label', 'Scopes', 'Cameras', 'Created', 'Last used', 'State'],
            tokens.map((t) =>
              el('tr', {}, [
                el('th', { scope: 'row', text: t.label }),
                el('td', { class: 'pfcam-wrap', text: t.scopes.join(', ') }),
                el('td', { text: scopeText(t.cameras) }),
                el('td', { text: `${time(t.createdAt)} by ${t.createdBy}` }),
                el('td', { text: time(t.lastUsedAt) }),
                el('td', {}, [
                  t.revokedAt
                    ? el('span', { text: `revoked ${time(t.revokedAt)}` })
                    : button(
                        'Revoke',
                        () => {
                          if (
                            !window.confirm(
                              `Revoke the token ${t.label}? Integrations using it stop working.`,
                            )
                          )
                            return;
                          void run(msg, api.del(`/tokens/${t.id}`), async () => {
                            toast(null, `Token ${t.label} revoked`);
                            await load();
                          });
                        },
                        { class: 'pfcam-button pfcam-danger', 'aria-label': `Revoke token ${t.label}` },
                      ),
                ]),
              ]),
            ),
          )
        : statusLine('No API tokens.'),
    );
  }
  host.append(form, secretHost, msg, listHost);
  await load(answer);
}

// ------------------------------------------------------------------------------------------------- Audit

/** A `datetime-local` value as an ISO time, or undefined. */
function isoOf(local) {
  if (!local) return undefined;
  const d = new Date(local);
  return Number.isNaN(d.getTime()) ? undefined : d.toISOString();
}

async function auditScreen(view, api, state) {
  view.append(el('h2', {}, ['Audit']));
  const f = state.filters || (state.filters = {});
  const query = (before) => {
    const p = new URLSearchParams();
    if (f.user) p.set('user', f.user);
    if (f.action) p.set('action', f.action);
    if (f.outcome) p.set('outcome', f.outcome);
    const from = isoOf(f.from);
    const to = isoOf(f.to);
    if (from) p.set('from', from);
    if (to) p.set('to', to);
    p.set('limit', '50');
    if (before) p.set('before', String(before));
    return `/audit?${p}`;
  };
  const firstQuery = query();
  const first = await firstLoad(view, api.get(firstQuery));
  if (!first) return;
  const inputs = {
    user: el('input', { type: 'text', value: f.user || '', autocomplete: 'off' }),
    action: el('input', {
      type: 'text',
      value: f.action || '',
      autocomplete: 'off',
      placeholder: 'user.create',
    }),
    outcome: el('select', {}, [
      el('option', { value: '', text: 'any' }),
      ...['ok', 'denied', 'failed'].map((o) =>
        el('option', { value: o, text: o, selected: f.outcome === o }),
      ),
    ]),
    from: el('input', { type: 'datetime-local', value: f.from || '' }),
    to: el('input', { type: 'datetime-local', value: f.to || '' }),
  };
  const form = el('form', { class: 'pfcam-filters', role: 'search', 'aria-label': 'Filter the audit log' }, [
    field('User', inputs.user),
    field('Action', inputs.action),
    field('Outcome', inputs.outcome),
    field('From', inputs.from),
    field('To', inputs.to),
    el('button', { type: 'submit', class: 'pfcam-button' }, ['Apply filters']),
  ]);
  const host = el('div', { class: 'pfcam-table-host', 'aria-live': 'polite' });
  const more = el('div', { class: 'pfcam-more' });
  let items = [];
  /** Draws a page of records; `shown` (the query answered) goes on the table host as `data-query`. */
  function render(page, append, shown) {
    host.setAttribute('data-query', shown);
    items = append ? items.concat(page.items) : page.items;
    clear(host);
    clear(more);
    host.append(
      items.length
        ? table(
            'Audit log',
            ['Time', 'User', 'Action', 'Outcome', 'Target', 'Detail', 'Address'],
            items.map((r) =>
              el('tr', { 'data-action': r.action }, [
                el('td', { text: time(r.at) }),
                el('td', { text: r.actor }),
                el('th', { scope: 'row', text: r.action }),
                el('td', { class: `pfcam-outcome-${r.outcome}`, text: r.outcome }),
                el('td', { text: r.target || (r.camera ? `camera ${r.camera}` : '–') }),
                el('td', { class: 'pfcam-wrap', text: r.detail || '–' }),
                el('td', { text: r.ip || '–' }),
              ]),
            ),
          )
        : statusLine('No audit records match these filters.'),
    );
    if (page.next) more.append(button('Older entries', () => load(page.next)));
  }
  async function load(before) {
    const q = query(before);
    await run(host, api.get(q), (page) => render(page, before !== undefined, q));
  }
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    for (const k of Object.keys(inputs)) f[k] = inputs[k].value.trim();
    void load();
  });
  view.append(form, host, more);
  render(first, false, firstQuery);
}

const SCREENS = { account: accountScreen, users: usersScreen, audit: auditScreen };

/** Mounts one of these screens into its widget's element (see `mountScreen` in pfcam-ui.mjs). */
export function mount(cfg) {
  return mountScreen(cfg, SCREENS);
}
