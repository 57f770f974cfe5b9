/**
 * Fixtures for the alerting tests: a manual clock, an event recorder to wait on, and notification factories.
 */
import { EventEmitter } from 'node:events';
import type { Clock } from '../../lib/notify/outbox';
import type { Notification, RecordingNotification } from '../../lib/notify/notification';

/** A clock whose time moves only when told; timers fire in time order as it moves. */
export class ManualClock implements Clock {
  private timers = new Map<number, { at: number; fn: () => void }>();
  private seq = 0;

  constructor(public t: number = Date.parse('2025-03-04T12:00:00Z')) {}

  now(): number {
    return this.t;
  }

  setTimeout(fn: () => void, ms: number): unknown {
    const id = ++this.seq;
    this.timers.set(id, { at: this.t + Math.max(0, ms), fn });
    return id;
  }

  clearTimeout(handle: unknown): void {
    this.timers.delete(handle as number);
  }

  /** Moves time forward by `ms`, firing every timer that falls due on the way. */
  advance(ms: number): void {
    const target = this.t + ms;
    for (;;) {
      let next: [number, { at: number; fn: () => void }] | undefined;
      for (const entry of this.timers)
        if (entry[1].at <= target && (!next || entry[1].at < next[1].at)) next = entry;
      if (!next) break;
      this.timers.delete(next[0]);
      this.t = Math.max(this.t, next[1].at);
      next[1].fn();
    }
    this.t = target;
  }

  /** When the earliest timer is due (ms), or undefined. */
  get nextTimerAt(): number | undefined {
    let min: number | undefined;
    for (const { at } of this.timers.values()) if (min === undefined || at < min) min = at;
    return min;
  }
}

/** Collects items and lets a test wait until a condition on them holds (no sleeps). */
export class Recorder<T> extends EventEmitter {
  readonly items: T[] = [];

  push(item: T): void {
    this.items.push(item);
    this.emit('change');
  }

  waitFor(predicate: (items: readonly T[]) => boolean, what: string, timeoutMs = 5_000): Promise<void> {
    if (predicate(this.items)) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.off('change', check);
        reject(new Error(`timed out waiting for ${what} (have ${this.items.length})`));
      }, timeoutMs);
      const check = (): void => {
        if (predicate(this.items)) {
          clearTimeout(timer);
          this.off('change', check);
          resolve();
        }
      };
      this.on('change', check);
    });
  }

  count(predicate: (item: T) => boolean): number {
    return this.items.filter(predicate).length;
  }
}

/** A recording notification on `serial`, numbered `i`, at `atMs`. */
export function recordingAt(
  i: number,
  atMs: number,
  serial = 'PF-1',
  thumbPath?: string,
): RecordingNotification {
  const iso = new Date(atMs).toISOString();
  return {
    kind: 'recording',
    id: `recording:${serial}:f${i}`,
    at: iso,
    camera: { serialNumber: serial, name: `Camera ${serial}` },
    recording: {
      id: i,
      fileName: `f${i}`,
      eventName: `event ${i}`,
      triggeredAtUtc: iso,
      playbackTime: 10,
      ...(thumbPath ? { thumbPath } : {}),
    },
  };
}

export function offlineAt(atMs: number, serial = 'PF-1'): Notification {
  const at = new Date(atMs).toISOString();
  return {
    kind: 'camera-offline',
    id: `camera-offline:${serial}:${at}`,
    at,
    camera: { serialNumber: serial, name: `Camera ${serial}` },
    state: 'offline',
    previous: 'online',
  };
}
