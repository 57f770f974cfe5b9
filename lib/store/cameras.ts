/**
 * The owner of the `cameras` table: the cameras the archive has seen, by serial number. Its counters
 * (`event_count`, `stored_bytes`) are kept by the triggers of schema.ts; nothing else writes the table.
 */
import type { Transaction } from './database';
import { checkSerial, toCameraRecord, type CameraRecord, type CameraRow, type CameraUpdate } from './records';

/** A camera's id and the time zone its recordings' times are read in. */
export interface CameraKey {
  id: number;
  timezone: string | null;
}

/** Creates or updates a camera; returns its id. Absent fields keep their value. */
export async function upsertCamera(
  sql: Transaction,
  serialNumber: string,
  update: CameraUpdate,
  now: string,
): Promise<number> {
  checkSerial(serialNumber);
  const row = await sql.get<{ id: number }>(
    `INSERT INTO cameras (serial_number, name, base_url, timezone, info, first_seen, last_seen)
     VALUES (?, ?, ?, ?, ?, ?, ?)
     ON CONFLICT (serial_number) DO UPDATE SET
       name = CASE WHEN ? THEN excluded.name ELSE name END,
       base_url = CASE WHEN ? THEN excluded.base_url ELSE base_url END,
       timezone = CASE WHEN ? THEN excluded.timezone ELSE timezone END,
       info = CASE WHEN ? THEN excluded.info ELSE info END,
       last_seen = excluded.last_seen
     RETURNING id`,
    [
      serialNumber,
      update.name ?? null,
      update.baseUrl ?? null,
      update.timezone ?? null,
      update.info ? JSON.stringify(update.info) : null,
      now,
      now,
      update.name !== undefined ? 1 : 0,
      update.baseUrl !== undefined ? 1 : 0,
      update.timezone !== undefined ? 1 : 0,
      update.info !== undefined ? 1 : 0,
    ],
  );
  if (!row) throw new Error('upsertCamera returned no id');
  return row.id;
}

/** The camera with this serial number, created (first seen now) when the store does not know it yet. */
export async function ensureCamera(sql: Transaction, serial: string, now: string): Promise<CameraKey> {
  let row = await sql.get<CameraKey>('SELECT id, timezone FROM cameras WHERE serial_number = ?', [serial]);
  if (!row) {
    row = await sql.get<CameraKey>(
      'INSERT INTO cameras (serial_number, first_seen, last_seen) VALUES (?, ?, ?) RETURNING id, timezone',
      [serial, now, now],
    );
    if (!row) throw new Error('camera insert returned no id');
  }
  return row;
}

export async function getCamera(sql: Transaction, serialNumber: string): Promise<CameraRecord | undefined> {
  const row = await sql.get<CameraRow>('SELECT * FROM cameras WHERE serial_number = ?', [serialNumber]);
  return row ? toCameraRecord(row) : undefined;
}

export async function listCameras(sql: Transaction): Promise<CameraRecord[]> {
  const rows = await sql.all<CameraRow>('SELECT * FROM cameras ORDER BY serial_number');
  return rows.map(toCameraRecord);
}

/** Cameras, live recordings and their bytes, over all cameras (kept by triggers: O(cameras)). */
export async function cameraTotals(
  sql: Transaction,
): Promise<{ cameras: number; events: number; bytes: number }> {
  const totals = await sql.get<{ cameras: number; events: number; bytes: number }>(
    'SELECT count(*) AS cameras, coalesce(sum(event_count), 0) AS events, coalesce(sum(stored_bytes), 0) AS bytes FROM cameras',
  );
  return { cameras: totals?.cameras ?? 0, events: totals?.events ?? 0, bytes: totals?.bytes ?? 0 };
}

/** Bytes of live recordings' files (video + thumbnail), all cameras or one. Kept by triggers: O(cameras). */
export async function storedBytes(sql: Transaction, cameraSerial?: string): Promise<number> {
  const row =
    cameraSerial === undefined
      ? await sql.get<{ b: number }>('SELECT coalesce(sum(stored_bytes), 0) AS b FROM cameras')
      : await sql.get<{ b: number }>('SELECT stored_bytes AS b FROM cameras WHERE serial_number = ?', [
          cameraSerial,
        ]);
  return row?.b ?? 0;
}
