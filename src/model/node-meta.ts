/** Where a node's facts came from: live (host or a named netns) or a snapshot file. */

export interface SourceMeta {
  kind: 'live' | 'snapshot'
  /** The named network namespace the commands ran in; absent for the host's own. */
  netns?: string
  hostname?: string
  kernel?: string
  takenAt?: string
  snapshotFile?: string
  note?: string
}
