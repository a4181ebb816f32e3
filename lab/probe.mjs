#!/usr/bin/env node
// One probe from inside a lab pod's netns, bounded in time (sendProbe in test/support/lab-probe.ts runs it):
//   nsenter --net=/run/netns/<pod> node lab/probe.mjs tcp|udp HOST PORT [TIMEOUT_MS] [SPORT]
// tcp: connect, send one HTTP GET, read the answer; udp: send one datagram, wait for the answer. The lab's listeners
// (lab/httpd.mjs) answer with the peer address they saw, printed here as "peerSeen".
// Prints one line and exits 0 either way:
//   {"connected":true,"proto":"tcp","local":"10.42.1.80:41234","remote":"10.42.0.51:80","peerSeen":"10.42.1.80:41234","status":200,"ms":3}
//   {"connected":false,"proto":"tcp","local":"10.42.1.80:41236","remote":"10.42.0.52:6379","error":"timed out after 1000 ms","ms":1001}
// "local" is known as soon as the socket is bound (before the SYN leaves), so a dropped flow can be found too.
import {createSocket} from 'node:dgram'
import {connect} from 'node:net'

const [proto, host, portText, timeoutText, sportText] = process.argv.slice(2)
const port = Number(portText)
const timeoutMs = Number(timeoutText ?? 2000)
const sport = sportText ? Number(sportText) : undefined
const started = Date.now()
let local = ''
let finished = false

function done(result) {
  if (finished) return
  finished = true
  process.stdout.write(`${JSON.stringify({proto, local, remote: `${host}:${port}`, ...result, ms: Date.now() - started})}\n`)
  process.exit(0)
}

function peerOf(text) {
  try {
    const c = JSON.parse(text).client
    return typeof c === 'string' ? c : undefined
  } catch {
    return undefined
  }
}

if ((proto !== 'tcp' && proto !== 'udp') || !host || !Number.isInteger(port) || !(timeoutMs > 0)) {
  process.stdout.write(`${JSON.stringify({connected: false, error: 'usage: probe.mjs tcp|udp HOST PORT [TIMEOUT_MS] [SPORT]'})}\n`)
  process.exit(2)
}

if (proto === 'tcp') {
  const sock = connect({host, port, ...(sport ? {localPort: sport} : {})})
  const noteLocal = () => {
    if (!local && sock.localPort) local = `${sock.localAddress}:${sock.localPort}`
  }
  // The socket is bound by the connect() system call, right after this tick.
  setImmediate(noteLocal)
  const timer = setTimeout(() => {
    noteLocal()
    sock.destroy()
    done({connected: false, error: `timed out after ${timeoutMs} ms`})
  }, timeoutMs)
  let data = ''
  let connected = false
  sock.on('connect', () => {
    connected = true
    noteLocal()
    sock.write(`GET /get HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`)
  })
  sock.on('data', (d) => (data += d.toString('latin1')))
  sock.on('error', (e) => {
    clearTimeout(timer)
    done({connected, error: e.code ?? e.message})
  })
  sock.on('end', () => {
    clearTimeout(timer)
    const m = /^HTTP\/1\.[01] (\d{3})/.exec(data)
    const body = data.slice(data.indexOf('\r\n\r\n') + 4)
    const peerSeen = peerOf(body)
    done({connected: true, ...(m ? {status: Number(m[1])} : {error: 'no HTTP status line'}), ...(peerSeen ? {peerSeen} : {})})
  })
} else {
  const sock = createSocket('udp4')
  const timer = setTimeout(() => {
    sock.close()
    done({connected: false, error: `no answer after ${timeoutMs} ms`})
  }, timeoutMs)
  sock.on('error', (e) => {
    clearTimeout(timer)
    done({connected: false, error: e.code ?? e.message})
  })
  sock.on('message', (msg) => {
    clearTimeout(timer)
    const peerSeen = peerOf(msg.toString('utf8'))
    sock.close()
    done({connected: true, ...(peerSeen ? {peerSeen} : {})})
  })
  sock.bind(sport ?? 0, () => {
    local = `${sock.address().address}:${sock.address().port}`
    sock.send('nilab probe', port, host)
  })
}
