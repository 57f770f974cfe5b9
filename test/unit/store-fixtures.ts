/** Shared fixtures of the store specs: a real SQLite file and media folder in a temp dir. */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { CameraEvent } from '../../lib/camera/types';
import { EventStore, type EventStoreOptions } from '../../lib/store/event-store';

export interface StoreFixture {
  dir: string;
  databaseFile: string;
  mediaDir: string;
  store: EventStore;
  /** Closes and opens the store again on the same files. */
  reopen(options?: Partial<EventStoreOptions>): Promise<EventStore>;
  cleanup(): Promise<void>;
}

export async function openFixture(options: Partial<EventStoreOptions> = {}): Promise<StoreFixture> {
  const dir = await mkdtemp(join(tmpdir(), 'pfcam-store-'));
  const databaseFile = join(dir, 'db', 'pfcam.sqlite');
  const mediaDir = join(dir, 'media');
  const fixture: StoreFixture = {
    dir,
    databaseFile,
    mediaDir,
    store: await EventStore.open({ databaseFile, mediaDir, ...options }),
    async reopen(more = {}) {
      await fixture.store.close();
      fixture.store = await EventStore.open({ databaseFile, mediaDir, ...options, ...more });
      return fixture.store;
    },
    async cleanup() {
      await fixture.store.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
  return fixture;
}

/** A camera event with sensible defaults. */
export function cameraEvent(fileName: string, more: Partial<CameraEvent> = {}): CameraEvent {
  return {
    fileName,
    eventName: null,
    triggeredAt: '2024-05-01T10:00:00Z',
    vidExt: '.mp4',
    thmbExt: '.jpg',
    playbackTime: 12,
    age: 30,
    dir: 'unnamed',
    ...more,
  };
}

/** A clock tests move by hand. */
export function manualClock(start = Date.parse('2024-06-01T00:00:00Z')): {
  now: () => number;
  advance(ms: number): void;
} {
  let t = start;
  return {
    now: () => t,
    advance(ms: number) {
      t += ms;
    },
  };
}
