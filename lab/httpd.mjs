#!/usr/bin/env node
// The lab's listener (httpbin, nginx, the external host): a tiny HTTP server on TCP and a JSON echo on UDP, both
// on HOST:PORT, started inside the pod's (or ext's) netns
// (`nsenter --net=/run/netns/<ns> node lab/httpd.mjs daemon PIDFILE HOST PORT [PEERLOG]`).
// Both answer with the peer address they saw ({"client":"172.31.0.1:41234",...}): behind a masquerade that is the
// node's address, not the pod's. With PEERLOG every TCP connection and UDP datagram also appends one JSON line
// {"proto":"tcp","peer":"172.31.0.1:41234","local":"172.31.0.2:80","at":"..."} to that file.
//   daemon PIDFILE HOST PORT [PEERLOG]  start `serve` detached, wait until it listens, write its pid, print
//                                       {"pid":N,"listen":"HOST:PORT"} and exit 0 ({"error":"..."} and exit 1 on failure)
//   daemons < [{name,netns,pidfile,host,port,peerLog}]  the same for several netns at once (one process starts all)
//   serve HOST PORT [PEERLOG]           run the servers in the foreground
import {spawn} from 'node:child_process'
import {createSocket} from 'node:dgram'
import {appendFileSync, writeFileSync} from 'node:fs'
import {createServer} from 'node:http'
import {fileURLToPath} from 'node:url'

const [mode, ...args] = process.argv.slice(2)

function fail(message) {
  process.stderr.write(`httpd: ${message}\n`)
  process.stdout.write(`${JSON.stringify({error: message})}\n`)
  process.exit(1)
}

if (mode === 'serve') {
  const [host, port, peerLog] = args
  const server = `${host}:${port}`
  const logPeer = (proto, peer) => {
    if (!peerLog) return
    try {
      appendFileSync(peerLog, `${JSON.stringify({proto, peer, local: server, at: new Date().toISOString()})}\n`)
    } catch {
      /* the state dir is gone: lab down is under way */
    }
  }
  const http = createServer((req, res) => {
    const body = JSON.stringify({lab: 'nodeinspect', url: req.url, client: `${req.socket.remoteAddress}:${req.socket.remotePort}`, server})
    res.writeHead(200, {'content-type': 'application/json', 'content-length': Buffer.byteLength(body)})
    res.end(body)
  })
  http.on('connection', (sock) => logPeer('tcp', `${sock.remoteAddress}:${sock.remotePort}`))
  const udp = createSocket('udp4')
  udp.on('message', (_msg, rinfo) => {
    const client = `${rinfo.address}:${rinfo.port}`
    logPeer('udp', client)
    udp.send(JSON.stringify({lab: 'nodeinspect', client, server}), rinfo.port, rinfo.address)
  })
  let ready = 0
  const listening = () => {
    if (++ready < 2) return
    if (process.send) {
      process.send({listening: true})
      process.disconnect()
    }
  }
  const failed = (e) => {
    if (process.send) process.send({error: e.message})
    process.exit(1)
  }
  http.on('error', failed)
  udp.on('error', failed)
  http.listen(Number(port), host, listening)
  udp.bind(Number(port), host, listening)
  // Exit at once: `lab down` waits for this process before deleting the namespaces.
  for (const sig of ['SIGTERM', 'SIGINT']) process.on(sig, () => process.exit(0))
} else if (mode === 'daemon') {
  const [pidfile, host, port, peerLog] = args
  if (!pidfile || !host || !port) fail('usage: daemon PIDFILE HOST PORT [PEERLOG]')
  const child = spawn(process.execPath, [fileURLToPath(import.meta.url), 'serve', host, port, ...(peerLog ? [peerLog] : [])], {detached: true, stdio: ['ignore', 'ignore', 'ignore', 'ipc']})
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
} else if (mode === 'daemons') {
  // Several listeners, each in its own netns, started by one process (fewer Node start-ups during `lab up`):
  // stdin is [{"name","netns","pidfile","host","port","peerLog"}]; each is `nsenter --net=/run/netns/<netns> -- node
  // httpd.mjs serve …` (nsenter execs: the pid is the server's). Prints [{"name","pid","listen"}] once all listen.
  let input = ''
  process.stdin.on('data', (d) => (input += d))
  process.stdin.on('end', () => {
    let specs
    try {
      specs = JSON.parse(input)
    } catch {
      fail('daemons: stdin is not JSON')
    }
    const started = []
    const children = []
    const timer = setTimeout(() => {
      for (const c of children) c.kill('SIGKILL')
      fail(`servers did not all listen within 5 s (${specs.filter((s) => !started.some((x) => x.name === s.name)).map((s) => s.name).join(', ')})`)
    }, 5000)
    for (const s of specs) {
      const child = spawn('nsenter', [`--net=/run/netns/${s.netns}`, '--', process.execPath, fileURLToPath(import.meta.url), 'serve', s.host, String(s.port), ...(s.peerLog ? [s.peerLog] : [])], {detached: true, stdio: ['ignore', 'ignore', 'ignore', 'ipc']})
      children.push(child)
      child.on('message', (m) => {
        if (!m || !m.listening) {
          for (const c of children) c.kill('SIGKILL')
          fail(`${s.name}: listen ${s.host}:${s.port}: ${m && m.error ? m.error : 'unknown error'}`)
        }
        writeFileSync(s.pidfile, `${child.pid}\n`)
        started.push({name: s.name, pid: child.pid, listen: `${s.host}:${s.port}`})
        child.unref()
        if (child.connected) child.disconnect()
        if (started.length === specs.length) {
          clearTimeout(timer)
          process.stdout.write(`${JSON.stringify(specs.map((x) => started.find((y) => y.name === x.name)))}\n`)
          process.exit(0)
        }
      })
      child.on('exit', (code, signal) => {
        if (started.some((x) => x.name === s.name)) return
        for (const c of children) c.kill('SIGKILL')
        fail(`${s.name}: server exited before listening (${signal ?? `exit ${code}`})`)
      })
    }
  })
} else {
  fail('usage: httpd.mjs daemon PIDFILE HOST PORT [PEERLOG] | daemons < JSON | serve HOST PORT [PEERLOG]')
}
