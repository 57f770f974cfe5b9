/**
 * The operator dashboard's HTTP API: thin `ApiRoute`s over lib/dashboard. Each names its permission and, when
 * it concerns a camera or a recording, the camera scope resolver; the security module's API server checks both
 * (and the session, CSRF, audit) before a handler runs. Handlers answer JSON, or stream (video, exports).
 */
import { createReadStream } from 'node:fs';
import type { ServerResponse } from 'node:http';
import { pipeline } from 'node:stream/promises';
import {
  SettingsValidationError,
  rebootCamera,
  readLive,
  writeLive,
  writeSettings,
} from '../../lib/camera/settings-writer';
import { fixClock } from '../../lib/camera/clock-drift';
import type { CameraRegistry } from '../../lib/cameras/camera-registry';
import { alertsFor, preferencesFor, savePreferencesFor } from './dashboard-alerts';
import { DashboardError, badRequest } from '../../lib/dashboard/dashboard-errors';
import { parseRange } from '../../lib/dashboard/byte-range';
import {
  cameraDetails,
  cameraFor,
  listCameras,
  parseStop,
  parseTrigger,
  type RebootCounter,
} from '../../lib/dashboard/cameras';
import { LIVE_RULES, previewSettings, settingsForm } from '../../lib/dashboard/camera-settings';
import type { JobBoard } from '../../lib/dashboard/jobs';
import { overview } from '../../lib/dashboard/overview';
import {
  annotate,
  deleteRecording,
  listRecordings,
  parseAnnotation,
  publicRecording,
  viewedBy,
  recordingCamera,
  recordingFor,
  recordingId,
  recordingsQuery,
} from '../../lib/dashboard/recordings';
import {
  REBUILD_JOB,
  rebuildIndex,
  retentionDryRun,
  systemStatus,
  type BackupBucket,
} from '../../lib/dashboard/system';
import { InputError, PfcamError, errorText } from '../../lib/errors';
import { inCameraScope } from '../../lib/auth/permissions';
import { HEALTH_CONTENT_TYPE, healthReport, healthStatusCode } from '../../lib/ops/health-report';
import type { RetentionOptions } from '../../lib/retention/retention-options';
import type { EventRecord, EventStore } from '../../lib/store/event-store';
import { exportEvents, exportZip } from '../../lib/store/export';
import type { ApiRequest, ApiResult, ApiRoute } from './api-route';

/** What the dashboard's routes work over (the `pfcam-ui-config` node builds it). */
export interface DashboardContext {
  /** The open store; rejects when it cannot be opened (answered 503). */
  store(): Promise<EventStore>;
  readonly cameras: CameraRegistry;
  /** The site's IANA time zone (times on every screen). */
  readonly timeZone: string;
  readonly jobs: JobBoard;
  readonly reboots: RebootCounter;
  /** The retention policy the System screen shows and dry-runs; null when no retention node is named. */
  retentionPolicy(): RetentionOptions | null;
  /**
   * The S3 bucket the backup writes to, for "Rebuild the index from S3"; null (or absent) when the dashboard
   * names no S3 configuration. Throws when the configuration is not usable.
   */
  backupBucket?(): BackupBucket | null;
  /** Tells every open page that something changed (no data: the pages fetch). */
  changed(what: { changed: 'recordings' | 'cameras' | 'alerts'; camera?: string }): void;
  /** How long a restart may take (ms). */
  readonly restartTimeoutMs?: number;
}

const json = (body: unknown, status = 200): ApiResult => ({ status, json: body });

function failure(err: unknown): ApiResult {
  if (err instanceof SettingsValidationError)
    return json({ error: { key: err.key, message: err.message, fields: err.errors } }, 400);
  if (err instanceof DashboardError)
    return json({ error: { key: err.key, message: err.message } }, err.status);
  if (err instanceof InputError) return json({ error: { key: err.key, message: err.message } }, 400);
  if (err instanceof PfcamError && /offline|unreachable|timeout|network|busy/i.test(err.key))
    return json({ error: { key: err.key, message: err.message } }, 503);
  throw err;
}

