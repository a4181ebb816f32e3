// Sweeps what a crashed earlier run of the live tests may have left (only names with the test prefixes).
import {execFileSync} from 'node:child_process'

export default function setup(): void {
  if (process.getuid?.() !== 0) return
  let list = ''
  try {
    list = execFileSync('ip', ['netns', 'list'], {encoding: 'utf8'})
  } catch {
    return
  }
  for (const line of list.split('\n')) {
    const name = line.split(' ')[0]
    if (name && /^ni-t\d+/.test(name)) {
      try {
        execFileSync('ip', ['netns', 'del', name])
      } catch {
        /* already gone */
      }
    }
  }
}
