import { strict as assert } from 'node:assert';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import {
  exportFilePath,
  parseQueryNodeConfig,
  parseStoreConfig,
  storeBaseDir,
} from '../../lib/store/store-options';
import { isValidTimeZone, toUtcIso } from '../../lib/time/zoned-time';

describe('store options', () => {
  it('puts the database and media under pfcam.dataDir from settings.js when it is set', () => {
    const cfg = parseStoreConfig({}, { userDir: '/srv/nr', pfcam: { dataDir: '/data/pfcam' } });
    assert.equal(cfg.databaseFile, '/data/pfcam/pfcam.sqlite');
    assert.equal(cfg.mediaDir, '/data/pfcam/media');
    assert.equal(cfg.recoverOnStart, true);
    assert.equal(cfg.verifyFiles, true);
  });

  it('falls back to <userDir>/pfcam, then to ~/.node-red/pfcam', () => {
    assert.equal(storeBaseDir({ userDir: '/srv/nr' }), '/srv/nr/pfcam');
    assert.equal(storeBaseDir({}), join(homedir(), '.node-red', 'pfcam'));
  });

  it('resolves relative paths against the data folder and keeps absolute ones', () => {
    const cfg = parseStoreConfig(
      { databaseFile: 'db/events.sqlite', mediaDir: '/mnt/video', verifyFiles: false },
      { userDir: '/srv/nr' },
    );
    assert.equal(cfg.databaseFile, '/srv/nr/pfcam/db/events.sqlite');
    assert.equal(cfg.mediaDir, '/mnt/video');
    assert.equal(cfg.verifyFiles, false);
  });

  it('refuses a database inside the media folder', () => {
    assert.throws(() => parseStoreConfig({ databaseFile: 'media/x.sqlite' }, { userDir: '/srv' }), {
      key: 'errors.badOption',
      params: { option: 'databaseFile' },
    });
  });

  it('parses the query node settings with defaults and refuses bad ones with the option named', () => {
    const cfg = parseQueryNodeConfig({ query: '{"limit":20,"named":true}' }, { userDir: '/srv' });
    assert.equal(cfg.operation, 'query');
    assert.deepEqual(cfg.query, { limit: 20, named: true });
    assert.equal(cfg.timeZone, 'UTC');
    assert.equal(cfg.exportDir, resolve('/srv/pfcam/exports'));
    assert.equal(cfg.maxPayloadBytes, 16 * 1024 * 1024);
    assert.throws(() => parseQueryNodeConfig({ operation: 'drop' }, {}), { params: { option: 'operation' } });
    assert.throws(() => parseQueryNodeConfig({ query: '{bad' }, {}), { params: { option: 'query' } });
    assert.throws(() => parseQueryNodeConfig({ timeZone: 'Mars/Olympus' }, {}), {
      params: { option: 'timeZone' },
    });
    assert.throws(() => parseQueryNodeConfig({ maxPayloadMB: '-1' }, {}), {
      params: { option: 'maxPayloadMB' },
    });
  });

  it('keeps export files inside their folder', () => {
    assert.equal(exportFilePath('/x/exports', 'events.csv'), '/x/exports/events.csv');
    for (const bad of ['../events.csv', '/etc/passwd', 'a/b.csv', '.hidden', 'x.part', '', 'a\\b']) {
      assert.throws(() => exportFilePath('/x/exports', bad), { key: 'errors.badFileName' }, bad);
    }
  });
});

describe('zoned time', () => {
  it('keeps explicit offsets exact', () => {
    assert.equal(toUtcIso('2024-05-01T12:00:00Z'), '2024-05-01T12:00:00.000Z');
    assert.equal(toUtcIso('2024-05-01T12:00:00+02:00', 'America/New_York'), '2024-05-01T10:00:00.000Z');
    assert.equal(toUtcIso('2024-05-01T12:00:00.5-0130'), '2024-05-01T13:30:00.500Z');
  });

  it('reads a time without offset in the given zone, across DST changes', () => {
    assert.equal(toUtcIso('2024-01-15T12:00:00', 'Europe/Zurich'), '2024-01-15T11:00:00.000Z');
    assert.equal(toUtcIso('2024-07-15T12:00:00', 'Europe/Zurich'), '2024-07-15T10:00:00.000Z');
    assert.equal(toUtcIso('2024-07-15T12:00:00', 'Asia/Kathmandu'), '2024-07-15T06:15:00.000Z');
    // 02:30 does not exist on 2024-03-31 in Zurich: the time after the gap (03:30 CEST)
    assert.equal(toUtcIso('2024-03-31T02:30:00', 'Europe/Zurich'), '2024-03-31T01:30:00.000Z');
    // 02:30 happens twice on 2024-10-27: the first one (CEST)
    assert.equal(toUtcIso('2024-10-27T02:30:00', 'Europe/Zurich'), '2024-10-27T00:30:00.000Z');
    assert.equal(toUtcIso('2024-07-15T12:00:00'), '2024-07-15T12:00:00.000Z');
  });

  it('refuses text that is not an ISO time', () => {
    for (const bad of ['', 'yesterday', '2024-13-01T00:00:00Z', '2024-05-01']) {
      assert.throws(() => toUtcIso(bad), { key: 'errors.badTime' }, bad);
    }
    assert.equal(isValidTimeZone('Europe/Zurich'), true);
    assert.equal(isValidTimeZone('Nowhere/Else'), false);
  });
});
