import type {XtChain} from '../../model/netfilter.js'

/** A chain's targets before its first jump: one array for all of them, never changed (addTarget replaces it). */
const NO_TARGETS: Array<number | string> = Object.freeze([]) as unknown as Array<number | string>

/**
 * The rules of a chain counted but not built (IptablesSaveOptions.onlyMarkRules) and where they jump: the parse's
 * record while it reads the chain, then the chain's XtChain.unbuilt as it is, with no copy. The jumps are kept as
 * the target chains' numbers, which the chain graph is registered from (model/chain-graph.ts registerXtChainGraph);
 * their names are made only when something reads `jumps`: at kube-proxy scale that is 40k arrays of names nothing
 * on `marks`' path reads, made after the dump's last line (~18 ms of a 110k-rule `marks`, measured alternating with
 * the build before). `jumps` is a getter: a reader comparing two of these compares `targets`, or reads `jumps`.
 */
export class UnbuiltRules {
  rules = 0
  /**
   * Per rule's jump, in the order first seen: the target chain's number in its table, or the name of no chain (yet);
   * each once unless `resumed`.
   */
  targets = NO_TARGETS
  /** Set when a jump may be in `targets` twice: the chain's rules came in two runs, or a jump was kept by name. */
  resumed = false
  /** The table's chains, by number (filled as the parse declares them; complete once it ends). */
  readonly #chains: readonly XtChain[]
  #names: string[] | undefined
  constructor(
    /** Numbers the records of one table in the order they were made (TableBuilder dedupes jumps by it). */
    readonly serial: number,
    chains: readonly XtChain[],
  ) {
    this.#chains = chains
  }

  /** The chains (or names of no chain) the rules jump or go to, each once, in the order first seen. */
  get jumps(): string[] {
    if (this.#names === undefined) {
      const {targets} = this
      const names: string[] = new Array(targets.length)
      for (let k = 0; k < targets.length; k++) {
        const t = targets[k]!
        names[k] = typeof t === 'number' ? this.#chains[t]!.name : t
      }
      this.#names = this.resumed ? [...new Set(names)] : names
    }
    return this.#names
  }

  /**
   * Keep a jump. The first makes an array of exactly one (V8 gives `[]` room for 17 on its first push, and 30k of
   * kube-proxy's 40k chains keep one jump: ~4 MB the collector would copy while the parse runs).
   */
  addTarget(to: number | string): void {
    if (this.targets.length === 0) this.targets = [to]
    else this.targets.push(to)
  }
}
