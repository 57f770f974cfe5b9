/**
 * `pfcam-guard`: the action guard of the dashboard. Put before every action a dashboard widget triggers: it passes
 * the message only when the user of the real dashboard socket (`msg.socketid`, rewritten by the server's
 * socket.io middleware) holds the node's permission, and the camera scope when a camera property is set. It sets
 * `msg.user = { name, role }` and audits both outcomes.
 *
 * The module's init mounts the security handler (`/pfcam/...`: login pages, login/logout, the dashboard API) on
 * Node-RED's HTTP server once; without the security settings the dashboard API answers 503, never unauthenticated.
 */
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { Node, NodeAPI, NodeDef, NodeMessageInFlow } from 'node-red';
import { API_PREFIX } from '../../dashboard/api/api-route';
import { dropWildcardCors, type PfcamSecurity } from '../../dashboard/security';
import { isAllowed, PERMISSIONS, type Permission } from '../../lib/auth/permissions';
import { handleInput } from '../shared/input';
import { Status } from '../shared/status';

interface GuardNodeDef extends NodeDef {
  permission?: string;
  camera?: string;
}

type GuardMessage = NodeMessageInFlow & {
  socketid?: unknown;
  user?: { name: string; role?: string };
  [key: string]: unknown;
};

let mounted = false;

function securityOf(RED: NodeAPI): PfcamSecurity | undefined {
  return (RED.settings as unknown as { pfcam?: { security?: PfcamSecurity } }).pfcam?.security;
}

/** Mounts the security handler, or a 503 answer for the dashboard API when security is not configured. */
function mount(RED: NodeAPI): void {
  if (mounted || !(RED.httpNode as unknown)) return;
  mounted = true;
  const security = securityOf(RED);
  if (security) {
    // before Node-RED's app sees a request (its CORS handler answers preflights at once): no wildcard CORS
    const server = (RED as unknown as { server?: Server }).server;
    server?.prependListener('request', (_req: IncomingMessage, res: ServerResponse) => dropWildcardCors(res));
    RED.httpNode.use((req, res, next) =>
      security.handler(req as IncomingMessage, res as ServerResponse, next),
    );
    return;
  }
  RED.httpNode.use(API_PREFIX, (_req, res) => {
    res.status(503).set('Cache-Control', 'no-store').json({ error: 'dashboard security is not configured' });
  });
}

export default function (RED: NodeAPI): void {
  mount(RED);

  function PfcamGuardNode(this: Node, def: GuardNodeDef): void {
    RED.nodes.createNode(this, def);
    // eslint-disable-next-line @typescript-eslint/no-this-alias
    const node = this;
    const status = new Status(node, RED);
    const permission = (PERMISSIONS as readonly string[]).includes(def.permission ?? '')
      ? (def.permission as Permission)
      : undefined;
    const cameraProperty = (def.camera ?? '').trim();
    if (!permission) status.error('errors.badInput');

    handleInput<GuardMessage>(node, status, (msg, send) =>
      Promise.resolve().then(() => {
        const security = securityOf(RED);
        if (!security) throw new Error(RED._('pfcam-guard.errors.noSecurity'));
        if (!permission) throw new Error(RED._('pfcam-guard.errors.noPermission'));
        const socketId = typeof msg.socketid === 'string' ? msg.socketid : '';
        const principal = socketId ? security.principalForSocket(socketId) : undefined;
        const rawCamera: unknown = cameraProperty
          ? RED.util.getMessageProperty(msg, cameraProperty)
          : undefined;
        const camera = typeof rawCamera === 'string' && rawCamera !== '' ? rawCamera : undefined;
        const action = `guard ${permission}`;
        if (!principal) {
          security.audit({
            actor: '',
            action,
            outcome: 'denied',
            camera,
            detail: 'no signed-in dashboard user',
          });
          throw new Error(RED._('pfcam-guard.errors.notSignedIn'));
        }
        const allowed =
          cameraProperty === ''
            ? isAllowed(principal, permission)
            : camera !== undefined && isAllowed(principal, permission, camera);
        if (!allowed) {
          security.audit({ actor: principal.name, action, outcome: 'denied', camera });
          throw new Error(RED._('pfcam-guard.errors.denied', { user: principal.name, permission }));
        }
        security.audit({ actor: principal.name, action, outcome: 'ok', camera });
        msg.user = { name: principal.name, role: principal.role };
        node.status({});
        send(msg);
      }),
    );
  }

  RED.nodes.registerType('pfcam-guard', PfcamGuardNode);
}
