#!/usr/bin/env node
// A `solc` that native-solc callers (forge, foundry-compilers) accept, backed by solc-js.
//
// It answers `--version` the way native solc does and compiles in standard-JSON mode only,
// reading the input from stdin and writing nothing but the output JSON to stdout. Imports are
// resolved over --base-path, --include-path and the remappings' own absolute paths.
'use strict';

const fs = require('fs');
const path = require('path');

const solc = require(path.join(__dirname, '..', '..', 'node_modules', 'solc'));

const args = process.argv.slice(2);

if (args.includes('--version') || args.includes('-v')) {
  // Native form: "Version: 0.8.30+commit.73712a01.Linux.g++"
  const full = solc.version().replace(/\.Emscripten\.clang$/, '.Linux.g++');
  process.stdout.write('solc, the solidity compiler commandline interface\nVersion: ' + full + '\n');
  process.exit(0);
}

if (!args.includes('--standard-json')) {
  process.stderr.write('solc shim: only --version and --standard-json are supported (got: ' + args.join(' ') + ')\n');
  process.exit(2);
}

const roots = [];
for (let i = 0; i < args.length; i++) {
  const a = args[i];
  if (a === '--base-path' || a === '--include-path') {
    roots.push(args[++i]);
  } else if (a.startsWith('--base-path=') || a.startsWith('--include-path=')) {
    roots.push(a.slice(a.indexOf('=') + 1));
  }
}
roots.push(process.cwd());

function findImport(importPath) {
  const candidates = path.isAbsolute(importPath)
    ? [importPath]
    : roots.map((root) => path.resolve(root, importPath));
  for (const candidate of candidates) {
    try {
      return { contents: fs.readFileSync(candidate, 'utf8') };
    } catch (_) {
      // try the next root
    }
  }
  return { error: 'File not found: ' + importPath + ' (searched ' + roots.join(', ') + ')' };
}

const input = fs.readFileSync(0, 'utf8');
const output = solc.compile(input, { import: findImport });
process.stdout.write(output + '\n');
