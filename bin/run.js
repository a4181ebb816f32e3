#!/usr/bin/env node
// Production entry point: runs the compiled commands in dist/ through the shipped oclif manifest; every
// failure ends as one `nodeinspect:` line (dist/cli/main.js).
import {startTreeRendererEarly} from '../dist/render/trace-tree-thread.js'

// `trace` draws its tree with ink, loaded on a thread of its own: it starts before oclif loads, not after.
startTreeRendererEarly(process.argv.slice(2))
const {main} = await import('../dist/cli/main.js')
await main(import.meta.url)