/** Wraps a handler: our errors become their statuses; anything else is left to the server (500). */
function safe(handler: (req: ApiRequest, res: ServerResponse) => Promise<ApiResult>): ApiRoute['handler'] {
  return async (req, res) => {
    try {
      return await handler(req, res);
    } catch (err) {
      return failure(err);
    }
  };
}

async function openStore(ctx: DashboardContext): Promise<EventStore> {
  try {
    return await ctx.store();
  } catch (err) {
    throw new DashboardError(
      503,
      'errors.storeUnavailable',
      `the archive is not available: ${errorText(err)}`,
    );
  }
}

const MEDIA_TYPES: Readonly<Record<string, string>> = {
  '.mp4': 'video/mp4',
  '.webm': 'video/webm',
  '.mkv': 'video/x-matroska',
  '.avi': 'video/x-msvideo',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.png': 'image/png',
};

function mediaType(ext: string): string {
  return MEDIA_TYPES[ext.toLowerCase()] ?? 'application/octet-stream';
}

/** `attachment` file name: the recording's own name, reduced to safe characters. */
function attachmentName(e: EventRecord, ext: string): string {
  return (
    `${e.cameraSerial}-${e.fileName}`.replace(/[^A-Za-z0-9._-]/g, '_') + ext.replace(/[^A-Za-z0-9.]/g, '')
  );
}

/**
 * Streams a recording's video (or thumbnail) from the local archive with `Range`, or, when it is not stored
 * locally yet, from its camera (whole file).
 */
async function serveMedia(
  ctx: DashboardContext,
  req: ApiRequest,
  res: ServerResponse,
  kind: 'video' | 'thumbnail',
  download: boolean,
): Promise<ApiResult> {
  const store = await openStore(ctx);
  const e = await recordingFor(store, req.principal, recordingId(req.params.id));
  const ext = kind === 'video' ? e.vidExt : e.thmbExt;
  const rel = kind === 'video' ? e.videoPath : e.thumbPath;
  const size = kind === 'video' ? e.videoSize : e.thumbSize;
  const headers: Record<string, string> = {
    'Content-Type': mediaType(ext),
    'Cache-Control': 'private, max-age=300',
    'X-Content-Type-Options': 'nosniff',
  };
  if (download) headers['Content-Disposition'] = `attachment; filename="${attachmentName(e, ext)}"`;
  if (rel !== null && size !== null) {
    const file = store.media.resolve(rel);
    const range = parseRange(req.raw.headers.range, size);
    headers['Accept-Ranges'] = 'bytes';
    if (range.kind === 'unsatisfiable') {
      res.writeHead(416, { ...headers, 'Content-Range': `bytes */${size}` });
      res.end();
      return { streamed: true };
    }
    const start = range.kind === 'partial' ? range.start : 0;
    const end = range.kind === 'partial' ? range.end : size - 1;
    if (range.kind === 'partial') headers['Content-Range'] = `bytes ${start}-${end}/${size}`;
    headers['Content-Length'] = String(size === 0 ? 0 : end - start + 1);
    res.writeHead(range.kind === 'partial' ? 206 : 200, headers);
    if (req.raw.method === 'HEAD' || size === 0) res.end();
    else await pipeline(createReadStream(file, { start, end }), res).catch(() => res.destroy());
    return { streamed: true };
  }
  // Not local yet: ask the camera (no Range: the clip is short, the camera link slow).
  const camera = await ctx.cameras.bySerial(e.cameraSerial, { waitMs: 2_000 });
  if (!camera || camera.snapshot.state === 'offline')
    throw new DashboardError(
      503,
      'errors.cameraOffline',
      'the recording is not stored here yet and its camera is offline',
    );
  res.writeHead(200, headers);
  await camera.client.downloadToStream(kind, e, res).catch(() => res.destroy());
  return { streamed: true };
}

