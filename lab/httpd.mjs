#!/usr/bin/env node
// The lab's httpbin listener: a tiny HTTP server on a pod address, started inside the pod's netns
// (`nsenter --net=/run/netns/<pod> node lab/httpd.mjs daemon PIDFILE HOST PORT`).
//   daemon PIDFILE HOST PORT  start `serve` detached, wait until it listens, write its pid, print
//                             {"pid":N,"listen":"HOST:PORT"} and exit 0 ({"error":"..."} and exit 1 on failure)
//   serve HOST PORT           run the server in the foreground
import {spawn} from 'node:child_process'
import {writeFileSync} from 'node:fs'
import {createServer} from 'node:http'
import {fileURLToPath} from 'node:url'

const [mode, ...args] = process.argv.slice(2)

function fail(message) {
  process.stderr.write(`httpd: ${message}\n`)
  process.stdout.write(`${JSON.stringify({error: message})}\n`)
  process.exit(1)
}

if (mode === 'serve') {
  const [host, port] = args
  const server = createServer((req, res) => {
    const body = JSON.stringify({lab: 'nodeinspect', url: req.url, client: `${req.socket.remoteAddress}:${req.socket.remotePort}`, server: `${host}:${port}`})
    res.writeHead(200, {'content-type': 'application/json', 'content-length': Buffer.byteLength(body)})
    res.end(body)
  })
  server.on('error', (e) => {
    if (process.send) process.send({error: e.message})
    process.exit(1)
  })
  server.listen(Number(port), host, () => {
    if (process.send) {
      process.send({listening: true})
      process.disconnect()
    }
  })
  // Exit at once: `lab down` waits for this process before deleting the namespaces.
  for (const sig of ['SIGTERM', 'SIGINT']) process.on(sig, () => process.exit(0))
} else if (mode === 'daemon') {
  const [pidfile, host, port] = args
  if (!pidfile || !host || !port) fail('usage: daemon PIDFILE HOST PORT')
  const child = spawn(process.execPath, [fileURLToPath(import.meta.url), 'serve', host, port], {detached: true, stdio: ['ignore', 'ignore', 'ignore', 'ipc']})
  const timer = setTimeout(() => {
    child.kill('SIGKILL')
    fail(`server did not listen on ${host}:${port} within 5 s`)
  }, 5000)
  child.on('message', (m) => {
    clearTimeout(timer)
    if (m && m.listening) {
      writeFileSync(pidfile, `${child.pid}\n`)
      process.stdout.write(`${JSON.stringify({pid: child.pid, listen: `${host}:${port}`})}\n`)
      child.unref()
      if (child.connected) child.disconnect()
      process.exit(0)
    }
    fail(`listen ${host}:${port}: ${m && m.error ? m.error : 'unknown error'}`)
  })
  child.on('exit', (code, signal) => {
    clearTimeout(timer)
    fail(`server exited before listening (${signal ?? `exit ${code}`})`)
  })
} else {
  fail('usage: httpd.mjs daemon PIDFILE HOST PORT | serve HOST PORT')
}
