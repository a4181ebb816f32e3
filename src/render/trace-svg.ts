/**
 * `trace --format svg`: the DOT graph (trace-graph.ts) laid out and drawn in-process by Graphviz compiled to
 * WebAssembly (@viz-js/viz), so no system Graphviz is needed. Loaded only for this format: it costs nothing at
 * start-up otherwise. Each step is an SVG group with the step's id (s3, r2) and its evidence as the link title
 * (a viewer's tooltip).
 */
import type {TraceReport} from '../analyses/path/trace.js'
import {renderTraceDot} from './trace-graph.js'

export async function renderTraceSvg(report: TraceReport): Promise<string> {
  const {instance} = await import('@viz-js/viz')
  const viz = await instance()
  return viz.renderString(renderTraceDot(report), {format: 'svg'})
}
