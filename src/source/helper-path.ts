/**
 * Which nodeinspect-bpf binary to run. The package ships it prebuilt, linked statically, for linux-x64 and
 * linux-arm64 (native/prebuilt/linux-<process.arch>/, built by `npm pack`'s prepack script), because installing
 * runs no scripts (npm >= 11 runs none by default) and a production node has no gcc. A checkout builds its own
 * (native/build/, by `npm run build`); that one wins where it is present and at least as new as the prebuilt one.
 *
 * "Newer" is the file's mtime, not the helper's `version` output: `version` prints the helper's output-format
 * version, the same for every build of a release, so it cannot tell an edited build from the shipped one, and
 * asking it would cost one more process on every command. An installed package has no native/build (it is not
 * in package.json "files"), so there the prebuilt one runs unless someone builds one after installing (its
 * mtime is then later than the install's); in a checkout the last of `make -C native` and `npm pack` wins
 * (both build the same source).
 */
import {existsSync, statSync} from 'node:fs'
import {fileURLToPath} from 'node:url'

/** One place the helper may be: its path and mtime, `mtimeMs` undefined where no file is there. */
interface HelperFile {
  path: string
  mtimeMs: number | undefined
}

/**
 * The local build when it is there and not older than the prebuilt one; else the prebuilt one when there is
 * one for this platform; else the local build's path, absent, so the probes report the helper as missing.
 * @internal tested directly (a test seam)
 */
export function chooseBpfHelper(build: HelperFile, prebuilt: HelperFile | undefined): string {
  if (build.mtimeMs !== undefined && (prebuilt?.mtimeMs === undefined || build.mtimeMs >= prebuilt.mtimeMs)) return build.path
  if (prebuilt?.mtimeMs !== undefined) return prebuilt.path
  return build.path
}

/** The prebuilt directories there are: Node's process.arch names (x64, arm64) on Linux. */
const PREBUILT_ARCHES: ReadonlySet<string> = new Set(['x64', 'arm64'])

function at(relative: string): HelperFile {
  const path = fileURLToPath(new URL(relative, import.meta.url))
  try {
    const st = statSync(path)
    return {path, mtimeMs: st.isFile() ? st.mtimeMs : undefined}
  } catch {
    return {path, mtimeMs: undefined}
  }
}

let located: string | undefined

/** The helper's path for this process (looked up once: two stat calls). */
function locateBpfHelper(): string {
  if (located !== undefined) return located
  const prebuilt = process.platform === 'linux' && PREBUILT_ARCHES.has(process.arch) ? at(`../../native/prebuilt/linux-${process.arch}/nodeinspect-bpf`) : undefined
  located = chooseBpfHelper(at('../../native/build/nodeinspect-bpf'), prebuilt)
  return located
}

/** NODEINSPECT_BPF_HELPER, or the local build or the package's prebuilt one for this arch (locateBpfHelper). */
export function bpfHelperPath(): string {
  return process.env.NODEINSPECT_BPF_HELPER ?? locateBpfHelper()
}

let present: {path: string | undefined} | undefined

/**
 * The helper when its file is there (looked up once), for what only speeds a run up (a dump's deep output buffer,
 * spawn-spec.ts): without it the tool runs as it is, and the probes that need the helper say it is missing.
 */
export function presentBpfHelper(): string | undefined {
  if (present === undefined) {
    const path = bpfHelperPath()
    present = {path: existsSync(path) ? path : undefined}
  }
  return present.path
}
