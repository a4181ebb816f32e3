/** Strings a crafted snapshot or a hostile node can put in front of a renderer. */
export const ESC_TITLE = '\u001b]0;owned\u0007' // OSC: sets the terminal's title, ends with BEL
export const CLEAR = '\u001b[2J\u001b[H' // clears the screen
export const NUL = '\u0000'
export const RLO = '\u202e' // right-to-left override: reorders what follows on screen
export const C1_CSI = '\u009b31m' // 8-bit CSI

export const hostile = (what: string) => `${what}${ESC_TITLE}${CLEAR}${NUL}${RLO}${C1_CSI}\u007f\r\n\tend`

/** Any character a terminal may act on: C0 (tab and newline apart, checked by the callers), DEL, C1, bidi. */
export const TERMINAL_CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/
