/**
 * The Node-RED flow library's scorecard points that can be checked offline (the catalogue lookup of
 * `node-red-dev validate` needs the network): packaging, licence, versions, examples, help, dependencies.
 */
import { strict as assert } from 'node:assert';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

const root = join(__dirname, '..', '..');

interface PackageJson {
  name: string;
  license?: string;
  repository?: { type?: string; url?: string } | string;
  keywords?: string[];
  engines?: { node?: string };
  dependencies?: Record<string, string>;
  files?: string[];
  'node-red'?: { version?: string; nodes?: Record<string, string> };
}

const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as PackageJson;
const nodeTypes = Object.keys(pkg['node-red']?.nodes ?? {});

describe('package scorecard', () => {
  it('has a scoped name and the node-red keyword', () => {
    assert.match(pkg.name, /^@[a-z0-9-]+\/node-red-[a-z0-9-]+$/);
    assert.ok(pkg.keywords?.includes('node-red'), 'keywords must include node-red');
  });

  it('declares an Apache-2.0 licence and ships its text', () => {
    assert.equal(pkg.license, 'Apache-2.0');
    assert.match(readFileSync(join(root, 'LICENSE'), 'utf8'), /Apache License\s+Version 2\.0/);
  });

  it('links its repository', () => {
    const url = typeof pkg.repository === 'string' ? pkg.repository : pkg.repository?.url;
    assert.match(url ?? '', /^(git\+)?https:\/\/.+\.git$/);
  });

  it('declares the Node-RED and Node.js versions it supports', () => {
    assert.match(pkg['node-red']?.version ?? '', /^>=\s*4\.1/);
    assert.match(pkg.engines?.node ?? '', /^>=\s*20/);
  });

  it('keeps a modest number of runtime dependencies', () => {
    const count = Object.keys(pkg.dependencies ?? {}).length;
    assert.ok(count <= 15, `${count} runtime dependencies`);
    for (const dev of ['node-red', 'mocha', 'typescript', 'node-red-node-test-helper']) {
      assert.ok(!(dev in (pkg.dependencies ?? {})), `${dev} must not be a runtime dependency`);
    }
  });

  it('ships examples, each using at least one of its own nodes and starting with a comment', () => {
    assert.ok(pkg.files?.includes('examples'), 'files must include examples');
    const examples = readdirSync(join(root, 'examples')).filter((f) => f.endsWith('.json'));
    assert.ok(examples.length >= nodeTypes.length / 2, `only ${examples.length} examples`);
    for (const file of examples) {
      const flow = JSON.parse(readFileSync(join(root, 'examples', file), 'utf8')) as {
        type: string;
        z?: string;
      }[];
      assert.ok(Array.isArray(flow), `${file} is not a flow`);
      assert.ok(
        flow.some((n) => nodeTypes.includes(n.type)),
        `${file} uses none of the package's nodes`,
      );
      const firstOnCanvas = flow.find((n) => n.type !== 'tab' && n.z !== undefined);
      assert.equal(firstOnCanvas?.type, 'comment', `${file} must start with a comment node that explains it`);
    }
  });

  it('gives every node an editor file, help and an English message catalog', () => {
    assert.ok(nodeTypes.length > 0);
    for (const type of nodeTypes) {
      const dir = join(root, 'nodes', type);
      assert.ok(existsSync(join(dir, `${type}.ts`)), `${type}: no ${type}.ts`);
      assert.ok(existsSync(join(dir, `${type}.html`)), `${type}: no ${type}.html`);
      const help = readFileSync(join(dir, 'locales', 'en-US', `${type}.html`), 'utf8');
      assert.match(help, new RegExp(`data-help-name="${type}"`), `${type}: no help`);
      const catalog = JSON.parse(
        readFileSync(join(dir, 'locales', 'en-US', `${type}.json`), 'utf8'),
      ) as object;
      assert.ok(type in catalog, `${type}: the catalog has no "${type}" section`);
    }
  });

  it('keeps node type names kebab-case with the pfcam- prefix', () => {
    for (const type of nodeTypes) assert.match(type, /^pfcam-[a-z0-9]+(-[a-z0-9]+)*$/);
  });
});
