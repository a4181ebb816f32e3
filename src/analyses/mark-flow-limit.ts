/** Pairs listed in `flowPairs` at most: the groups always count them all. Apart from marks.ts so the command's help text does not load the analysis. */
export const MAX_FLOW_PAIRS = 10_000
