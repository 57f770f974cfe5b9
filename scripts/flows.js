'use strict';
// The shipped application's flows are kept one file per concern in flows/ (each a tab with its nodes, plus the
// config nodes it owns). Node-RED reads one flows file: composeFlows joins them, dropping repeated config nodes.
const fs = require('node:fs');
const path = require('node:path');

function composeFlows(dir) {
  const files = fs
    .readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .sort();
  const seen = new Map();
  const flows = [];
  for (const file of files) {
    const nodes = JSON.parse(fs.readFileSync(path.join(dir, file), 'utf8'));
    if (!Array.isArray(nodes)) throw new Error(`${file}: a flows file must hold an array of nodes`);
    for (const n of nodes) {
      if (seen.has(n.id)) {
        if (JSON.stringify(seen.get(n.id)) !== JSON.stringify(n)) {
          throw new Error(`${file}: node ${n.id} is defined differently in another flows file`);
        }
        continue;
      }
      seen.set(n.id, n);
      flows.push(n);
    }
  }
  return flows;
}

module.exports = { composeFlows };
