#!/usr/bin/env node
// Production entry point: runs the compiled commands in dist/ through the shipped oclif manifest; every
// failure ends as one `nodeinspect:` line (dist/cli/main.js). A live marks or trace has its iptables dumps
// started first, while oclif loads (dist/source/head-start.js says why).
import {cancelHeadStart, startHeadStart} from '../dist/source/head-start.js'

startHeadStart(process.argv.slice(2))
const {main} = await import('../dist/cli/main.js')
try {
  await main(import.meta.url)
} finally {
  cancelHeadStart()
}
