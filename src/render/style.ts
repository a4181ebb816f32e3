/**
 * Colour only for a terminal that wants it: --no-color, NO_COLOR (any value, no-color.org), TERM=dumb, CI and
 * anything but a terminal on stdout get plain text. Table cells are never coloured (src/render/text-table.ts).
 */
export function colourWanted(stream: {isTTY?: boolean} = process.stdout, noColorFlag = false): boolean {
  return !noColorFlag && !!stream.isTTY && !process.env.NO_COLOR && process.env.TERM !== 'dumb' && !process.env.CI
}

export interface Style {
  bold(s: string): string
  dim(s: string): string
  warn(s: string): string
}

export function styleFor(stream: {isTTY?: boolean} = process.stdout, noColorFlag = false): Style {
  const on = colourWanted(stream, noColorFlag)
  const wrap = (a: number, b: number) => (s: string) => (on ? `\u001b[${a}m${s}\u001b[${b}m` : s)
  return {bold: wrap(1, 22), dim: wrap(2, 22), warn: wrap(33, 39)}
}

export const PLAIN: Style = {bold: (s) => s, dim: (s) => s, warn: (s) => s}
