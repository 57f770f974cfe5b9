#!/usr/bin/env node
// `npm start`: the simulator's three cameras (unless PFCAM_SIMULATOR=0) and Node-RED with the shipped flows.
// With the simulator, local stand-ins for the outside services a real site provides are started too, on 127.0.0.1
// only: an S3-compatible server (unless PFCAM_S3_BUCKET / PFCAM_S3_ENDPOINT name a real one) and an MQTT broker
// (unless MQTT_HOST names one), so that the whole data path runs. Without them, the parts of the flows whose
// service is not configured are disabled (scripts/flows.js).
// Data (Node-RED user directory, database, media) lives under PFCAM_DATA (default ./.pfcam-data).
'use strict';
const { spawn } = require('node:child_process');
const crypto = require('node:crypto');
const fs = require('node:fs');
const net = require('node:net');
const path = require('node:path');
const {
  applyServices,
  composeFlows,
  configuredServices,
  flowsEnv,
  simulatorBasePort,
  SHIPPED_CAMERAS,
} = require('./flows');

const root = path.resolve(__dirname, '..');
const dataDir = path.resolve(process.env.PFCAM_DATA || path.join(root, '.pfcam-data'));
const userDir = path.join(dataDir, 'node-red');
const port = Number(process.env.PORT || 1880);
const withSimulator = process.env.PFCAM_SIMULATOR !== '0';

/**
 * The Node-RED to run: this project's, or the node-red package folder of another install that PFCAM_NODE_RED
 * names (Node-RED 5 on Node.js 22, say).
 */
const nodeRedMain = process.env.PFCAM_NODE_RED
  ? path.join(path.resolve(process.env.PFCAM_NODE_RED), 'red.js')
  : require.resolve('node-red/red.js');

/**
 * Links `target` at `link`. What is there already is replaced (a link elsewhere, a broken link), unless it is
 * a real folder and `keepInstalled` says to keep it (a module the user installed there).
 */
function linkTo(target, link, keepInstalled = false) {
  fs.mkdirSync(path.dirname(link), { recursive: true });
  let stat;
  try {
    stat = fs.lstatSync(link);
  } catch {
    // not there yet
  }
  if (stat) {
    if (!stat.isSymbolicLink() && keepInstalled) return;
    let current;
    try {
      current = fs.realpathSync(link);
    } catch {
      // a broken link
    }
    if (current === fs.realpathSync(target)) return;
    fs.rmSync(link, { recursive: true, force: true });
  }
  fs.symlinkSync(target, link, 'dir');
}

/**
 * Makes the package and node-red-dashboard visible to Node-RED as installed modules of the user directory,
 * where a site installs them (another Node-RED install does not look in this project's node_modules). A
 * node-red-dashboard installed into the user directory is kept.
 */
function linkPackages() {
  linkTo(root, path.join(userDir, 'node_modules', '@pfcam', 'node-red-pfcam'));
  linkTo(
    path.dirname(require.resolve('node-red-dashboard/package.json')),
    path.join(userDir, 'node_modules', 'node-red-dashboard'),
    true,
  );
}

/**
 * Writes the shipped flows into the user directory: on first start, and later only while the user has not
 * deployed changes of their own (the flows file is still exactly what was shipped last time).
 */
function installFlows(services) {
  const flowsFile = path.join(userDir, 'flows.json');
  const stampFile = path.join(userDir, '.shipped-flows.json');
  const shipped = JSON.stringify(applyServices(composeFlows(path.join(root, 'flows')), services), null, 2);
  const current = fs.existsSync(flowsFile) ? fs.readFileSync(flowsFile, 'utf8') : undefined;
  const lastShipped = fs.existsSync(stampFile) ? fs.readFileSync(stampFile, 'utf8') : undefined;
  if (current === undefined || current === lastShipped || process.env.PFCAM_RESET_FLOWS === '1') {
    fs.writeFileSync(flowsFile, shipped);
    fs.writeFileSync(stampFile, shipped);
  } else if (lastShipped !== shipped) {
    console.log(
      'pfcam: keeping your deployed flows; PFCAM_RESET_FLOWS=1 npm start replaces them with the shipped ones',
    );
  }
}

/**
 * A local S3-compatible server (fauxqs, in memory) on 127.0.0.1 with the flows' bucket. fauxqs' own
 * startFauxqs listens on every interface, so its app is built and bound here.
 */
async function startS3StandIn(bucket) {
  const { buildApp } = await import('fauxqs');
  const app = buildApp({ logger: false });
  const address = await app.listen({ port: 0, host: '127.0.0.1' });
  const endpoint = address.replace(/\/+$/, '');
  const res = await fetch(`${endpoint}/${encodeURIComponent(bucket)}`, { method: 'PUT' });
  if (!res.ok) throw new Error(`the local S3 server did not create bucket ${bucket}: ${res.status}`);
  return { endpoint, stop: () => app.close() };
}

/** A local MQTT broker (aedes, in process) on 127.0.0.1. */
async function startMqttStandIn() {
  const { Aedes } = await import('aedes');
  const broker = await Aedes.createBroker();
  const server = net.createServer(broker.handle);
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const { port } = server.address();
  return {
    host: '127.0.0.1',
    port,
    stop: () =>
      new Promise((resolve) => {
        server.close(() => resolve());
        broker.close(() => undefined);
      }),
  };
}

