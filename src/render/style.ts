/** Colour only for a terminal that wants it; pipes, CI and NO_COLOR get plain text. Table cells are never coloured (src/render/text-table.ts). */
export interface Style {
  bold(s: string): string
  dim(s: string): string
  warn(s: string): string
}

export function styleFor(stream: {isTTY?: boolean} = process.stdout): Style {
  const on = !!stream.isTTY && !process.env.NO_COLOR && process.env.TERM !== 'dumb' && !process.env.CI
  const wrap = (a: number, b: number) => (s: string) => (on ? `\u001b[${a}m${s}\u001b[${b}m` : s)
  return {bold: wrap(1, 22), dim: wrap(2, 22), warn: wrap(33, 39)}
}

export const PLAIN: Style = {bold: (s) => s, dim: (s) => s, warn: (s) => s}
