'use strict';
// The shipped application's flows are kept one file per concern in flows/ (each a tab with its nodes, plus the
// config nodes it owns). Node-RED reads one flows file: composeFlows joins them, dropping repeated config nodes.
//
// The flows read their addresses from the environment (`${VAR}` properties, which Node-RED substitutes when a
// flow starts): the cameras' URLs, the S3 endpoint and bucket, the MQTT broker. applyServices turns off the parts
// whose outside service is not configured, so that they stay quiet instead of failing every few seconds.
const fs = require('node:fs');
const path = require('node:path');

/** Number of cameras the shipped flows address (PFCAM_CAMERA_1_URL ... PFCAM_CAMERA_3_URL). */
const SHIPPED_CAMERAS = 3;
const DEFAULT_SIMULATOR_PORT = 8081;

function composeFlows(dir) {
  const files = fs
    .readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .sort();
  const seen = new Map();
  const flows = [];
  for (const file of files) {
    const nodes = JSON.parse(fs.readFileSync(path.join(dir, file), 'utf8'));
    if (!Array.isArray(nodes)) throw new Error(`${file}: a flows file must hold an array of nodes`);
    for (const n of nodes) {
      if (seen.has(n.id)) {
        if (JSON.stringify(seen.get(n.id)) !== JSON.stringify(n)) {
          throw new Error(`${file}: node ${n.id} is defined differently in another flows file`);
        }
        continue;
      }
      seen.set(n.id, n);
      flows.push(n);
    }
  }
  return flows;
}

function set(value) {
  return typeof value === 'string' && value.trim() !== '';
}

/**
 * The simulated cameras' first port: PFCAM_SIMULATOR_PORT (camera i listens on it + i), default 8081; 0 lets
 * each camera take a free port (npm start then hands the flows the addresses they got).
 */
function simulatorBasePort(env = process.env) {
  if (!set(env.PFCAM_SIMULATOR_PORT)) return DEFAULT_SIMULATOR_PORT;
  const text = env.PFCAM_SIMULATOR_PORT.trim();
  const port = Number(text);
  if (!/^\d+$/.test(text) || port + SHIPPED_CAMERAS - 1 > 65535) {
    throw new Error(
      `PFCAM_SIMULATOR_PORT must be a port number from 0 to ${65536 - SHIPPED_CAMERAS}: "${text}"`,
    );
  }
  return port;
}

/**
 * The environment the shipped flows read, completed with defaults: each camera URL (else the simulated camera's
 * address), the S3 region and bucket. Values already in `env` win. Keys are never part of it: S3 keys come from
 * AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY (the SDK's default chain), never from flows.json.
 */
function flowsEnv(env = process.env) {
  const base = simulatorBasePort(env);
  const out = {};
  for (let i = 1; i <= SHIPPED_CAMERAS; i++) {
    const name = `PFCAM_CAMERA_${i}_URL`;
    out[name] = set(env[name]) ? env[name].trim() : base === 0 ? '' : `http://127.0.0.1:${base + i - 1}`;
  }
  out.PFCAM_S3_ENDPOINT = set(env.PFCAM_S3_ENDPOINT) ? env.PFCAM_S3_ENDPOINT.trim() : '';
  out.PFCAM_S3_REGION = set(env.PFCAM_S3_REGION) ? env.PFCAM_S3_REGION.trim() : 'us-east-1';
  out.PFCAM_S3_BUCKET = set(env.PFCAM_S3_BUCKET) ? env.PFCAM_S3_BUCKET.trim() : 'pfcam-archive';
  out.PFCAM_S3_PREFIX = set(env.PFCAM_S3_PREFIX) ? env.PFCAM_S3_PREFIX.trim() : 'site-1';
  out.MQTT_HOST = set(env.MQTT_HOST) ? env.MQTT_HOST.trim() : '';
  out.MQTT_PORT = set(env.MQTT_PORT) ? env.MQTT_PORT.trim() : '1883';
  return out;
}

/** Which outside services the environment configures: S3 needs a bucket or an endpoint, MQTT a host. */
function configuredServices(env = process.env) {
  return {
    s3: set(env.PFCAM_S3_BUCKET) || set(env.PFCAM_S3_ENDPOINT),
    mqtt: set(env.MQTT_HOST),
  };
}

/**
 * Returns the flows with the nodes of an unconfigured service disabled (`d: true`: Node-RED does not start them,
 * and the editor shows them greyed out): the backup nodes without S3, the MQTT nodes without a broker (an MQTT
 * broker node with no active user does not connect). Retention then no longer waits for backups that cannot happen.
 */
function applyServices(flows, services) {
  const mqttBrokers = new Set(flows.filter((n) => n.type === 'mqtt-broker').map((n) => n.id));
  return flows.map((n) => {
    if (!services.s3 && n.type === 'pfcam-backup') return { ...n, d: true };
    if (!services.s3 && n.type === 'pfcam-retention' && n.requireBackup === true)
      return { ...n, requireBackup: false };
    if (!services.mqtt && /^mqtt (in|out)$/.test(n.type) && mqttBrokers.has(n.broker))
      return { ...n, d: true };
    return n;
  });
}

module.exports = {
  composeFlows,
  applyServices,
  configuredServices,
  flowsEnv,
  simulatorBasePort,
  SHIPPED_CAMERAS,
};
