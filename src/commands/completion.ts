import {Args} from '@oclif/core'
import {BaseCommand} from '../cli/base-command.js'
import {bashCompletion, type CompletionCommand, zshCompletion} from '../render/completion.js'

export default class Completion extends BaseCommand {
  static override summary = 'Print a shell completion script (bash or zsh)'
  static override description = `Completes command names, each command's flags, the values of flags that take a fixed list (--format, --variant), named network namespaces for --netns (from \`ip netns list\`, asked by the shell when you press Tab) and paths for --snapshot, --output and --record. The script is static: nothing is added to nodeinspect's start-up.`
  static override examples = ['source <(<%= config.bin %> completion bash)', '<%= config.bin %> completion bash > /etc/bash_completion.d/<%= config.bin %>', 'echo \'source <(<%= config.bin %> completion zsh)\' >> ~/.zshrc']
  static override enableJsonFlag = true
  static override args = {shell: Args.string({description: 'bash or zsh', options: ['bash', 'zsh'], required: true})}

  async run(): Promise<{schema: 'nodeinspect.completion/v1'; shell: string; script: string}> {
    const {args} = await this.parse(Completion)
    const commands: CompletionCommand[] = this.config.commands
      .filter((c) => !c.hidden)
      .map((c) => ({id: c.id, flags: Object.entries(c.flags).map(([name, f]) => ({name, takesValue: f.type === 'option', ...(f.type === 'option' && f.options ? {options: f.options} : {})}))}))
      .sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
    const script = (args.shell === 'zsh' ? zshCompletion : bashCompletion)(this.config.bin, commands)
    if (!this.jsonEnabled()) this.log(script)
    return {schema: 'nodeinspect.completion/v1', shell: args.shell, script}
  }
}
