/**
 * The shipped "Alerts" tab publishes to a real mosquitto broker: each new recording on
 * `pfcam/<site>/<camera>/event`, each status change retained on `pfcam/<site>/<camera>/status`. The tab's own
 * link, function and core mqtt nodes run in Node-RED (test helper), with the broker taken from the environment.
 */
import { strict as assert } from 'node:assert';
import { once, type EventEmitter } from 'node:events';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import mqtt, { type MqttClient } from 'mqtt';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import notifyNode from '../../nodes/pfcam-notify/pfcam-notify';
import smtpNode from '../../nodes/pfcam-smtp/pfcam-smtp';
import storeNode from '../../nodes/pfcam-store/pfcam-store';
import webhookNode from '../../nodes/pfcam-webhook/pfcam-webhook';
import { helper, type FlowNode } from '../helpers/node-red';
import { coreNodeModule } from '../helpers/node-red-install';
import { Recorder } from '../helpers/notify-fixtures';
import { Mosquitto } from '../helpers/notify-servers';

// the core nodes of the runtime under test (Node-RED 4 or 5)
const mqttNodes = coreNodeModule('core/network/10-mqtt.js');
const functionNode = coreNodeModule('core/function/10-function.js');
const linkNodes = coreNodeModule('core/common/60-link.js');
const commentNode = coreNodeModule('core/common/90-comment.js');
const changeNode = coreNodeModule('core/function/15-change.js');

interface Published {
  topic: string;
  payload: Record<string, unknown>;
  retain: boolean;
}

const MQTT_TYPES = new Set(['tab', 'link in', 'function', 'mqtt out', 'mqtt-broker']);

function alertsFlow(): FlowNode[] {
  return JSON.parse(readFileSync(join(__dirname, '..', '..', 'flows', 'alerts.json'), 'utf8')) as FlowNode[];
}

/** The MQTT part of flows/alerts.json: its own nodes, wires to other nodes dropped. */
function alertsMqttFlow(): FlowNode[] {
  const kept = alertsFlow().filter((n) => MQTT_TYPES.has(n.type));
  const ids = new Set(kept.map((n) => n.id));
  return kept.map((n) =>
    n.wires ? { ...n, wires: n.wires.map((port) => port.filter((id) => ids.has(id))) } : n,
  );
}

async function subscriber(url: string, received: Recorder<Published>): Promise<MqttClient> {
  const client = await mqtt.connectAsync(url, { reconnectPeriod: 0 });
  client.on('message', (topic, payload, packet) => {
    received.push({
      topic,
      payload: JSON.parse(payload.toString('utf8')) as Record<string, unknown>,
      retain: packet.retain,
    });
  });
  await client.subscribeAsync('pfcam/#', { qos: 1 });
  return client;
}

