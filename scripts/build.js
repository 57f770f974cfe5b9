#!/usr/bin/env node
// Builds the package into dist/: compiles the TypeScript (tsconfig.build.json), then copies the assets that
// Node-RED and the simulator read at run time (editor HTML, locales, icons, media fixtures, dashboard assets).
'use strict';
const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const root = path.resolve(__dirname, '..');
const dist = path.join(root, 'dist');

/** Copies every file under `from` for which `keep(relativePath)` is true, keeping the layout. */
function copyTree(from, to, keep) {
  if (!fs.existsSync(from)) return 0;
  let copied = 0;
  for (const entry of fs.readdirSync(from, { withFileTypes: true, recursive: true })) {
    if (!entry.isFile()) continue;
    const abs = path.join(entry.parentPath ?? entry.path, entry.name);
    const rel = path.relative(from, abs);
    if (!keep(rel)) continue;
    const target = path.join(to, rel);
    fs.mkdirSync(path.dirname(target), { recursive: true });
    fs.copyFileSync(abs, target);
    copied++;
  }
  return copied;
}

const tsc = require.resolve('typescript/bin/tsc');
try {
  execFileSync(process.execPath, [tsc, '-p', path.join(root, 'tsconfig.build.json')], { stdio: 'inherit' });
} catch {
  console.error('build: the TypeScript compilation failed (errors above)');
  process.exit(1);
}

const isNodeAsset = (rel) =>
  rel.endsWith('.html') || rel.split(path.sep).includes('locales') || rel.split(path.sep).includes('icons');
copyTree(path.join(root, 'nodes'), path.join(dist, 'nodes'), isNodeAsset);
copyTree(path.join(root, 'simulator', 'fixtures'), path.join(dist, 'simulator', 'fixtures'), () => true);
copyTree(path.join(root, 'dashboard'), path.join(dist, 'dashboard'), (rel) => !rel.endsWith('.ts'));

// Every node type named in package.json must have been built, and every built node must be named there.
const pkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8'));
const declared = pkg['node-red'].nodes;
const problems = [];
for (const [type, file] of Object.entries(declared)) {
  if (!fs.existsSync(path.join(root, file))) problems.push(`${type}: ${file} was not built`);
  else if (!fs.existsSync(path.join(root, file.replace(/\.js$/, '.html'))))
    problems.push(`${type}: no editor .html`);
}
for (const dir of fs.existsSync(path.join(root, 'nodes')) ? fs.readdirSync(path.join(root, 'nodes')) : []) {
  if (fs.existsSync(path.join(root, 'nodes', dir, `${dir}.ts`)) && !(dir in declared)) {
    problems.push(`${dir}: nodes/${dir}/${dir}.ts is not listed in package.json node-red.nodes`);
  }
}
if (problems.length > 0) {
  console.error(`build: node registration problems:\n  ${problems.join('\n  ')}`);
  process.exit(1);
}
