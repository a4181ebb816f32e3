/** Types of scale-node.mjs, for the tests that import it. */
export declare const PROG_MARKER: number
export declare function run(argv: string[], opts?: {input?: string; timeoutMs?: number}): Promise<string>
export declare function compileProgram(work: string): Promise<Buffer>
export declare function patchedObject(obj: Buffer, value: number): Buffer
export declare const endpointMark: (i: number) => number
export declare function addEndpoints(o: {ns: string; bpffs: string; work: string; obj: Buffer; from: number; to: number}): Promise<void>
export declare function straceExecs(dir: string): string[]
