/**
 * Keeps the operator's manual (docs/manual/) honest against the code: every node type has its section, every
 * PFCAM_* environment variable the application reads is documented, every metric is listed, and every relative
 * link of the documentation leads to a file (and heading) that exists.
 */
import { strict as assert } from 'node:assert';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { Metrics } from '../../lib/metrics/metrics';

const ROOT = resolve(__dirname, '..', '..');
const MANUAL = join(ROOT, 'docs', 'manual');

/** Files under `dir` (recursively) whose name passes `keep`. */
function filesUnder(dir: string, keep: (name: string) => boolean): string[] {
  if (!existsSync(dir)) return [];
  const out: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) {
      if (entry.name !== 'node_modules' && entry.name !== 'dist') out.push(...filesUnder(path, keep));
    } else if (keep(entry.name)) out.push(path);
  }
  return out;
}

const isMarkdown = (name: string): boolean => name.endsWith('.md');

function manualText(): string {
  const files = filesUnder(MANUAL, isMarkdown);
  assert.ok(files.length > 0, 'docs/manual/ holds no Markdown file');
  return files.map((f) => readFileSync(f, 'utf8')).join('\n');
}

/** GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens. */
function slug(heading: string): string {
  return heading
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{M}\p{N}\p{Pc} -]/gu, '')
    .replace(/ /g, '-');
}