describe('Alerts tab publishes to MQTT (real mosquitto)', function () {
  this.timeout(20_000);
  let broker: Mosquitto;
  let dir: string | undefined;
  const clients: MqttClient[] = [];
  const savedEnv = {
    MQTT_HOST: process.env.MQTT_HOST,
    MQTT_PORT: process.env.MQTT_PORT,
    PFCAM_SITE: process.env.PFCAM_SITE,
  };

  before(async () => {
    broker = await Mosquitto.start();
  });

  after(async () => {
    await broker?.stop();
  });

  async function load(flow: FlowNode[], nodes: unknown[] = []): Promise<void> {
    process.env.MQTT_HOST = '127.0.0.1';
    process.env.MQTT_PORT = String(broker.port);
    process.env.PFCAM_SITE = 'plant-a';
    await helper.load([mqttNodes, functionNode, linkNodes, ...nodes], flow);
    const brokerNode = helper.getNode('alerts-mqtt-broker') as unknown as {
      connected: boolean;
      brokerurl: string;
      client?: MqttClient;
    };
    assert.equal(brokerNode.brokerurl, `mqtt://127.0.0.1:${broker.port}`);
    if (!brokerNode.connected) {
      await Promise.race([
        once(brokerNode.client! as unknown as EventEmitter, 'connect'),
        new Promise((_, reject) =>
          setTimeout(() => reject(new Error('broker node did not connect')), 10_000),
        ),
      ]);
    }
  }

  afterEach(async () => {
    for (const c of clients.splice(0)) await c.endAsync();
    await helper.unload();
    for (const [k, v] of Object.entries(savedEnv)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
    if (dir) await rm(dir, { recursive: true, force: true });
    dir = undefined;
  });

  it('runs the whole tab: one recording reaches MQTT and the notify node, which feeds the toast', async () => {
    dir = await mkdtemp(join(tmpdir(), 'pfcam-alerts-tab-'));
    // The archive's store config node is shared with the Ingest tab, which defines it.
    const store: FlowNode = {
      id: 'store-main',
      type: 'pfcam-store',
      name: 'Archive',
      databaseFile: join(dir, 'db.sqlite'),
      mediaDir: join(dir, 'media'),
    };
    const flow = [store, ...alertsFlow()].map((n): FlowNode => {
      // The dashboard's toast and the debug node are stood in for by helper nodes with the same ids.
      if (n.type === 'ui_toast' || n.type === 'debug')
        return { id: n.id, type: 'helper', z: n.z, x: 0, y: 0 };
      return n;
    });
    await load(flow, [commentNode, changeNode, storeNode, smtpNode, webhookNode, notifyNode]);
    const received = new Recorder<Published>();
    clients.push(await subscriber(broker.url, received));
    const toasts = new Recorder<{ topic: string; payload: string }>();
    helper.getNode('alerts-toast').on('input', (msg: { topic: string; payload: string }) => toasts.push(msg));
    helper.getNode('alerts-recordings-in').receive({
      topic: 'pfcam/recording',
      payload: {
        id: 9,
        cameraSerial: 'PF-009',
        cameraName: 'Yard',
        fileName: 'f9',
        eventName: null,
        triggeredAtUtc: '2025-03-04T13:05:09.000Z',
        playbackTime: 5,
      },
    });
    await received.waitFor((r) => r.some((m) => m.topic === 'pfcam/plant-a/PF-009/event'), 'the MQTT event');
    await toasts.waitFor((t) => t.length === 1, 'the toast');
    // the toast reaches every open dashboard, so it names no camera and no recording
    assert.equal(toasts.items[0]?.topic, 'New alert');
    assert.doesNotMatch(JSON.stringify(toasts.items[0]), /Yard/);
  });

  it('publishes each new recording on pfcam/<site>/<camera>/event, not retained', async () => {
    await load(alertsMqttFlow());
    const received = new Recorder<Published>();
    clients.push(await subscriber(broker.url, received));
    helper.getNode('alerts-recordings-in').receive({
      topic: 'pfcam/recording',
      payload: {
        id: 7,
        cameraSerial: 'PF-001',
        cameraName: 'Gate',
        fileName: 'f7',
        eventName: 'door',
        triggeredAtUtc: '2025-03-04T13:05:09.000Z',
        playbackTime: 12,
        videoPath: 'PF-001/2025/03/04/f7.mp4',
        thumbPath: 'PF-001/2025/03/04/f7.jpg',
        videoSize: 1234,
        sha256: 'ab',
      },
    });
    await received.waitFor((r) => r.some((m) => m.topic.endsWith('/event')), 'the event');
    const event = received.items.find((m) => m.topic.endsWith('/event'))!;
    assert.equal(event.topic, 'pfcam/plant-a/PF-001/event');
    assert.equal(event.retain, false);
    assert.deepEqual(event.payload, {
      id: 7,
      cameraSerial: 'PF-001',
      cameraName: 'Gate',
      fileName: 'f7',
      eventName: 'door',
      triggeredAtUtc: '2025-03-04T13:05:09.000Z',
      playbackTime: 12,
      videoSize: 1234,
      sha256: 'ab',
    });
  });

  it('keeps the latest camera status retained for subscribers that come later', async () => {
    await load(alertsMqttFlow());
    const status = (state: string, previous: string, at: string): Record<string, unknown> => ({
      topic: 'pfcam/status',
      payload: {
        camera: { serialNumber: 'PF-002', name: 'Dock', url: 'http://10.0.0.6' },
        state,
        previous,
        rebooted: false,
        at,
        uptime: 100,
      },
    });
    const live = new Recorder<Published>();
    clients.push(await subscriber(broker.url, live));
    const statusIn = helper.getNode('alerts-status-in');
    statusIn.receive(status('offline', 'online', '2025-03-04T13:00:00.000Z'));
    await live.waitFor((r) => r.length === 1, 'the offline status');
    statusIn.receive(status('online', 'offline', '2025-03-04T13:01:00.000Z'));
    await live.waitFor((r) => r.length === 2, 'the online status');
    assert.equal(live.items[1]?.topic, 'pfcam/plant-a/PF-002/status');

    const later = new Recorder<Published>();
    clients.push(await subscriber(broker.url, later));
    await later.waitFor((r) => r.length === 1, 'the retained status');
    assert.deepEqual(later.items[0], {
      topic: 'pfcam/plant-a/PF-002/status',
      retain: true,
      payload: {
        serialNumber: 'PF-002',
        name: 'Dock',
        state: 'online',
        previous: 'offline',
        rebooted: false,
        at: '2025-03-04T13:01:00.000Z',
        uptime: 100,
      },
    });
  });

  it('publishes nothing for a camera not identified yet', async () => {
    await load(alertsMqttFlow());
    const received = new Recorder<Published>();
    clients.push(await subscriber(broker.url, received));
    helper.getNode('alerts-status-in').receive({
      topic: 'pfcam/status',
      payload: {
        camera: { serialNumber: null, name: 'New', url: 'http://10.0.0.9' },
        state: 'offline',
        previous: 'unknown',
        at: '2025-03-04T13:00:00Z',
      },
    });
    // A marker sent afterwards on the same path proves the first one was dropped, not delayed.
    helper.getNode('alerts-status-in').receive({
      topic: 'pfcam/status',
      payload: {
        camera: { serialNumber: 'PF-003', name: 'Marker' },
        state: 'offline',
        previous: 'online',
        at: '2025-03-04T13:00:01Z',
      },
    });
    await received.waitFor((r) => r.some((m) => m.topic === 'pfcam/plant-a/PF-003/status'), 'the marker');
    assert.ok(received.items.every((m) => !m.topic.includes('10.0.0.9') && m.payload.name !== 'New'));
  });
});
