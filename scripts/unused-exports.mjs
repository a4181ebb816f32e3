#!/usr/bin/env node
// No unused exports: knip in production mode (knip.json) lists every export, type and file of src/ that the
// commands do not reach; an export that only tests use must be a deliberate test seam, tagged `@internal` in its
// JSDoc. Prints one line per finding; exits 1 on any.
import {spawnSync} from 'node:child_process'
import {fileURLToPath} from 'node:url'

const root = fileURLToPath(new URL('..', import.meta.url))

const run = spawnSync('npx', ['knip', '--production', '--no-progress', '--reporter', 'json'], {cwd: root, encoding: 'utf8', maxBuffer: 64 << 20})
let report
try {
  report = JSON.parse(run.stdout)
} catch {
  console.error(`unused exports: knip failed (exit ${run.status}): ${(run.stderr || run.stdout).trim().split('\n').slice(0, 5).join(' | ')}`)
  process.exit(1)
}

// One line per finding: `<file> <kind> <name>` (kind: export, type, file, …).
const found = new Set()
const KINDS = {files: 'file', exports: 'export', types: 'type', nsExports: 'export', nsTypes: 'type', enumMembers: 'enum-member', duplicates: 'duplicate'}
for (const issue of report.issues ?? []) {
  for (const [key, kind] of Object.entries(KINDS)) {
    for (const item of issue[key] ?? []) {
      const name = Array.isArray(item) ? item.map((x) => x.name).join('=') : typeof item === 'object' ? item.name : String(item)
      found.add(kind === 'file' ? `${issue.file} file` : `${issue.file} ${kind} ${name}`)
    }
  }
}

const unused = [...found].sort()
for (const f of unused) console.log(`unused: ${f} (remove the export, or tag a deliberate test seam @internal)`)
if (unused.length) process.exit(1)
console.log('unused exports: none')
