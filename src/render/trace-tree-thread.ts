/**
 * The trace tree drawn on a worker thread (src/render/trace-tree-worker.ts), started by the entry point or else when
 * the command starts: ink loads and warms up on the other core while oclif loads and the node is read, instead of
 * after, on the main thread, which is busy parsing the node's dumps. In-process if the thread fails in any way.
 * Either way the text is renderTraceTree's (src/render/trace-tree.tsx), byte for byte.
 */
import {Worker} from 'node:worker_threads'
import type {TraceReport} from '../analyses/path/trace.js'
import {colourWanted} from './style.js'

export interface TreeRenderer {
  render(report: TraceReport, columns: number): Promise<string>
}

/**
 * The thread's environment, its own (the process and the tools it runs keep theirs). NODE_ENV=production: react
 * and react-reconciler load their production builds, which skip the development checks while rendering. Without
 * colour FORCE_COLOR=0, since ink's chalk does not read NO_COLOR; with it chalk decides as it would in-process.
 * @internal tested directly (a test seam)
 */
export function threadEnv(env: NodeJS.ProcessEnv, colour: boolean): NodeJS.ProcessEnv {
  return {...env, NODE_ENV: 'production', ...(colour ? {} : {FORCE_COLOR: '0'})}
}

/** A renderer the entry point started for `trace` before oclif loaded, not yet taken by the command. */
let early: {colour: boolean; renderer: Started} | undefined

/**
 * Starts loading the renderer now. `colour`: whether the tree may be coloured (src/render/style.ts colourWanted);
 * `workerUrl`: the thread's module (src/entry/tree-worker-url.ts).
 */
export function startTreeRenderer(colour: boolean, workerUrl: URL): TreeRenderer {
  const e = early
  early = undefined
  if (e?.colour === colour) return e.renderer
  e?.renderer.close() // the entry point guessed the colour wrong
  return start(colour, workerUrl)
}

/**
 * For the process entry (src/entry/start.ts), before it loads oclif: when the arguments draw a trace tree, its renderer starts
 * now, ~0.13 s before the command could start it, on a core that is idle until the node's tools run.
 */
export function startTreeRendererEarly(argv: readonly string[], workerUrl: URL): void {
  const args = argv.includes('--') ? argv.slice(0, argv.indexOf('--')) : argv
  if (drawsTraceTree(args)) {
    const colour = colourWanted(process.stdout, args.includes('--no-color'))
    early = {colour, renderer: start(colour, workerUrl)}
  }
}

/**
 * Whether these arguments (those before any `--`) make `trace` draw its tree. oclif has not parsed them yet: a wrong
 * guess costs a head start or a thread's CPU, never the output (startTreeRenderer checks the colour it was given).
 * @internal tested directly (a test seam)
 */
export function drawsTraceTree(args: readonly string[]): boolean {
  if (args[0] !== 'trace' || args.some((a) => a === '--json' || a === '--help' || a === '-h')) return false
  const i = args.findLastIndex((a) => a === '--format' || a.startsWith('--format='))
  return i === -1 || (args[i] === '--format' ? args[i + 1] : args[i]!.slice('--format='.length)) === 'text'
}

type Started = TreeRenderer & {close(): void}

function start(colour: boolean, workerUrl: URL): Started {
  let worker: Worker | undefined
  try {
    // The same arguments too: chalk reads --color/--no-color from them.
    worker = new Worker(workerUrl, {env: threadEnv(process.env, colour), argv: process.argv.slice(2)})
    // Until the report is ready the thread must not keep the process alive: a command that fails first exits.
    worker.unref()
    const gone = () => {
      worker = undefined
    }
    worker.on('error', gone).on('exit', gone)
  } catch {
    worker = undefined
  }
  return {
    async render(report, columns) {
      const text = worker ? await renderOn(worker, report, columns) : undefined
      return text ?? (await inProcess(colour)).renderTraceTree(report, columns)
    },
    close() {
      void worker?.terminate()
    },
  }
}

/** The thread's text, or undefined when it failed in any way. */
function renderOn(worker: Worker, report: TraceReport, columns: number): Promise<string | undefined> {
  return new Promise((resolve) => {
    const done = (text: string | undefined) => {
      worker.off('message', onMessage).off('error', failed).off('exit', failed)
      void worker.terminate()
      resolve(text)
    }
    const onMessage = (m: {text?: string}) => done(m.text)
    const failed = () => done(undefined)
    worker.on('message', onMessage).on('error', failed).on('exit', failed)
    worker.ref()
    try {
      worker.postMessage({report, columns})
    } catch {
      done(undefined) // a report that cannot be cloned
    }
  })
}

/** ink colours through chalk, which reads FORCE_COLOR when it is first imported (and not NO_COLOR). */
async function inProcess(colour: boolean): Promise<typeof import('./trace-tree.js')> {
  if (!colour) process.env.FORCE_COLOR = '0'
  return import('./trace-tree.js')
}
