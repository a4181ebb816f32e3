// Sweeps what a crashed earlier run of the tests left behind, never what a run still going on uses:
// throwaway namespaces named ni-t<pid>… and labs named nilab-t<pid><suffix>-… whose process is gone.
import {execFileSync} from 'node:child_process'
import {existsSync} from 'node:fs'

export default async function setup(): Promise<void> {
  if (process.getuid?.() !== 0) return
  let list = ''
  try {
    list = execFileSync('ip', ['netns', 'list'], {encoding: 'utf8'})
  } catch {
    return
  }
  const labs = new Set<string>()
  for (const line of list.split('\n')) {
    const name = line.split(' ')[0] ?? ''
    const lab = /^(nilab-t(\d+)[a-z]*)-/.exec(name)
    if (lab && !existsSync(`/proc/${lab[2]}`)) labs.add(lab[1]!)
    const m = /^ni-t(\d+)/.exec(name)
    if (!m || existsSync(`/proc/${m[1]}`)) continue
    try {
      execFileSync('ip', ['netns', 'del', name])
    } catch {
      /* already gone */
    }
  }
  if (labs.size === 0) return
  // A lab also holds a bpffs mount and processes: its own teardown removes them.
  const {labDown} = await import('../src/lab/teardown.js')
  for (const prefix of labs) await labDown(prefix).catch(() => undefined)
}
