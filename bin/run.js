#!/bin/sh
':' //; unset NODE_EXTRA_CA_CERTS; exec node "$0" "$@"
// Production entry point: runs the compiled commands in dist/ through the shipped oclif manifest; every failure ends
// as one `nodeinspect:` line (dist/cli/main.js). What must start before oclif loads is in dist/entry/start.js.
//
// Started as a program, this file is first a shell script (line 2; to JavaScript a string and a comment): it runs
// node on itself without NODE_EXTRA_CA_CERTS, which Node 20 reads at start-up, before any JavaScript, for TLS that
// nodeinspect never uses (~55 ms of every run where it is set: docs/kernel-notes.md#kn-31-start-up). `node
// bin/run.js` skips the shell and works the same, a little later.
import {start} from '../dist/entry/start.js'

await start(import.meta.url)
