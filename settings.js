/**
 * Node-RED settings of the shipped PFCAM application (`npm start`). Node-RED's own reference:
 * https://nodered.org/docs/user-guide/runtime/settings-file
 *
 * Environment:
 *   PORT                    HTTP port of the editor and the dashboard (default 1880)
 *   PFCAM_HOST              address to listen on (default 127.0.0.1; 0.0.0.0 to serve the network)
 *   PFCAM_DATA              data folder: Node-RED user directory, database, media (default ./.pfcam-data)
 *   PFCAM_CREDENTIAL_SECRET key that encrypts node credentials (default: generated once, kept in PFCAM_DATA)
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

module.exports = {
  uiPort: Number(process.env.PORT || 1880),
  uiHost: process.env.PFCAM_HOST || '127.0.0.1',
  flowFile: 'flows.json',
  flowFilePretty: true,
  credentialSecret: credentialSecret(),

  /** Read by the pfcam-store node: where the database and the media live unless a node says otherwise. */
  pfcam: {
    dataDir,
  },

  ui: { path: 'ui' },

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
