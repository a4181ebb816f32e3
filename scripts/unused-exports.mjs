#!/usr/bin/env node
// No unused exports: knip in production mode (knip.json) lists every export, type and file of src/ that the
// commands do not reach; an export that only tests use must be a deliberate test seam, tagged `@internal` in its
// JSDoc. Findings in files other engineers are rewriting (issue 8) are listed in
// scripts/known-unused-exports.txt: a finding not in that list fails, and so does a listed one that is gone (the
// list only shrinks). Prints one line per problem; exits 1 on any.
import {spawnSync} from 'node:child_process'
import {readFileSync} from 'node:fs'
import {fileURLToPath} from 'node:url'

const root = fileURLToPath(new URL('..', import.meta.url))
const knownFile = 'scripts/known-unused-exports.txt'
const known = new Set(
  readFileSync(`${root}${knownFile}`, 'utf8')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#')),
)

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

const fresh = [...found].filter((f) => !known.has(f)).sort()
const gone = [...known].filter((k) => !found.has(k)).sort()
for (const f of fresh) console.log(`unused: ${f} (remove the export, or tag a deliberate test seam @internal)`)
for (const g of gone) console.log(`fixed: ${g} (remove it from ${knownFile})`)
if (fresh.length || gone.length) process.exit(1)
console.log(`unused exports: none new (${known.size} known in ${knownFile})`)
