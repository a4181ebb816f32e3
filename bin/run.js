#!/usr/bin/env node
// Production entry point: runs the compiled commands in dist/ through the shipped oclif manifest; every
// failure ends as one `nodeinspect:` line (dist/cli/main.js).
import {main} from '../dist/cli/main.js'

await main(import.meta.url)
