// Sweeps what a crashed earlier run of the tests left behind: throwaway namespaces named ni-t<pid>… whose
// process is gone (never those of a test run that is still going on).
import {execFileSync} from 'node:child_process'
import {existsSync} from 'node:fs'

export default function setup(): void {
  if (process.getuid?.() !== 0) return
  let list = ''
  try {
    list = execFileSync('ip', ['netns', 'list'], {encoding: 'utf8'})
  } catch {
    return
  }
  for (const line of list.split('\n')) {
    const name = line.split(' ')[0] ?? ''
    const m = /^ni-t(\d+)/.exec(name)
    if (!m || existsSync(`/proc/${m[1]}`)) continue
    try {
      execFileSync('ip', ['netns', 'del', name])
    } catch {
      /* already gone */
    }
  }
}
