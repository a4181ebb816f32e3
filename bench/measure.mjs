// How the benchmark suite measures one command: wall time and peak RSS of a timed run, and, in a separate run
// under strace (whose overhead would pollute the timings), the programs it executed. Used by bench/run.mjs.
import {spawn} from 'node:child_process'
import {closeSync, mkdirSync, openSync, readFileSync} from 'node:fs'
import {basename, join} from 'node:path'
import {straceExecs} from './scale-node.mjs'

/** Every measured run is killed after this long: a hung command fails its case, not the whole suite. */
const RUN_TIMEOUT_MS = 300_000

/** The runs under way, for the suite to kill when it is interrupted. */
export const live = new Set()

/**
 * Spawns argv with stdout and stderr into files; resolves with its exit code (or the signal that killed it) and
 * the wall time from spawn to exit.
 */
function spawnTimed(argv, outFile, errFile) {
  return new Promise((resolve, reject) => {
    const out = openSync(outFile, 'w')
    const err = openSync(errFile, 'w')
    const t0 = process.hrtime.bigint()
    const child = spawn(argv[0], argv.slice(1), {stdio: ['ignore', out, err], timeout: RUN_TIMEOUT_MS, killSignal: 'SIGKILL'})
    live.add(child)
    const done = () => {
      live.delete(child)
      closeSync(out)
      closeSync(err)
    }
    child.on('error', (e) => {
      done()
      reject(new Error(`${argv[0]}: ${e.message}`))
    })
    child.on('exit', (code, signal) => {
      const wallS = Number(process.hrtime.bigint() - t0) / 1e9
      done()
      resolve({code: code ?? 128, signal, wallS})
    })
  })
}

/**
 * One timed run of argv through GNU time (`%M`: the peak RSS of the largest process it waited for, in KB; the
 * wall time is taken here, at nanosecond resolution, around the same spawn for every command). Output goes to
 * `work`/<id>.out, which the caller may check.
 * @returns {Promise<{wallS: number, rssKB: number, exit: number, error?: string, outFile: string}>}
 */
export async function timeOne(argv, work, id) {
  const outFile = join(work, `${id}.out`)
  const errFile = join(work, `${id}.err`)
  const timeFile = join(work, `${id}.time`)
  const r = await spawnTimed(['/usr/bin/time', '-f', '%M', '-o', timeFile, ...argv], outFile, errFile)
  const rssKB = Number(readFileSync(timeFile, 'utf8').trim().split('\n').pop())
  const res = {wallS: r.wallS, rssKB: Number.isFinite(rssKB) ? rssKB : 0, exit: r.code, outFile}
  if (r.code !== 0) res.error = `${r.signal ? `killed by ${r.signal}` : `exit ${r.code}`}: ${readFileSync(errFile, 'utf8').trim().split('\n').slice(-3).join(' | ').slice(0, 300)}`
  return res
}

/**
 * The programs argv executes, counted in a run of its own under `strace -ff -e trace=execve`: every successful
 * execve but argv's own (failed ones, such as a PATH search's ENOENT, are not processes run).
 * @returns {Promise<{execs: number, byProgram: Record<string, number>, error?: string}>}
 */
export async function countExecs(argv, work, id) {
  const dir = join(work, `strace-${id}`)
  mkdirSync(dir, {recursive: true})
  const r = await spawnTimed(['strace', '-ff', '-qq', '-e', 'trace=execve', '-e', 'signal=none', '-o', join(dir, 't'), ...argv], join(work, `${id}.strace.out`), join(work, `${id}.strace.err`))
  const execs = straceExecs(dir)
  const own = execs.indexOf(basename(argv[0]))
  if (own >= 0) execs.splice(own, 1)
  const byProgram = {}
  for (const e of execs) byProgram[e] = (byProgram[e] ?? 0) + 1
  const res = {execs: execs.length, byProgram}
  if (r.code !== 0) res.error = `exit ${r.code}: ${readFileSync(join(work, `${id}.strace.err`), 'utf8').trim().split('\n').slice(-3).join(' | ').slice(0, 300)}`
  return res
}

/** Median (the lower middle of an even count), min and max of numbers; undefined for none. */
export function stats(xs) {
  if (xs.length === 0) return undefined
  const s = [...xs].sort((a, b) => a - b)
  return {median: s[Math.floor((s.length - 1) / 2)], min: s[0], max: s[s.length - 1], n: s.length}
}
