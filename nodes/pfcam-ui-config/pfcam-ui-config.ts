import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { NodeAPI, NodeDef } from 'node-red';
import { cameras } from '../../lib/cameras/camera-registry';
import { RebootCounter } from '../../lib/dashboard/cameras';
import { JobBoard } from '../../lib/dashboard/jobs';
import { errorText, InputError } from '../../lib/errors';
import {
  parseRetentionOptions,
  type RawRetentionConfig,
  type RetentionOptions,
} from '../../lib/retention/retention-options';
import { isValidTimeZone } from '../../lib/time/zoned-time';
import type { ApiRoute } from '../../dashboard/api/api-route';
import { dashboardRoutes } from '../../dashboard/api/dashboard-routes';
import { S3Objects } from '../../lib/backup/s3-objects';
import type { BackupBucket } from '../../lib/dashboard/system';
import { handleClose } from '../shared/input';
import { isS3ConfigNode } from '../pfcam-s3/s3-node';
import { isStoreHandle } from '../pfcam-store/store-handle';
import type { ChangePush, UiConfigHandle } from './ui-config-handle';

interface UiConfigDef extends NodeDef {
  store: string;
  timeZone: string;
  retention?: string;
  /** The `pfcam-s3` config node of the backup: "Rebuild the index from S3" on the System screen reads it. */
  s3?: string;
}

type RegisterRoutes = (owner: string, routes: readonly ApiRoute[]) => () => void;

/**
 * The security module's route registry (dashboard/api/registry). Looked up at run time: without it (a plain
 * Node-RED without the security module) the API is not served, and the widgets say so.
 */
function routeRegistry(): RegisterRoutes | undefined {
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- optional module, present with the security layer
    const mod = require('../../dashboard/api/registry') as { registerRoutes?: RegisterRoutes };
    return mod.registerRoutes;
  } catch {
    return undefined;
  }
}

/** Where the widgets' front-end files are served (below httpNodeRoot). */
export const ASSET_PATH = '/pfcam-ui/assets';
const ASSETS = new Set(['pfcam-ui.mjs', 'pfcam-ui.css', 'security-screens.mjs']);
const TYPES: Readonly<Record<string, string>> = {
  mjs: 'text/javascript; charset=utf-8',
  css: 'text/css; charset=utf-8',
};

/** Reads the site time zone of the config (an IANA name). */
export function siteTimeZone(raw: unknown): string {
  const zone = typeof raw === 'string' && raw.trim() !== '' ? raw.trim() : 'UTC';
  if (!isValidTimeZone(zone)) throw new InputError(`"${zone}" is not an IANA time zone name`);
  return zone;
}

/**
 * The `pfcam-ui-config` config node: one operator dashboard over a store and the cameras of the process. It
 * registers the dashboard's API routes with the security module at start (removed on close), owns the jobs of
 * long actions, and pushes "changed" to its widgets.
 */
export default function (RED: NodeAPI): void {
  const httpNode = RED.httpNode as unknown as
    | {
        get(
          path: string,
          handler: (req: { params: Record<string, string> }, res: AssetResponse) => void,
        ): void;
      }
    | undefined;
  httpNode?.get(`${ASSET_PATH}/:file`, (req, res) => {
    const file = req.params.file ?? '';
    if (!ASSETS.has(file)) {
      res.status(404).end();
      return;
    }
    readFile(join(__dirname, '..', '..', 'dashboard', 'ui', file)).then(
      (data) => {
        res.set({
          'Content-Type': TYPES[file.split('.').pop() ?? ''] ?? 'application/octet-stream',
          'Cache-Control': 'no-cache',
          'X-Content-Type-Options': 'nosniff',
        });
        res.end(data);
      },
      () => res.status(404).end(),
    );
  });

  function PfcamUiConfigNode(this: UiConfigHandle, def: UiConfigDef): void {
    RED.nodes.createNode(this, def);
    setup(this, def);
  }

  function setup(node: UiConfigHandle, def: UiConfigDef): void {
    const widgets = new Set<(change: ChangePush) => void>();
    const jobs = new JobBoard();
    const reboots = new RebootCounter();
    let timeZone = 'UTC';
    try {
      timeZone = siteTimeZone(def.timeZone);
    } catch (err) {
      node.error(RED._('pfcam-ui-config.errors.config', { error: errorText(err) }));
    }
    const store = RED.nodes.getNode(def.store);
    if (isStoreHandle(store)) store.register(node);

    let policy: RetentionOptions | null | undefined;
    const retentionPolicy = (): RetentionOptions | null => {
      if (policy !== undefined) return policy;
      policy = null;
      if (!def.retention) return policy;
      RED.nodes.eachNode((n: { id: string; type: string } & RawRetentionConfig) => {
        if (n.id === def.retention && n.type === 'pfcam-retention') {
          try {
            policy = parseRetentionOptions(n);
          } catch (err) {
            node.warn(errorText(err));
          }
        }
      });
      return policy;
    };

    let bucket: BackupBucket | undefined;
    /** The backup's bucket (one client for the node's life), null without a pfcam-s3 node; throws when invalid. */
    const backupBucket = (): BackupBucket | null => {
      if (!def.s3) return null;
      const s3 = RED.nodes.getNode(def.s3);
      if (!isS3ConfigNode(s3)) return null;
      if (!bucket) {
        const { client, options } = s3.target();
        bucket = { objects: new S3Objects(client, options), prefix: options.prefix };
      }
      return bucket;
    };

    node.addWidget = (push) => {
      widgets.add(push);
      return () => {
        widgets.delete(push);
      };
    };
    node.changed = (change) => {
      for (const push of widgets) {
        try {
          push(change);
        } catch (err) {
          node.warn(errorText(err));
        }
      }
    };

    const routes = dashboardRoutes({
      store: () => {
        if (!isStoreHandle(store)) return Promise.reject(new Error('no pfcam-store is configured'));
        return store.ready();
      },
      cameras,
      timeZone,
      jobs,
      reboots,
      retentionPolicy,
      backupBucket,
      changed: (change) => node.changed(change),
    });
    const register = routeRegistry();
    const unregister = register ? register(`pfcam-ui-config:${node.id}`, routes) : (): void => undefined;
    if (!register) node.warn(RED._('pfcam-ui-config.log.noSecurity'));

    handleClose(node, async () => {
      unregister();
      widgets.clear();
      reboots.close();
      // A long action (a camera restart) is not cut: its camera node owns the abort; wait a little for it.
      await Promise.race([jobs.idle(), new Promise((resolve) => setTimeout(resolve, 2_000).unref())]);
      if (isStoreHandle(store)) store.deregister(node);
    });
  }

  RED.nodes.registerType('pfcam-ui-config', PfcamUiConfigNode);
}

interface AssetResponse {
  status(code: number): AssetResponse;
  set(headers: Record<string, string>): AssetResponse;
  end(data?: Buffer): void;
}
