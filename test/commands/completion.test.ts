// `nodeinspect completion bash|zsh`: the script a real bash sources, asked as bash asks it (COMP_WORDS, COMP_CWORD):
// commands, topics, flags per command, fixed values, named netns from `ip netns list`, files; and no start-up cost.
import {spawnSync} from 'node:child_process'
import {mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterAll, describe, expect, it} from 'vitest'
import {cli} from '../helpers/cli.js'

const dir = mkdtempSync(join(tmpdir(), 'ni-complete-'))
afterAll(() => rmSync(dir, {recursive: true, force: true}))
const script = join(dir, 'nodeinspect.bash')
const r = cli(['completion', 'bash'])
writeFileSync(script, r.stdout)

/** What bash offers for this command line, the cursor at its end (a trailing space: a new word). */
function complete(line: string, env: Record<string, string> = {}): string[] {
  const words = line.split(' ')
  const program = `source ${JSON.stringify(script)}; COMP_WORDS=(${words.map((w) => `'${w}'`).join(' ')}); COMP_CWORD=${words.length - 1}; _nodeinspect_complete; printf '%s\\n' "\${COMPREPLY[@]}"`
  const out = spawnSync('bash', ['--norc', '-c', program], {encoding: 'utf8', cwd: dir, env: {...process.env, ...env}})
  expect(out.status, out.stderr).toBe(0)
  return out.stdout.split('\n').filter(Boolean).sort()
}

describe('nodeinspect completion', () => {
  it('bash: commands, topics, flags, fixed values, files', () => {
    expect(r.status).toBe(0)
    expect(complete('nodeinspect ')).toEqual(['completion', 'diff', 'hooks', 'lab', 'marks', 'snapshot', 'trace'])
    expect(complete('nodeinspect lab ')).toEqual(['down', 'status', 'up'])
    expect(complete('nodeinspect lab up --var')).toEqual(['--variant'])
    expect(complete('nodeinspect lab up --variant nft')).toEqual(['nft-kube-proxy'])
    expect(complete('nodeinspect trace 10.42.1.80 10.42.0.51:80 --format ')).toEqual(['dot', 'mermaid', 'svg', 'text'])
    expect(complete('nodeinspect marks --all')).toEqual(['--all-bits'])
    writeFileSync(join(dir, 'node1.json.gz'), '')
    expect(complete('nodeinspect hooks --snapshot node1')).toEqual(['node1.json.gz'])
    expect(complete('nodeinspect diff node1')).toEqual(['node1.json.gz'])
  })

  it('--netns completes from `ip netns list`, which the shell runs when asked', () => {
    const bin = join(dir, 'bin')
    spawnSync('mkdir', ['-p', bin])
    writeFileSync(join(bin, 'ip'), '#!/bin/sh\nprintf "nilab-node1 (id: 0)\\nnilab-node2 (id: 1)\\nother\\n"\n', {mode: 0o755})
    expect(complete('nodeinspect trace 10.42.1.80 10.42.0.51:80 --netns nilab', {PATH: `${bin}:${process.env.PATH}`})).toEqual(['nilab-node1', 'nilab-node2'])
  })

  it('zsh: the same function through bashcompinit; an unknown shell is refused in one line', () => {
    const z = cli(['completion', 'zsh'])
    expect(z.stdout).toContain('autoload -U +X bashcompinit && bashcompinit')
    expect(z.stdout).toContain('complete -F _nodeinspect_complete nodeinspect')
    const bad = cli(['completion', 'fish'])
    expect(bad.status).toBe(2)
    expect(bad.stderr.trim().split('\n')).toHaveLength(1)
  })
})
