/**
 * Node-RED settings of the shipped PFCAM application (`npm start`). Node-RED's own reference:
 * https://nodered.org/docs/user-guide/runtime/settings-file
 *
 * Environment:
 *   PORT                    HTTP port of the editor and the dashboard (default 1880)
 *   PFCAM_HOST              address to listen on (default 127.0.0.1; 0.0.0.0 to serve the network)
 *   PFCAM_DATA              data folder: Node-RED user directory, database, media (default ./.pfcam-data)
 *   PFCAM_CREDENTIAL_SECRET key that encrypts node credentials (default: generated once, kept in PFCAM_DATA)
 *   PFCAM_ADMIN_USER, PFCAM_ADMIN_PASSWORD, PFCAM_ADMIN_TOTP_SECRET
 *                           the first admin, created when there is none (default: "admin" with a one-time
 *                           password printed once, to change at first login)
 *   PFCAM_SESSION_IDLE_SECONDS
 *                           a dashboard session ends after this many seconds without a request (default 1800)
 *   PFCAM_TLS_CERT, PFCAM_TLS_KEY
 *                           PEM certificate and private key: editor, dashboard and APIs over HTTPS only, with HSTS
 *                           and a Secure session cookie (default: plain HTTP, for a proxy in front on 127.0.0.1)
 *   PFCAM_TLS_CA            PEM intermediate certificates sent with the certificate (optional)
 *   PFCAM_TLS_REFRESH_HOURS how often the certificate files are read again, to serve a renewed one (default 12)
 *   PFCAM_TRUSTED_PROXIES   proxies whose X-Forwarded-For gives the client's address to the audit log and the
 *                           login rate limits: addresses, CIDR ranges, "loopback" (default: none)
 */
'use strict';
const crypto = require('node:crypto');
const fs = require('node:fs');
const path = require('node:path');

const dataDir = path.resolve(process.env.PFCAM_DATA || path.join(__dirname, '.pfcam-data'));

/** The key for flows_cred.json: from the environment, else generated once and kept readable by us alone. */
function credentialSecret() {
  if (process.env.PFCAM_CREDENTIAL_SECRET) return process.env.PFCAM_CREDENTIAL_SECRET;
  const file = path.join(dataDir, 'credential-secret');
  try {
    return fs.readFileSync(file, 'utf8').trim();
  } catch {
    fs.mkdirSync(dataDir, { recursive: true });
    const secret = crypto.randomBytes(32).toString('hex');
    fs.writeFileSync(file, secret + '\n', { mode: 0o600, flag: 'wx' });
    return secret;
  }
}

// ---- https (lib/ops/tls-settings.ts): refuses to start on half a configuration or an unreadable file ----
const { tlsSettingsFromEnv } = require('./dist/lib/ops/tls-settings');
const tls = tlsSettingsFromEnv(process.env);
// ---- end of https ----

// ---- security (dashboard/security.ts): users, sessions, the editor login, the dashboard's login and socket ----
/**
 * The security module of the package, from its built output. The editor (adminAuth), the dashboard pages
 * (ui.middleware), the dashboard socket (ui.ioMiddleware) and the dashboard API (pfcam.security, mounted by the
 * pfcam-guard node module) all authenticate through it. Every entry point waits until its tables are open.
 */
const { createSecurity } = require('./dist/dashboard/security');
/** Seconds without a request after which a dashboard session ends (PFCAM_SESSION_IDLE_SECONDS), or undefined. */
function sessionIdleMs() {
  const raw = process.env.PFCAM_SESSION_IDLE_SECONDS;
  if (raw === undefined || raw.trim() === '') return undefined;
  const seconds = Number(raw);
  if (!Number.isFinite(seconds) || seconds <= 0)
    throw new Error(`PFCAM_SESSION_IDLE_SECONDS must be a positive number of seconds, not "${raw}"`);
  return seconds * 1000;
}
const secured = createSecurity({ dataDir, idleMs: sessionIdleMs() });
secured.ready.catch(() => undefined); // logged by createSecurity; every request then answers 503
const SESSION_EXPIRY_S = 12 * 60 * 60;
// ---- end of security ----

module.exports = {
  uiPort: Number(process.env.PORT || 1880),
  uiHost: process.env.PFCAM_HOST || '127.0.0.1',
  flowFile: 'flows.json',
  flowFilePretty: true,
  credentialSecret: credentialSecret(),

  /** Read by the pfcam-store node: where the database and the media live unless a node says otherwise. */
  pfcam: {
    dataDir,
    security: secured.security,
  },

  /**
   * HTTPS when certificate files are given: Node-RED calls `https` at the start and every
   * `httpsRefreshInterval` hours, and serves a renewed certificate from then on (no restart).
   */
  ...(tls ? { https: tls.https, httpsRefreshInterval: tls.httpsRefreshInterval } : {}),

  /** The editor: admins only, password immediately followed by the current 6-digit code. */
  adminAuth: secured.adminAuth,
  /**
   * Runs first for every HTTP request (the editor is mounted at /, before the dashboard and the APIs): HSTS on
   * every response when serving HTTPS.
   */
  httpAdminMiddleware: tls
    ? (req, res, next) => tls.hsts(req, res, () => secured.httpAdminMiddleware(req, res, next))
    : secured.httpAdminMiddleware,
  /** The editor's login token lifetime (seconds), like a dashboard session's absolute limit. */
  sessionExpiryTime: SESSION_EXPIRY_S,

  /** The dashboard: pages and socket only for a signed-in user (login at /pfcam/login). */
  ui: { path: 'ui', middleware: secured.uiMiddleware, ioMiddleware: secured.ioMiddleware },

  diagnostics: { enabled: false, ui: false },
  runtimeState: { enabled: false, ui: false },
  telemetry: { enabled: false },

  logging: {
    console: { level: 'info', metrics: false, audit: false },
  },

  exportGlobalContextKeys: false,
  externalModules: {
    autoInstall: false,
    palette: { allowInstall: false },
    modules: { allowInstall: false },
  },

  editorTheme: {
    projects: { enabled: false },
    palette: {},
    tours: false,
  },

  functionExternalModules: false,
  functionTimeout: 30,
};
