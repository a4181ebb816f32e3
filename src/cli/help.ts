/**
 * oclif's help with the commands' descriptions as prose: their source wraps lines at ~115 columns, and oclif keeps
 * each hard line break, so at any other width the paragraph came out ragged. A single line break joins two lines
 * of one paragraph; a blank line still separates paragraphs. (package.json oclif.helpClass.)
 */
import {type Command, Help} from '@oclif/core'

/** One paragraph per blank-line-separated block, its lines joined with spaces (pure). */
export function prose(text: string): string {
  return text
    .split(/\n\s*\n/)
    .map((p) => p.replace(/\s*\n\s*/g, ' ').trim())
    .join('\n\n')
}

export default class NodeinspectHelp extends Help {
  override async showCommandHelp(command: Command.Loadable): Promise<void> {
    return super.showCommandHelp({...command, ...(command.description ? {description: prose(command.description)} : {})} as Command.Loadable)
  }
}
