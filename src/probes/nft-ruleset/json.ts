/** Guards for the values of `nft -j` output. */


export function str(v: unknown): string | undefined {
  return typeof v === 'string' ? v : undefined
}

export function int(v: unknown): number | undefined {
  return typeof v === 'number' && Number.isInteger(v) ? v : undefined
}
