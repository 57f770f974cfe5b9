import { strict as assert } from 'node:assert';
import { readdir, readFile } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';

/**
 * Each database table has one owner module: the only one whose SQL writes it. A table's schema module (its
 * migrations and triggers) may write it too. Every table written anywhere in the shipped code is declared here.
 */
const OWNERS: Readonly<Record<string, { owner: string; schema?: string }>> = {
  // the archive (event store)
  cameras: { owner: 'lib/store/cameras.ts', schema: 'lib/store/schema.ts' },
  events: { owner: 'lib/store/events.ts', schema: 'lib/store/schema.ts' },
  events_name_fts: { owner: 'lib/store/schema.ts' },
  event_tags: { owner: 'lib/store/tags.ts' },
  viewed_marks: { owner: 'lib/store/viewed-marks.ts', schema: 'lib/store/schema.ts' },
  backup_outbox: { owner: 'lib/store/backup-outbox.ts' },
  audit: { owner: 'lib/store/audit-log.ts' },
  retention_journal: { owner: 'lib/store/retention-queries.ts' },
  schema_migrations: { owner: 'lib/store/database.ts' },
  // alerting
  notify_recipients: { owner: 'lib/notify/recipients.ts' },
  notify_notifications: { owner: 'lib/notify/dispatcher.ts' },
  notify_outbox: { owner: 'lib/notify/outbox.ts' },
  notify_cooldown: { owner: 'lib/notify/cooldown.ts' },
  // operations
  ops_health_probe: { owner: 'lib/ops/health-report.ts' },
  // the security database
  auth_users: { owner: 'lib/auth/users.ts' },
  auth_recovery_codes: { owner: 'lib/auth/users.ts' },
  auth_sessions: { owner: 'lib/auth/session-store.ts' },
  auth_tokens: { owner: 'lib/auth/tokens.ts' },
  auth_audit: { owner: 'lib/auth/audit.ts' },
};

/** The shipped code: everything that runs in Node-RED or the command line. */
const SCANNED = ['lib', 'nodes', 'dashboard', 'cli'];

const ROOT = join(__dirname, '..', '..');

/** Keywords in capitals and table names in lower case, as this code base writes SQL (prose is not matched). */
const WRITE =
  /\b(?:INSERT(?:\s+OR\s+[A-Z]+)?\s+INTO|REPLACE\s+INTO|DELETE\s+FROM)\s+([a-z_][a-z0-9_]*)|\bUPDATE(?:\s+OR\s+[A-Z]+)?\s+([a-z_][a-z0-9_]*)\s+SET\b/g;

interface Write {
  table: string;
  file: string;
  line: number;
}

/** The tables a source text writes, with the line of each statement. */
function writesIn(text: string, file: string): Write[] {
  const out: Write[] = [];
  for (const m of text.matchAll(WRITE)) {
    const table = m[1] ?? m[2];
    if (table === undefined) continue;
    out.push({ table, file, line: text.slice(0, m.index).split('\n').length });
  }
  return out;
}

async function sourceFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true });
  const files: string[] = [];
  for (const e of entries) {
    const path = join(dir, e.name);
    if (e.isDirectory()) files.push(...(await sourceFiles(path)));
    else if (e.name.endsWith('.ts') && !e.name.endsWith('.d.ts')) files.push(path);
  }
  return files;
}

async function allWrites(): Promise<Write[]> {
  const writes: Write[] = [];
  for (const top of SCANNED) {
    for (const path of await sourceFiles(join(ROOT, top))) {
      const file = relative(ROOT, path).split(sep).join('/');
      writes.push(...writesIn(await readFile(path, 'utf8'), file));
    }
  }
  return writes;
}

describe('table owners', () => {
  let writes: Write[];

  before(async () => {
    writes = await allWrites();
  });

  it('recognises every form of a write, and no prose', () => {
    const sample = [
      "await tx.run('INSERT INTO events (id) VALUES (?)');",
      '`INSERT OR IGNORE INTO backup_outbox (event_id) VALUES (?)`',
      "'INSERT OR REPLACE INTO retention_journal (event_id) VALUES (?)'",
      "'REPLACE INTO audit (id) VALUES (?)'",
      '`UPDATE cameras SET name = ? WHERE id = ?`',
      "'DELETE FROM event_tags WHERE event_id = ?'",
      '`INSERT INTO x (a) VALUES (?) ON CONFLICT (a) DO UPDATE SET a = excluded.a`',
      '// every transition is one guarded UPDATE or one transaction',
      'CREATE TRIGGER t AFTER UPDATE OF event_name ON events BEGIN',
    ].join('\n');
    assert.deepEqual(
      writesIn(sample, 'sample.ts').map((w) => `${w.table}:${w.line}`),
      ['events:1', 'backup_outbox:2', 'retention_journal:3', 'audit:4', 'cameras:5', 'event_tags:6', 'x:7'],
    );
  });

  it('declares an owner for every table the shipped code writes', () => {
    const undeclared = writes.filter((w) => OWNERS[w.table] === undefined);
    assert.deepEqual(
      undeclared.map((w) => `${w.file}:${w.line} writes ${w.table}`),
      [],
      'declare the owner of each new table in this spec',
    );
  });

  it('lets no module but its owner (and its schema) write a table', () => {
    const trespass = writes.filter((w) => {
      const declared = OWNERS[w.table];
      return declared !== undefined && w.file !== declared.owner && w.file !== declared.schema;
    });
    assert.deepEqual(
      trespass.map((w) => `${w.file}:${w.line} writes ${w.table} (owner: ${OWNERS[w.table]!.owner})`),
      [],
    );
  });

  it('names as owner a module that does write the table', () => {
    const stale = Object.entries(OWNERS).filter(
      ([table, { owner }]) => !writes.some((w) => w.table === table && w.file === owner),
    );
    assert.deepEqual(
      stale.map(([table, { owner }]) => `${table}: ${owner}`),
      [],
    );
  });
});
