// A node with many pod endpoints, each with its own tc program, as Cilium compiles one per endpoint (every tag
// differs): the same tiny object with one constant patched per endpoint, loaded with bpftool, pinned in a bpffs of
// the caller's, and attached with tc to the host end of its own veth pair inside a throwaway netns. Shared by the
// benchmark suite (bench/run.mjs) and test/state/program-code-scale.test.ts. It also counts the programs a run
// executed from an `strace -ff -e trace=execve` directory. Plain JavaScript: the suite runs without a build step
// of its own; types in scale-node.d.mts.
import {spawn} from 'node:child_process'
import {readdirSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'

/** The constant patched per program: `skb->mark |= MARKER` compiles to one ALU instruction whose imm holds it. */
export const PROG_MARKER = 0x5eed0001

/** The program, named as Cilium names the program on every pod's veth (so bpftool's dump by name sees them all). */
const PROG_C = `#include <linux/bpf.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_helpers.h>
SEC("tc") int cil_from_container(struct __sk_buff *skb) { skb->mark |= ${PROG_MARKER}; return TC_ACT_OK; }
char _license[] SEC("license") = "GPL";
`

/**
 * Runs argv (no shell), with `input` on stdin; resolves with its stdout, rejects with its exit and stderr.
 * @param {string[]} argv
 * @param {{input?: string, timeoutMs?: number}} [opts]
 * @returns {Promise<string>}
 */
export function run(argv, opts = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(argv[0], argv.slice(1), {stdio: ['pipe', 'pipe', 'pipe'], timeout: opts.timeoutMs ?? 300_000, killSignal: 'SIGKILL'})
    let out = ''
    let err = ''
    child.stdout.setEncoding('utf8').on('data', (d) => (out += d))
    child.stderr.setEncoding('utf8').on('data', (d) => (err += d))
    child.on('error', (e) => reject(new Error(`${argv.join(' ')}: ${e.message}`)))
    child.on('close', (code, signal) => {
      if (code === 0) resolve(out)
      else reject(new Error(`${argv.slice(0, 4).join(' ')}: ${signal ? `killed by ${signal}` : `exit ${code}`}: ${err.trim().slice(0, 2000)}`))
    })
    child.stdin.on('error', () => undefined)
    child.stdin.end(opts.input ?? '')
  })
}

/**
 * Compiles the program with clang into `work`/prog.o and returns the object.
 * @param {string} work
 * @returns {Promise<Buffer>}
 */
export async function compileProgram(work) {
  writeFileSync(join(work, 'prog.c'), PROG_C)
  await run(['clang', '-O2', '-g', '-Wall', '-target', 'bpf', '-I/usr/include/x86_64-linux-gnu', '-c', join(work, 'prog.c'), '-o', join(work, 'prog.o')])
  return readFileSync(join(work, 'prog.o'))
}

/**
 * The object with the marker's 4 bytes (little-endian, found exactly once) replaced by `value`.
 * @param {Buffer} obj
 * @param {number} value
 * @returns {Buffer}
 */
export function patchedObject(obj, value) {
  const needle = Buffer.alloc(4)
  needle.writeUInt32LE(PROG_MARKER)
  const at = obj.indexOf(needle)
  if (at < 0 || obj.indexOf(needle, at + 1) >= 0) throw new Error(`marker 0x${PROG_MARKER.toString(16)} not found exactly once in the object`)
  const out = Buffer.from(obj)
  out.writeUInt32LE(value >>> 0, at)
  return out
}

/** The mark value endpoint `i`'s program ORs in: one distinct constant, hence one distinct tag, per endpoint. */
export const endpointMark = (i) => 0x10000 + i

/**
 * Endpoints [from, to) in netns `ns`: veth pair ni<i>/nip<i> (both ends in `ns`, up), and on ni<i>'s clsact
 * ingress its own program, pinned at `bpffs`/p<i>. Loads with two bpftool processes at a time, then one `ip` and
 * one `tc` batch for all of them.
 * @param {{ns: string, bpffs: string, work: string, obj: Buffer, from: number, to: number}} o
 * @returns {Promise<void>}
 */
export async function addEndpoints({ns, bpffs, work, obj, from, to}) {
  const idx = Array.from({length: to - from}, (_, k) => from + k)
  const queue = [...idx]
  const load = async () => {
    for (let i = queue.shift(); i !== undefined; i = queue.shift()) {
      const file = join(work, `p${i}.o`)
      writeFileSync(file, patchedObject(obj, endpointMark(i)))
      await run(['bpftool', 'prog', 'load', file, `${bpffs}/p${i}`, 'type', 'classifier'])
      rmSync(file)
    }
  }
  await Promise.all([load(), load()])
  await run(['ip', '-n', ns, '-batch', '-'], {input: idx.map((i) => `link add ni${i} type veth peer name nip${i}\nlink set ni${i} up\nlink set nip${i} up\n`).join('')})
  await run(['tc', '-n', ns, '-batch', '-'], {input: idx.map((i) => `qdisc add dev ni${i} clsact\nfilter add dev ni${i} ingress bpf da pinned ${bpffs}/p${i}\n`).join('')})
}

/**
 * The programs executed under `strace -ff -qq -e trace=execve -o DIR/t`: the basename of every successful execve's
 * path, over every process's file (with one file, concurrent calls split into `<unfinished …>` / `<… execve
 * resumed>` lines), sorted. The traced command's own exec is among them.
 * @param {string} dir
 * @returns {string[]}
 */
export function straceExecs(dir) {
  const execs = []
  for (const f of readdirSync(dir)) {
    for (const l of readFileSync(join(dir, f), 'utf8').split('\n')) {
      const m = /^execve\("([^"]+)".* = 0$/.exec(l)
      if (m) execs.push(m[1].split('/').pop())
    }
  }
  return execs.sort()
}
