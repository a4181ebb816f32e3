import type {XtModuleMatch, XtOption, XtTarget} from '../../model/netfilter.js'

/** Reports a problem with the rule being read (its line and text are added by the caller). */
export type Bad = (msg: string) => void

/**
 * The options of one extension as an extension's parser reads them: `take` finds an option by name (or its
 * alias) and records it as interpreted; whatever is not taken is kept as `uninterpreted` by the caller.
 */
export class ExtensionOptions {
  readonly used: XtOption[] = []
  constructor(
    readonly all: XtOption[],
    /** `-m mark`, `-j MARK`: for messages. */
    readonly what: string,
    readonly bad: Bad,
  ) {}

  /** Options are few per extension: a linear scan. */
  take(name: string, alias?: string): XtOption | undefined {
    for (const o of this.all)
      if (o.name === name || (alias !== undefined && o.name === alias)) {
        this.used.push(o)
        return o
      }
    return undefined
  }

  /** Whether the flag option is present (taking it). */
  flag(name: string): boolean {
    return this.take(name) !== undefined
  }

  /** The option's single value; a problem when it has none or several. */
  one(o: XtOption): string | undefined {
    if (o.values.length !== 1) this.bad(`${this.what} --${o.name} expects one value, got ${o.values.length}`)
    return o.values[0]
  }

  /** Keep the raw option list only when some option is not covered by the typed fields (keeps 110k-rule dumps light). */
  finish<T extends {options?: XtOption[]; uninterpreted?: string[]}>(x: T): T {
    if (this.used.length >= this.all.length) return x
    x.options = this.all
    x.uninterpreted = this.all.filter((o) => !this.used.includes(o)).map((o) => o.name)
    return x
  }
}

/**
 * One match extension (`-m NAME`), as libxtables keeps one file per extension: the names it answers to and
 * how its options become a typed match. Options it does not take are kept as `uninterpreted`, unless the
 * parser set that list itself.
 */
export interface XtMatchParser {
  names: readonly string[]
  parse(module: string, o: ExtensionOptions): XtModuleMatch
}

/** One target extension (`-j NAME`): the names it answers to and how its options become a typed target. */
export interface XtTargetParser {
  names: readonly string[]
  parse(name: string, o: ExtensionOptions): XtTarget
}
