#!/usr/bin/env node
// `npm start`: the simulator's three cameras (unless PFCAM_SIMULATOR=0) and Node-RED with the shipped flows.
// Data (Node-RED user directory, database, media) lives under PFCAM_DATA (default ./.pfcam-data).
'use strict';
const { spawn } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');
const { composeFlows } = require('./flows');

const root = path.resolve(__dirname, '..');
const dataDir = path.resolve(process.env.PFCAM_DATA || path.join(root, '.pfcam-data'));
const userDir = path.join(dataDir, 'node-red');
const port = Number(process.env.PORT || 1880);
const withSimulator = process.env.PFCAM_SIMULATOR !== '0';
// The shipped flows address the simulated cameras at 8081-8083.
const simulatorBasePort = 8081;

/** Makes the package visible to Node-RED as an installed module of the user directory. */
function linkPackage() {
  const scope = path.join(userDir, 'node_modules', '@pfcam');
  fs.mkdirSync(scope, { recursive: true });
  const link = path.join(scope, 'node-red-pfcam');
  try {
    if (fs.realpathSync(link) === root) return;
    fs.rmSync(link, { recursive: true, force: true });
  } catch {
    // not there yet
  }
  fs.symlinkSync(root, link, 'dir');
}

/**
 * Writes the shipped flows into the user directory: on first start, and later only while the user has not
 * deployed changes of their own (the flows file is still exactly what was shipped last time).
 */
function installFlows() {
  const flowsFile = path.join(userDir, 'flows.json');
  const stampFile = path.join(userDir, '.shipped-flows.json');
  const shipped = JSON.stringify(composeFlows(path.join(root, 'flows')), null, 2);
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

async function main() {
  fs.mkdirSync(userDir, { recursive: true });
  linkPackage();
  installFlows();

  let cameras = [];
  if (withSimulator) {
    const { startCameras } = require(path.join(root, 'dist', 'simulator', 'index.js'));
    cameras = await startCameras(3, {
      basePort: simulatorBasePort,
      seed: 1,
      triggerIntervalMs: 30_000,
      recordings: 3,
      restartMs: 5_000,
    });
    for (const camera of cameras)
      console.log(`pfcam: simulated camera ${camera.serialNumber} at ${camera.url}`);
  }

  const child = spawn(
    process.execPath,
    [require.resolve('node-red/red.js'), '--settings', path.join(root, 'settings.js'), '--userDir', userDir],
    {
      stdio: ['ignore', 'pipe', 'inherit'],
      env: { ...process.env, PFCAM_DATA: dataDir, PORT: String(port) },
    },
  );
  child.stdout.on('data', (chunk) => {
    process.stdout.write(chunk);
    if (String(chunk).includes('Server now running')) {
      const host =
        process.env.PFCAM_HOST && process.env.PFCAM_HOST !== '0.0.0.0' ? process.env.PFCAM_HOST : '127.0.0.1';
      console.log(`\npfcam: editor    http://${host}:${port}/`);
      console.log(`pfcam: dashboard http://${host}:${port}/ui\n`);
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
    await Promise.all(cameras.map((camera) => camera.stop()));
    process.exit(0);
  };
  process.on('SIGINT', () => void stop('SIGINT'));
  process.on('SIGTERM', () => void stop('SIGTERM'));
  child.on('exit', (code) => {
    if (stopping) return;
    console.error(`pfcam: Node-RED exited (${code}); stopping the simulator`);
    void Promise.all(cameras.map((camera) => camera.stop())).then(() => process.exit(code ?? 1));
  });
}

main().catch((err) => {
  console.error(`pfcam: ${err && err.stack ? err.stack : err}`);
  process.exit(1);
});