async function serveExport(ctx: DashboardContext, req: ApiRequest, res: ServerResponse): Promise<ApiResult> {
  const { format = 'csv', ...filters } = req.query;
  if (format !== 'csv' && format !== 'json' && format !== 'zip')
    throw badRequest('format must be csv, json or zip');
  const store = await openStore(ctx);
  const { cursor: _c, limit: _l, ...rest } = filters;
  const q = recordingsQuery(rest, req.principal) ?? { cameras: ['\u0000'] };
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  const types = { csv: 'text/csv; charset=utf-8', json: 'application/json', zip: 'application/zip' } as const;
  res.writeHead(200, {
    'Content-Type': types[format],
    'Content-Disposition': `attachment; filename="recordings-${stamp}.${format}"`,
    'X-Content-Type-Options': 'nosniff',
  });
  try {
    if (format === 'zip') await exportZip(store.db, store.media, q, res);
    else await exportEvents(store.db, q, format, res);
    if (!res.writableEnded) res.end();
  } catch {
    res.destroy();
  }
  return { streamed: true };
}

const serialOf = (req: ApiRequest): string | undefined => req.params.serial;

/** Every route of the dashboard (the order matters only for the API reference). */
export function dashboardRoutes(ctx: DashboardContext): ApiRoute[] {
  const recordingScope = async (req: ApiRequest): Promise<string | undefined> =>
    recordingCamera(await openStore(ctx), req.params.id);
  const restart = { restartTimeoutMs: ctx.restartTimeoutMs };
  return [
    {
      method: 'GET',
      path: '/dashboard/overview',
      permission: 'events:view',
      summary: 'Overview figures, charts and latest recordings (within the camera scope)',
      handler: safe(async (req) =>
        json(await overview(await openStore(ctx), req.principal, { timeZone: ctx.timeZone })),
      ),
    },
    {
      method: 'GET',
      path: '/recordings',
      permission: 'events:view',
      summary: 'A page of recordings (filters, keyset pagination)',
      handler: safe(async (req) =>
        json(await listRecordings(await openStore(ctx), req.principal, req.query, ctx.timeZone)),
      ),
    },
    {
      method: 'GET',
      path: '/recordings/:id',
      permission: 'events:view',
      camera: recordingScope,
      summary: 'One recording',
      handler: safe(async (req) => {
        const store = await openStore(ctx);
        const e = await recordingFor(store, req.principal, recordingId(req.params.id));
        return json(publicRecording(await viewedBy(store, req.principal, e), ctx.timeZone));
      }),
    },
    {
      method: 'GET',
      path: '/recordings/:id/video',
      permission: 'events:view',
      camera: recordingScope,
      summary: 'Play a recording (Range; from the camera when not stored here yet)',
      handler: safe((req, res) => serveMedia(ctx, req, res, 'video', false)),
    },
    {
      method: 'GET',
      path: '/recordings/:id/thumbnail',
      permission: 'events:view',
      camera: recordingScope,
      summary: "A recording's thumbnail",
      handler: safe((req, res) => serveMedia(ctx, req, res, 'thumbnail', false)),
    },
    {
      method: 'GET',
      path: '/recordings/:id/download',
      permission: 'events:download',
      camera: recordingScope,
      summary: 'Download a recording',
      handler: safe((req, res) => serveMedia(ctx, req, res, 'video', true)),
    },
    {
      method: 'POST',
      path: '/recordings/:id/viewed',
      permission: 'events:view',
      camera: recordingScope,
      audit: true,
      summary: 'Mark a recording viewed (or not: { viewed: false })',
      handler: safe(async (req) => {
        const viewed = (req.body as { viewed?: unknown } | undefined)?.viewed ?? true;
        if (typeof viewed !== 'boolean') throw badRequest('viewed must be true or false');
        const id = recordingId(req.params.id);
        const r = await annotate(await openStore(ctx), req.principal, id, { viewed }, ctx.timeZone);
        ctx.changed({ changed: 'recordings', camera: r.camera });
        return json(r);
      }),
    },
    {
      method: 'PATCH',
      path: '/recordings/:id',
      permission: 'events:annotate',
      camera: recordingScope,
      audit: true,
      summary: 'Flag, unflag or tag a recording',
      handler: safe(async (req) => {
        const a = parseAnnotation(req.body);
        const r = await annotate(
          await openStore(ctx),
          req.principal,
          recordingId(req.params.id),
          a,
          ctx.timeZone,
        );
        ctx.changed({ changed: 'recordings', camera: r.camera });
        return json(r);
      }),
    },
    {
      method: 'DELETE',
      path: '/recordings/:id',
      permission: 'events:delete',
      camera: recordingScope,
      audit: true,
      summary: 'Delete a recording (?camera=true: on the camera too)',
      handler: safe(async (req) => {
        const onCamera = req.query.camera === 'true';
        const result = await deleteRecording(
          await openStore(ctx),
          req.principal,
          recordingId(req.params.id),
          {
            onCamera,
            deleteOnCamera: async (serial, fileName) => {
              const camera = await ctx.cameras.bySerial(serial, { waitMs: 2_000 });
              if (!camera)
                throw new DashboardError(
                  503,
                  'errors.cameraOffline',
                  'the camera of this recording is not reachable',
                );
              return camera.client.deleteEvent(fileName);
            },
          },
        );
        ctx.changed({ changed: 'recordings' });
        return json(result);
      }),
    },
    {
      method: 'GET',
      path: '/exports/recordings',
      permission: 'events:download',
      summary: 'Export the recordings of a filter (?format=csv|json|zip), streamed',
      handler: safe((req, res) => serveExport(ctx, req, res)),
    },
    {
      method: 'GET',
      path: '/cameras',
      permission: 'cameras:view',
      summary: 'Cameras and their health',
      handler: safe((req) =>
        Promise.resolve(json({ cameras: listCameras(ctx.cameras, req.principal, ctx.reboots) })),
      ),
    },
    {
      method: 'GET',
      path: '/cameras/:serial',
      permission: 'cameras:view',
      camera: serialOf,
      summary: "A camera's storage, firmware, clock drift and active events",
      handler: safe(async (req) =>
        json(
          await cameraDetails(await cameraFor(ctx.cameras, req.principal, req.params.serial), ctx.reboots),
        ),
      ),
    },
    {
      method: 'POST',
      path: '/cameras/:serial/trigger',
      permission: 'events:trigger',
      camera: serialOf,
      audit: true,
      summary: 'Trigger a recording (name, overlay, pre/post seconds)',
      handler: safe(async (req) => {
        const request = parseTrigger(req.body);
        const camera = await cameraFor(ctx.cameras, req.principal, req.params.serial);
        await camera.client.triggerEvent(request);
        ctx.changed({ changed: 'cameras', camera: req.params.serial });
        return json({ triggered: request.eventName }, 202);
      }),
    },
    {
      method: 'POST',
      path: '/cameras/:serial/stop',
      permission: 'events:trigger',
      camera: serialOf,
      audit: true,
      summary: 'Stop an active event ({ eventName }) or all of them',
      handler: safe(async (req) => {
        const name = parseStop(req.body);
        const camera = await cameraFor(ctx.cameras, req.principal, req.params.serial);
        if (name === undefined) await camera.client.stopAllActiveEvents();
        else await camera.client.stopActiveEvent(name);
        ctx.changed({ changed: 'cameras', camera: req.params.serial });
        return json({ stopped: name ?? 'all' });
      }),
    },
    {
      method: 'POST',
      path: '/cameras/:serial/reboot',
      permission: 'system:manage',
      camera: serialOf,
      audit: true,
      summary: 'Reboot a camera (a job: follow it until the camera is back)',
      handler: safe(async (req) => {
        const camera = await cameraFor(ctx.cameras, req.principal, req.params.serial);
        const job = ctx.jobs.start(req.principal, 'reboot', req.params.serial ?? null, async () => {
          const r = await rebootCamera(camera, restart);
          ctx.changed({ changed: 'cameras', camera: req.params.serial });
          return r;
        });
        ctx.changed({ changed: 'cameras', camera: req.params.serial });
        return json(job, 202);
      }),
    },
    {
      method: 'POST',
      path: '/cameras/:serial/clock/fix',
      permission: 'settings:manage',
      camera: serialOf,
      audit: true,
      summary: "Point the camera's NTP at a server ({ ntpServer }) and measure the drift again (a job)",
      handler: safe(async (req) => {
        const server = (req.body as { ntpServer?: unknown } | undefined)?.ntpServer;
        if (typeof server !== 'string' || server === '') throw badRequest('ntpServer is required');
        const camera = await cameraFor(ctx.cameras, req.principal, req.params.serial);
        const job = ctx.jobs.start(req.principal, 'clockFix', req.params.serial ?? null, async () => {
          const r = await fixClock(camera, server, restart);
          return { ntpServer: r.ntpServer, drift: r.drift, verified: r.write.verified };
        });
        return json(job, 202);
      }),
    },
    {
      method: 'GET',
      path: '/cameras/:serial/settings',
      permission: 'settings:manage',
      camera: serialOf,
      summary: "The camera's settings as a form (secrets left out)",
      handler: safe(async (req) => {
        const camera = await cameraFor(ctx.cameras, req.principal, req.params.serial);
        return json(settingsForm(await camera.client.getSettings({ timeoutMs: 10_000 })));
      }),
    },
    {
      method: 'POST',
      path: '/cameras/:serial/settings/preview',
      permission: 'settings:manage',
      camera: serialOf,
      summary: 'Check a settings change and show its diff (nothing is sent)',
      handler: safe(async (req) => {
        const camera = await cameraFor(ctx.cameras, req.principal, req.params.serial);
        const current = await camera.client.getSettings({ timeoutMs: 10_000 });
        const preview = previewSettings(current, (req.body as { changes?: unknown } | undefined)?.changes);
        return json(preview, preview.ok ? 200 : 400);
      }),
    },
    {
      method: 'PUT',
      path: '/cameras/:serial/settings',
      permission: 'settings:manage',
      camera: serialOf,
      audit: true,
      summary: 'Write settings: the camera restarts; a job follows it until back and verified',
      handler: safe(async (req) => {
        const changes = (req.body as { changes?: unknown } | undefined)?.changes;
        const camera = await cameraFor(ctx.cameras, req.principal, req.params.serial);
        const preview = previewSettings(await camera.client.getSettings({ timeoutMs: 10_000 }), changes);
        if (!preview.ok) return json(preview, 400);
        const job = ctx.jobs.start(req.principal, 'settings', req.params.serial ?? null, async () => {
          const r = await writeSettings(camera, changes, { ...restart, onMismatch: 'report' });
          ctx.changed({ changed: 'cameras', camera: req.params.serial });
          return {
            changed: r.changed,
            verified: r.verified,
            mismatches: r.mismatches,
            restart: r.restart ?? null,
          };
        });
        ctx.changed({ changed: 'cameras', camera: req.params.serial });
        return json(job, 202);
      }),
    },
    {
      method: 'GET',
      path: '/cameras/:serial/live/:resource',
      permission: 'settings:manage',
      camera: serialOf,
      summary: 'Live controls (exposure, focus, overlay): current values and rules',
      handler: safe(async (req) => {
        const resource = liveResource(req.params.resource);
        const camera = await cameraFor(ctx.cameras, req.principal, req.params.serial);
        return json({
          values: await readLive(camera, resource, { timeoutMs: 5_000 }),
          rules: LIVE_RULES[resource],
        });
      }),
    },
    {
      method: 'PUT',
      path: '/cameras/:serial/live/:resource',
      permission: 'settings:manage',
      camera: serialOf,
      audit: true,
      summary: 'Change a live control (no restart), read back',
      handler: safe(async (req) => {
        const resource = liveResource(req.params.resource);
        const camera = await cameraFor(ctx.cameras, req.principal, req.params.serial);
        return json(await writeLive(camera, resource, req.body, { onMismatch: 'report' }));
      }),
    },
    {
      method: 'GET',
      path: '/jobs/:id',
      permission: 'cameras:view',
      summary: 'A job the caller started (settings write, reboot, clock fix, rebuild of the index)',
      handler: safe((req) => Promise.resolve(json(ctx.jobs.get(req.principal, req.params.id ?? '')))),
    },
    {
      method: 'GET',
      path: '/alerts',
      permission: 'events:view',
      summary: 'Recent notifications and their delivery state per channel',
      handler: safe(async (req) => json({ alerts: await alertsFor(await openStore(ctx), req.principal) })),
    },
    {
      method: 'GET',
      path: '/alerts/preferences',
      permission: 'events:view',
      summary: "The signed-in user's own alert preferences",
      handler: safe(async (req) => json(await preferencesFor(await openStore(ctx), req.principal))),
    },
    {
      method: 'PUT',
      path: '/alerts/preferences',
      permission: 'events:view',
      audit: true,
      summary: "Change the signed-in user's own alert preferences",
      handler: safe(async (req) =>
        json(await savePreferencesFor(await openStore(ctx), req.principal, req.body)),
      ),
    },
    {
      method: 'GET',
      path: '/health',
      permission: 'health:read',
      summary: 'Health report for monitoring (application/health+json): store, cameras, backup, disk, alerts',
      handler: safe(async (req, res) => {
        // a principal limited to some cameras sees only those (a camera not probed yet only when unlimited)
        const visible = ctx.cameras
          .list()
          .filter((c) =>
            c.serialNumber === undefined
              ? req.principal.cameras === null
              : inCameraScope(req.principal, c.serialNumber),
          );
        const report = await healthReport(
          await openStore(ctx),
          visible.map((c) => ({ id: c.id, displayName: c.displayName, snapshot: c.snapshot })),
        );
        res.statusCode = healthStatusCode(report);
        res.setHeader('Content-Type', HEALTH_CONTENT_TYPE);
        res.setHeader('Cache-Control', 'no-store');
        res.end(JSON.stringify(report));
        return { streamed: true };
      }),
    },
    {
      method: 'GET',
      path: '/system',
      permission: 'system:manage',
      summary: 'Local storage, backup backlog, retention policy, the last rebuild of the index from S3',
      handler: safe(async () => {
        const status = await systemStatus(await openStore(ctx), ctx.retentionPolicy());
        let available = false;
        try {
          available = (ctx.backupBucket?.() ?? null) !== null;
        } catch {
          available = false;
        }
        return json({ ...status, rebuild: { available, job: ctx.jobs.latest(REBUILD_JOB) ?? null } });
      }),
    },
    {
      method: 'POST',
      path: '/system/rebuild-index',
      permission: 'system:manage',
      audit: true,
      summary:
        'Rebuild the index from S3: add the backed-up recordings the index lacks (a job; nothing is deleted)',
      handler: safe(async (req) => {
        let bucket: BackupBucket | null;
        try {
          bucket = ctx.backupBucket?.() ?? null;
        } catch (err) {
          throw new DashboardError(409, 'errors.noBackup', `the S3 backup is not usable: ${errorText(err)}`);
        }
        if (!bucket)
          throw new DashboardError(409, 'errors.noBackup', 'no S3 backup is configured for this dashboard');
        const store = await openStore(ctx);
        // checked and started in one turn: two requests at once cannot both start one
        const running = ctx.jobs.latest(REBUILD_JOB);
        if (running?.state === 'running')
          return json(
            {
              error: { key: 'errors.rebuildRunning', message: 'a rebuild of the index is running already' },
              job: running,
            },
            409,
          );
        const from = bucket;
        const job = ctx.jobs.start(req.principal, REBUILD_JOB, null, async (progress) => {
          const result = await rebuildIndex(store, from, { actor: req.principal.name, onProgress: progress });
          if (result.added > 0) ctx.changed({ changed: 'recordings' });
          return result;
        });
        return json(job, 202);
      }),
    },
    {
      method: 'POST',
      path: '/system/retention/dry-run',
      permission: 'system:manage',
      summary: 'What the retention policy would delete next (nothing is deleted)',
      handler: safe(async () => {
        const policy = ctx.retentionPolicy();
        if (!policy) throw new DashboardError(409, 'errors.noRetention', 'no retention policy is configured');
        return json(await retentionDryRun(await openStore(ctx), policy, { timeZone: ctx.timeZone }));
      }),
    },
  ];
}

function liveResource(raw: string | undefined): 'exposure' | 'focus' | 'overlay' {
  if (raw === 'exposure' || raw === 'focus' || raw === 'overlay') return raw;
  throw badRequest('the live control must be exposure, focus or overlay');
}
