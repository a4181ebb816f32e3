/**
 * The process entry (bin/run.js): what must start before the CLI framework loads, then oclif. A live marks or
 * trace has its iptables dumps started first (source/head-start.ts says why), and a trace tree its renderer's
 * thread; dumps nobody claimed are stopped when the command ends, so the CLI exits at once.
 */
import {cancelHeadStart, startHeadStart} from '../source/head-start.js'
import {headStartPlan} from '../state/head-start-plan.js'
import {startTreeRendererEarly} from '../render/trace-tree-thread.js'
import {treeWorkerUrl} from './tree-worker-url.js'

export async function start(rootUrl: string, argv: string[] = process.argv.slice(2)): Promise<void> {
  startHeadStart(headStartPlan(argv))
  // `trace` draws its tree with ink on a thread of its own (render/trace-tree-thread.ts): started before oclif loads.
  startTreeRendererEarly(argv, treeWorkerUrl())
  const {main} = await import('../cli/main.js')
  try {
    await main(rootUrl, argv)
  } finally {
    cancelHeadStart()
  }
}
