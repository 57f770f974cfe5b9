/**
 * The node statuses a running Node-RED shows in its editor, read as the editor reads them: over its comms
 * WebSocket (`/comms`, topic `status/<node id>`; current statuses are replayed on subscribe).
 */
import { EventEmitter } from 'node:events';
import WebSocket from 'ws';
import { waitFor, waitUntil } from './wait-for';

export interface NodeStatus {
  fill?: string;
  shape?: string;
  text?: string;
}

export class NodeStatuses extends EventEmitter {
  private readonly current = new Map<string, NodeStatus>();

  private constructor(private readonly ws: WebSocket) {
    super();
  }

  /** Connects to the editor comms of Node-RED at `baseUrl` (http://host:port), with an admin token if needed. */
  static async connect(baseUrl: string, token?: string, timeoutMs = 10_000): Promise<NodeStatuses> {
    const ws = new WebSocket(`${baseUrl.replace(/^http/, 'ws').replace(/\/+$/, '')}/comms`);
    const statuses = new NodeStatuses(ws);
    ws.on('message', (data: Buffer) => statuses.receive(data.toString('utf8')));
    await waitFor<void>(
      `the comms connection to ${baseUrl}`,
      (resolve, reject) => {
        ws.once('open', () => resolve());
        ws.once('error', reject);
        return () => ws.off('error', reject);
      },
      timeoutMs,
    );
    if (token !== undefined) {
      // Node-RED closes a secured comms connection on any message before it answered the auth one.
      const answer = await waitFor<string>(
        'the comms authentication',
        (resolve, reject) => {
          const onMessage = (data: Buffer): void => {
            const text = data.toString('utf8');
            if (/"auth"/.test(text)) resolve(text);
          };
          ws.on('message', onMessage);
          ws.once('close', () => reject(new Error('the comms connection closed')));
          ws.send(JSON.stringify({ auth: token }));
          return () => ws.off('message', onMessage);
        },
        timeoutMs,
      );
      if (!/"auth"\s*:\s*"ok"/.test(answer)) throw new Error(`comms authentication refused: ${answer}`);
    }
    ws.send(JSON.stringify({ subscribe: 'status/#' }));
    return statuses;
  }

  /** The last status node `id` showed (undefined: none yet). */
  get(id: string): NodeStatus | undefined {
    return this.current.get(id);
  }

  /** Resolves with node `id`'s status once `check` accepts it; rejects after `timeoutMs` with the last one. */
  waitFor(
    id: string,
    check: (status: NodeStatus) => boolean,
    what: string,
    timeoutMs = 30_000,
  ): Promise<NodeStatus> {
    return waitUntil(
      `${what} (node ${id}, last status ${JSON.stringify(this.get(id))})`,
      this,
      'status',
      () => {
        const status = this.get(id);
        return status !== undefined && check(status) ? status : undefined;
      },
      timeoutMs,
    ).catch((err: Error) => {
      throw new Error(`${err.message}; now ${JSON.stringify(this.get(id))}`);
    });
  }

  close(): void {
    this.ws.close();
  }

  private receive(text: string): void {
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      return;
    }
    for (const message of Array.isArray(parsed) ? parsed : [parsed]) {
      const { topic, data } = (message ?? {}) as { topic?: unknown; data?: unknown };
      if (typeof topic !== 'string' || !topic.startsWith('status/')) continue;
      this.current.set(topic.slice('status/'.length), data ?? {});
      this.emit('status', topic.slice('status/'.length));
    }
  }
}
