#!/usr/bin/env node
// One HTTP GET over a real TCP connection, for use inside a lab pod's netns:
//   nsenter --net=/run/netns/<pod> node lab/http-get.mjs HOST PORT [TIMEOUT_MS]
// Prints {"ok":true,"status":200,"local":"10.42.1.80:41234","remote":"10.42.0.51:80","ms":3} (exit 0),
// or {"ok":false,"error":"..."} (exit 1). The local port identifies the flow in the recordings.
import {connect} from 'node:net'

const [host, portText, timeoutText] = process.argv.slice(2)
const port = Number(portText)
const timeoutMs = Number(timeoutText ?? 3000)
const started = Date.now()
let local = ''
let data = ''

function done(result) {
  process.stdout.write(`${JSON.stringify({...result, ms: Date.now() - started})}\n`)
  process.exit(result.ok ? 0 : 1)
}

if (!host || !Number.isInteger(port)) done({ok: false, error: 'usage: http-get.mjs HOST PORT [TIMEOUT_MS]'})
const sock = connect({host, port})
sock.setTimeout(timeoutMs, () => {
  sock.destroy()
  done({ok: false, error: `timed out after ${timeoutMs} ms`, local})
})
sock.on('connect', () => {
  local = `${sock.localAddress}:${sock.localPort}`
  sock.write(`GET /get HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`)
})
sock.on('data', (d) => (data += d.toString('latin1')))
sock.on('error', (e) => done({ok: false, error: e.message, local}))
sock.on('end', () => {
  const m = /^HTTP\/1\.[01] (\d{3})/.exec(data)
  if (!m) done({ok: false, error: 'no HTTP status line', local})
  done({ok: true, status: Number(m[1]), local, remote: `${host}:${port}`})
})