async function main() {
  fs.mkdirSync(userDir, { recursive: true });
  linkPackages();

  const env = flowsEnv(process.env);
  const services = configuredServices(process.env);
  const extraEnv = {};
  const standIns = [];
  let cameras = [];
  const stopAll = () =>
    Promise.allSettled([...cameras.map((camera) => camera.stop()), ...standIns.map((s) => s.stop())]);
  try {
    if (withSimulator) {
      const { startCameras } = require(path.join(root, 'dist', 'simulator', 'index.js'));
      cameras = await startCameras(SHIPPED_CAMERAS, {
        basePort: simulatorBasePort(process.env),
        seed: 1,
        triggerIntervalMs: 30_000,
        recordings: 3,
        restartMs: 5_000,
      });
      cameras.forEach((camera, i) => {
        console.log(`pfcam: simulated camera ${camera.serialNumber} at ${camera.url}`);
        const name = `PFCAM_CAMERA_${i + 1}_URL`;
        if (!process.env[name]) env[name] = camera.url;
      });
      if (!services.s3) {
        const s3 = await startS3StandIn(env.PFCAM_S3_BUCKET);
        standIns.push(s3);
        env.PFCAM_S3_ENDPOINT = s3.endpoint;
        // fauxqs checks no signature; the SDK still wants keys. Per run, never written to a file.
        extraEnv.AWS_ACCESS_KEY_ID = 'pfcam-local';
        extraEnv.AWS_SECRET_ACCESS_KEY = crypto.randomBytes(16).toString('hex');
        services.s3 = true;
        console.log(`pfcam: local S3 stand-in at ${s3.endpoint}, bucket ${env.PFCAM_S3_BUCKET}`);
      }
      if (!services.mqtt) {
        const mqtt = await startMqttStandIn();
        standIns.push(mqtt);
        env.MQTT_HOST = mqtt.host;
        env.MQTT_PORT = String(mqtt.port);
        services.mqtt = true;
        console.log(`pfcam: local MQTT broker stand-in at mqtt://${mqtt.host}:${mqtt.port}`);
      }
    }
    if (!services.s3) console.log('pfcam: S3 not configured (PFCAM_S3_BUCKET): the backup node is disabled');
    if (!services.mqtt) console.log('pfcam: MQTT not configured (MQTT_HOST): the MQTT nodes are disabled');
    installFlows(services);
  } catch (err) {
    await stopAll();
    throw err;
  }

  const child = spawn(
    process.execPath,
    [nodeRedMain, '--settings', path.join(root, 'settings.js'), '--userDir', userDir],
    {
      stdio: ['ignore', 'pipe', 'inherit'],
      env: { ...process.env, ...env, ...extraEnv, PFCAM_DATA: dataDir, PORT: String(port) },
    },
  );
  let origin;
  child.stdout.on('data', (chunk) => {
    process.stdout.write(chunk);
    // The first admin is created once the security layer is up, after the server listens.
    const firstAdmin = /first admin "([^"]+)" created; one-time password/.exec(String(chunk));
    if (firstAdmin && origin) {
      console.log(
        `\npfcam: sign in as "${firstAdmin[1]}" at ${origin}/pfcam/login with the one-time password above\n`,
      );
    }
    // the port Node-RED really listens on (PORT=0 takes a free one)
    // (and its scheme: https when the settings were given a certificate)
    const running = /Server now running at (https?):\/\/[^:/\s]+:(\d+)/.exec(String(chunk));
    if (running) {
      const host =
        process.env.PFCAM_HOST && process.env.PFCAM_HOST !== '0.0.0.0' ? process.env.PFCAM_HOST : '127.0.0.1';
      origin = `${running[1]}://${host}:${running[2]}`;
      console.log(`\npfcam: editor    ${origin}/`);
      console.log(`pfcam: dashboard ${origin}/ui`);
      console.log(
        `pfcam: sign in   ${origin}/pfcam/login (first run: the first admin's one-time password follows)\n`,
      );
    }
  });

  let stopping = false;
  const stop = async (signal) => {
    if (stopping) return;
    stopping = true;
    console.log(`pfcam: ${signal}, stopping`);
    const exited = new Promise((resolve) => child.once('exit', resolve));
    if (child.exitCode === null) child.kill('SIGTERM');
    const killer = setTimeout(() => child.kill('SIGKILL'), 15_000);
    await exited;
    clearTimeout(killer);
    await stopAll();
    process.exit(0);
  };
  process.on('SIGINT', () => void stop('SIGINT'));
  process.on('SIGTERM', () => void stop('SIGTERM'));
  child.on('exit', (code) => {
    if (stopping) return;
    console.error(`pfcam: Node-RED exited (${code}); stopping the simulator`);
    void stopAll().then(() => process.exit(code ?? 1));
  });
}

main().catch((err) => {
  console.error(`pfcam: ${err && err.stack ? err.stack : err}`);
  process.exit(1);
});
