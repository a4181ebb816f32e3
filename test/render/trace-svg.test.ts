// trace --format svg: the DOT graph drawn in-process (@viz-js/viz), on the reference nodes: well-formed XML,
// every step (and the reply's) a group with its id and evidence, the drop red, the checker itself able to fail.
import {describe, expect, it} from 'vitest'
import {renderTraceSvg} from '../../src/render/trace-svg.js'
import {cli} from '../helpers/cli.js'
import {golden, ROOT} from '../helpers/fixtures.js'
import {missingSteps, xmlProblems} from '../support/svg-check.js'
import type {TraceReport} from '../../src/analyses/path/trace.js'

const REF = ['--snapshot', `${ROOT}testdata/reference/node1.json`, '--snapshot', `${ROOT}testdata/reference/node2.json`]
const report = (args: string[]) => JSON.parse(cli(['trace', ...args, ...REF, '--json']).stdout) as TraceReport

describe('the SVG checker', () => {
  it('fails on broken XML and on a missing step', () => {
    expect(xmlProblems('<svg><g></svg>')).toEqual(['</svg> closes <g> at 8', 'unclosed: svg'])
    expect(xmlProblems('<svg a=1></svg>')).not.toEqual([])
    expect(xmlProblems('<svg>&nbsp;</svg>')).toEqual(['an unknown entity at 5'])
    expect(missingSteps('<svg></svg>', {steps: [{n: 1, evidence: 'kernel'}]} as TraceReport)).toEqual(['s1: no group'])
  })
})

describe('trace --format svg', () => {
  it('the reference walk and its reply: well-formed, every step present with its evidence', async () => {
    const r = report(['10.42.1.80', '10.42.0.51:80', '--reply'])
    const svg = await renderTraceSvg(r)
    expect(xmlProblems(svg)).toEqual([])
    expect(missingSteps(svg, r)).toEqual([])
    expect(r.steps.length + (r.reply?.steps.length ?? 0)).toBeGreaterThan(10)
  })

  it("README's picture is the reference walk and its reply as the CLI draws it (golden, reviewed)", async () => {
    const c = cli(['trace', '10.42.1.80', '10.42.0.51:80', '--reply', ...REF, '--format', 'svg'])
    expect(c.status).toBe(0)
    await expect(c.stdout).toMatchFileSnapshot(golden('trace/reference.svg'))
  })

  it('a dropped flow: its last step filled red; the CLI prints the same document', async () => {
    const args = ['10.42.1.80', '10.42.0.52:6379']
    const r = report(args)
    expect(r.outcome.kind).toBe('dropped')
    const svg = await renderTraceSvg(r)
    const last = new RegExp(`<g id="s${r.steps.at(-1)!.n}" class="node">[\\s\\S]*?</g>`).exec(svg)![0]
    expect(last).toContain('fill="#fde0e0"')
    const c = cli(['trace', ...args, ...REF, '--format', 'svg'])
    expect(c.status).toBe(0)
    expect(c.stdout.trim()).toBe(svg.trim())
  })
})
