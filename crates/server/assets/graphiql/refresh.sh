#!/usr/bin/env bash
# Refreshes the GraphiQL files served by `GET /graphql` from the published npm packages.
# Usage: crates/server/assets/graphiql/refresh.sh  (needs node and npm; pin the versions here
# and in README.md, then rebuild the server: the files are embedded with include_bytes!)
set -euo pipefail
GRAPHIQL=3.8.3 # the last GraphiQL with a browser bundle (UMD) that needs no bundler
REACT=18.3.1   # React 19 ships no UMD builds
here="$(cd "$(dirname "$0")" && pwd)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cd "$work"
npm init -y >/dev/null
npm install --no-audit --no-fund --silent "graphiql@$GRAPHIQL" "react@$REACT" "react-dom@$REACT"
n=node_modules
cp "$n/graphiql/graphiql.min.js" "$n/graphiql/graphiql.min.css" "$here/"
cp "$n/react/umd/react.production.min.js" "$n/react-dom/umd/react-dom.production.min.js" "$here/"
cp "$n/graphiql/LICENSE" "$here/LICENSE-graphiql"
cp "$n/react/LICENSE" "$here/LICENSE-react"
cp "$n/react-dom/LICENSE" "$here/LICENSE-react-dom"
# graphiql.min.js bundles its dependencies (graphql-js, CodeMirror, ...): their licences,
# named from the bundle's source map, with each package's licence text.
node - "$here/THIRD-PARTY-LICENSES.txt" <<'JS'
const fs = require('fs');
const out = process.argv[2];
const map = JSON.parse(fs.readFileSync('node_modules/graphiql/graphiql.min.js.map', 'utf8'));
const names = new Set(['@graphiql/react', '@graphiql/toolkit']);
for (const source of map.sources) {
  const at = source.lastIndexOf('node_modules/');
  if (at < 0) continue;
  const parts = source.slice(at + 'node_modules/'.length).split('/');
  names.add(parts[0].startsWith('@') ? `${parts[0]}/${parts[1]}` : parts[0]);
}
let text = 'Packages bundled in graphiql.min.js (graphiql@' +
  JSON.parse(fs.readFileSync('node_modules/graphiql/package.json')).version +
  '), from its source map, with their licences.\n';
for (const name of [...names].sort()) {
  const dir = ['node_modules/' + name, 'node_modules/@graphiql/react/node_modules/' + name]
    .find((d) => fs.existsSync(d + '/package.json'));
  text += '\n' + '='.repeat(78) + '\n';
  if (!dir) {
    text += `${name}: bundled by GraphiQL's own build; not installed as a dependency of the ` +
      'published package, see its package on npm for its licence (MIT for every such ' +
      'package at the time of writing).\n';
    continue;
  }
  const pkg = JSON.parse(fs.readFileSync(dir + '/package.json'));
  text += `${name}@${pkg.version} (${pkg.license || 'see below'})\n\n`;
  const file = fs.readdirSync(dir).find((f) => /^licen[cs]e/i.test(f));
  text += file ? fs.readFileSync(dir + '/' + file, 'utf8').trim() + '\n'
    : `No licence file in the package; package.json says: ${pkg.license}.\n`;
}
fs.writeFileSync(out, text);
JS
echo "refreshed $here"
