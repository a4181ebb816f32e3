/**
 * A name from the node as a terminal may show it. The kernel takes any device name without '/', ':' or blanks
 * (dev_valid_name(), net/core/dev.c), so a name can hold control characters: printed raw, \x1b would drive the
 * terminal and \x01 would vanish, hiding or disguising the device. Control characters (C0, DEL, C1) are shown as
 * `\xNN`, and a backslash as `\\` so that the escaped form of one name is never another's. JSON keeps the name as it is.
 */
export function printable(s: string): string {
  let out = ''
  let from = 0
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i)
    if (c >= 0x20 && c !== 0x5c && (c < 0x7f || c > 0x9f)) continue
    out += s.slice(from, i) + (c === 0x5c ? '\\\\' : `\\x${c.toString(16).padStart(2, '0')}`)
    from = i + 1
  }
  return from === 0 ? s : out + s.slice(from)
}
