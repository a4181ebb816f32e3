#!/usr/bin/env node
// Production entry point: runs the compiled commands in dist/ through the shipped oclif manifest; every
// failure ends as one `nodeinspect:` line (dist/cli/main.js). What must start before oclif loads is in
// dist/entry/start.js.
import {start} from '../dist/entry/start.js'

await start(import.meta.url)