/** The anchors of a Markdown file's headings (repeats get -1, -2... as on GitHub). */
function anchorsOf(markdown: string): Set<string> {
  const seen = new Map<string, number>();
  const anchors = new Set<string>();
  let fenced = false;
  for (const line of markdown.split('\n')) {
    if (/^\s*(```|~~~)/.test(line)) fenced = !fenced;
    const m = fenced ? null : /^#{1,6}\s+(.+?)\s*#*\s*$/.exec(line);
    if (!m?.[1]) continue;
    const base = slug(m[1]);
    const n = seen.get(base) ?? 0;
    seen.set(base, n + 1);
    anchors.add(n === 0 ? base : `${base}-${n}`);
  }
  return anchors;
}

/** Markdown text with fenced code blocks and inline code spans blanked, so that code is never read as a link. */
function withoutCode(markdown: string): string {
  return markdown.replace(/^(\s*)(```|~~~)[\s\S]*?^\s*\2/gm, '').replace(/`[^`\n]*`/g, '');
}

/** Relative link targets of a Markdown file: `[text](target)`, `![alt](target)`, `<img src="target">`. */
function relativeLinks(markdown: string): string[] {
  const text = withoutCode(markdown);
  const targets: string[] = [];
  for (const m of text.matchAll(/\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g)) if (m[1]) targets.push(m[1]);
  for (const m of text.matchAll(/<img\s[^>]*src="([^"]+)"/g)) if (m[1]) targets.push(m[1]);
  return targets.filter((t) => !/^[a-z][a-z0-9+.-]*:/i.test(t));
}

/**
 * Pages that another part of the project delivers on its own: a link to one is accepted while the page is not
 * there yet, so that the manual can point at it before it lands. Once the file exists, its links are checked.
 */
const PENDING_PAGES = new Set(['docs/backup-restore.md']);

/**
 * `PFCAM_` names in the code that are not environment variables, each with where it comes from. Each must still
 * occur in the code (checked below), so that this list cannot hide a variable that took its name.
 */
const NOT_VARIABLES: Readonly<Record<string, string>> = {
  PFCAM_HOST_REFUSED: 'the error code of the webhook host allow-list (lib/notify/webhook.ts)',
};

/** Where the application reads its environment: settings, start scripts, core, nodes, dashboard, CLI, flows. */
function sourcesReadingEnvironment(): string[] {
  const code = (name: string): boolean =>
    /\.(ts|js|mjs|cjs|html|json)$/.test(name) && !name.endsWith('.d.ts');
  return [
    join(ROOT, 'settings.js'),
    ...filesUnder(join(ROOT, 'scripts'), code),
    ...filesUnder(join(ROOT, 'lib'), code),
    ...filesUnder(join(ROOT, 'nodes'), code),
    ...filesUnder(join(ROOT, 'dashboard'), code),
    ...filesUnder(join(ROOT, 'cli'), code),
    ...filesUnder(join(ROOT, 'simulator'), code),
    ...filesUnder(join(ROOT, 'flows'), (name) => name.endsWith('.json')),
    ...filesUnder(join(ROOT, 'deploy'), () => true),
  ].filter((f) => existsSync(f));
}

/** Every `PFCAM_...` name in the sources; a name ending in `_` is a prefix (`PFCAM_CAMERA_${i}_URL`). */
function namesInCode(): Map<string, string[]> {
  const found = new Map<string, string[]>();
  for (const file of sourcesReadingEnvironment()) {
    for (const m of readFileSync(file, 'utf8').matchAll(/\bPFCAM_[A-Z0-9_]+/g)) {
      const where = found.get(m[0]) ?? [];
      const rel = relative(ROOT, file);
      if (!where.includes(rel)) where.push(rel);
      found.set(m[0], where);
    }
  }
  return found;
}

describe('operator manual', () => {
  it('has an index that links every page of the manual', () => {
    const index = join(MANUAL, 'README.md');
    assert.ok(existsSync(index), 'docs/manual/README.md is missing');
    const linked = new Set(relativeLinks(readFileSync(index, 'utf8')).map((t) => t.split('#')[0]));
    const pages = filesUnder(MANUAL, isMarkdown)
      .map((f) => relative(MANUAL, f))
      .filter((f) => f !== 'README.md');
    const unlinked = pages.filter((p) => !linked.has(p) && !linked.has(`./${p}`));
    assert.deepEqual(unlinked, [], `pages not linked from docs/manual/README.md: ${unlinked.join(', ')}`);
  });

  it('has a section for every node type of package.json node-red.nodes', () => {
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
      'node-red': { nodes: Record<string, string> };
    };
    const types = Object.keys(pkg['node-red'].nodes);
    assert.ok(types.length > 0);
    const headings = manualText()
      .split('\n')
      .filter((line) => /^#{2,4}\s/.test(line));
    const missing = types.filter((type) => !headings.some((h) => h.includes('`' + type + '`')));
    assert.deepEqual(
      missing,
      [],
      `node types without a "### \`type\`" section in docs/manual: ${missing.join(', ')}`,
    );
  });

  it('documents every PFCAM_* environment variable the application reads', () => {
    const found = namesInCode();
    // the scan itself must see the variables it is meant to see, or it would pass on nothing
    for (const known of ['PFCAM_DATA', 'PFCAM_METRICS_TOKEN', 'PFCAM_AUTH_KEY', 'PFCAM_SITE']) {
      assert.ok(found.has(known), `the scan no longer finds ${known}`);
    }
    for (const name of Object.keys(NOT_VARIABLES)) {
      assert.ok(found.has(name), `${name} is listed as not a variable but no longer occurs in the code`);
    }
    const documented = new Set([...manualText().matchAll(/`(PFCAM_[A-Z0-9_]+)`/g)].map((m) => m[1]));
    const missing: string[] = [];
    for (const [name, where] of found) {
      if (name in NOT_VARIABLES) continue;
      const ok = name.endsWith('_')
        ? [...documented].some((d) => d !== undefined && d.startsWith(name))
        : documented.has(name);
      if (!ok) missing.push(`${name} (${where.join(', ')})`);
    }
    assert.deepEqual(
      missing,
      [],
      `variables read by the code but not documented in docs/manual: ${missing.join('; ')}`,
    );
  });

  it('lists every Prometheus metric the application exposes', async () => {
    const exposition = await new Metrics({ cameras: { list: () => [] }, processMetrics: false }).scrape();
    const names = [...exposition.matchAll(/^# TYPE (\S+) /gm)].map((m) => m[1] ?? '');
    assert.ok(
      names.includes('pfcam_recordings_archived_total'),
      'the scrape no longer has the archive counter',
    );
    const text = manualText();
    const missing = names.filter((name) => !text.includes('`' + name + '`'));
    assert.deepEqual(missing, [], `metrics not documented in docs/manual: ${missing.join(', ')}`);
  });

  it('has no relative link in the documentation that leads nowhere', () => {
    const files = [join(ROOT, 'README.md'), ...filesUnder(join(ROOT, 'docs'), isMarkdown)];
    const broken: string[] = [];
    for (const file of files) {
      for (const target of relativeLinks(readFileSync(file, 'utf8'))) {
        const [pathPart = '', anchor] = target.split('#');
        const dest = pathPart === '' ? file : resolve(dirname(file), decodeURIComponent(pathPart));
        const where = `${relative(ROOT, file)} -> ${target}`;
        if (!existsSync(dest)) {
          if (!PENDING_PAGES.has(relative(ROOT, dest))) broken.push(`${where} (no such file)`);
          continue;
        }
        if (anchor && dest.endsWith('.md') && statSync(dest).isFile()) {
          if (!anchorsOf(readFileSync(dest, 'utf8')).has(anchor)) broken.push(`${where} (no such heading)`);
        }
      }
    }
    assert.deepEqual(broken, [], `broken links:\n${broken.join('\n')}`);
  });

  it('reads links, headings and anchors the way the checks above rely on', () => {
    // the helpers themselves: a check built on a parser that finds nothing would pass on anything
    assert.deepEqual(
      relativeLinks('[a](x.md) ![b](img/y.svg "t") [c](https://e.org) `[d](no.md)` [e](#top)'),
      ['x.md', 'img/y.svg', '#top'],
    );
    assert.deepEqual(relativeLinks('```\n[a](fenced.md)\n```\n[b](kept.md)'), ['kept.md']);
    assert.deepEqual(
      [...anchorsOf('# Install into an existing Node-RED\n## `pfcam-camera`\n## Errors\n## Errors\n')],
      ['install-into-an-existing-node-red', 'pfcam-camera', 'errors', 'errors-1'],
    );
  });
});
