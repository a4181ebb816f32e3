/** A JSON object as parsed from a tool's output: fields unknown until checked. */
export type JsonObject = Record<string, unknown>

/** Whether a parsed JSON value is an object (not null, not an array): the guard every JSON reader starts with. */
export function isJsonObject(v: unknown): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
}
