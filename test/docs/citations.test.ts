// Every `docs/<file>.md#<anchor>` a comment cites resolves inside this repository, and nothing cites the
// unshipped ../shared notes any more (issue 8).
import {readdirSync, readFileSync, statSync} from 'node:fs'
import {join, relative} from 'node:path'
import {describe, expect, it} from 'vitest'
import {ROOT} from '../helpers/fixtures.js'

const SCANNED = ['src', 'test', 'lab', 'native']
const SELF = 'test/docs/citations.test.ts'

/** Text files under the scanned trees. JSON is data (marks-facts.json quotes other projects' docs/ paths). */
function sourceFiles(): Array<{path: string; text: string}> {
  const out: Array<{path: string; text: string}> = []
  const walk = (dir: string) => {
    for (const name of readdirSync(dir).sort()) {
      const full = join(dir, name)
      if (statSync(full).isDirectory()) walk(full)
      else if (!name.endsWith('.json')) {
        const text = readFileSync(full, 'utf8')
        if (!text.includes('\0')) out.push({path: relative(ROOT, full), text})
      }
    }
  }
  for (const d of SCANNED) walk(join(ROOT, d))
  return out
}

/** `docs/x.md` or `docs/x.md#anchor`, not preceded by a path (another project's `…/docs/x.md`). */
function citations(text: string): Array<{file: string; anchor?: string}> {
  return [...text.matchAll(/(?<![\w./-])docs\/([\w-]+(?:\.[\w-]+)*?\.md)(?:#([\w-]+))?/g)].map((m) => ({file: m[1]!, ...(m[2] ? {anchor: m[2]} : {})}))
}

/** GitHub's heading anchor: lower case, punctuation other than `-` and `_` dropped, spaces to `-`. */
function slug(heading: string): string {
  return heading.trim().toLowerCase().replace(/[^\p{L}\p{N} _-]/gu, '').replace(/ /g, '-')
}

function anchorsOf(markdown: string): Set<string> {
  let fenced = false
  const anchors = new Set<string>()
  for (const line of markdown.split('\n')) {
    if (line.startsWith('```')) fenced = !fenced
    const m = !fenced && /^#{1,6} (.+)$/.exec(line)
    if (m) anchors.add(slug(m[1]!))
  }
  return anchors
}

describe('citations of docs/', () => {
  it('finds citations and anchors as written', () => {
    expect(citations('see docs/kernel-notes.md#kn-4-xlated-mark-offset). and docs/json-trace.md. not a/docs/b.md')).toEqual([
      {file: 'kernel-notes.md', anchor: 'kn-4-xlated-mark-offset'},
      {file: 'json-trace.md'},
    ])
    expect(slug('kn-1-nsenter-not-ip-netns-exec')).toBe('kn-1-nsenter-not-ip-netns-exec')
    expect(slug('`--snapshot FILE`: what is refused')).toBe('--snapshot-file-what-is-refused')
    expect(anchorsOf('# A\n```\n## not a heading\n```\n## The walk\n')).toEqual(new Set(['a', 'the-walk']))
  })

  const files = sourceFiles()
  // This file's own examples are not citations.
  const cited = files.filter((f) => f.path !== SELF).flatMap((f) => citations(f.text).map((c) => ({from: f.path, ...c})))

  it('every cited file exists and every cited anchor is a heading in it', () => {
    // The comments rewritten for issue 8 alone cite docs/ 42 times.
    expect(cited.length).toBeGreaterThanOrEqual(42)
    const docs = new Map<string, Set<string> | undefined>()
    const missing: string[] = []
    for (const c of cited) {
      if (!docs.has(c.file)) {
        let text: string | undefined
        try {
          text = readFileSync(join(ROOT, 'docs', c.file), 'utf8')
        } catch {
          text = undefined
        }
        docs.set(c.file, text === undefined ? undefined : anchorsOf(text))
      }
      const anchors = docs.get(c.file)
      if (!anchors) missing.push(`${c.from}: docs/${c.file} does not exist`)
      else if (c.anchor && !anchors.has(c.anchor)) missing.push(`${c.from}: docs/${c.file} has no heading #${c.anchor}`)
    }
    expect(missing).toEqual([])
  })

  it('nothing cites the unshipped DEPS.md, SCENARIO.md or MARKS.md', () => {
    const stale = files.filter((f) => f.path !== SELF && /\b(DEPS|SCENARIO|MARKS)\.md\b/.test(f.text)).map((f) => f.path)
    expect(stale).toEqual([])
  })
})
