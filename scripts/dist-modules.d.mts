/** Types of dist-modules.mjs, for the test that imports it. */
export function distModules(dir: string): string[]
