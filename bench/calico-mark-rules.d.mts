/** Types of calico-mark-rules.mjs, for the tests that import it. */
export declare function calicoRuleset(endpoints: number): {text: string; endpoints: number; markRules: number; rules: number}
export declare const endpointsFor: (markRules: number) => number
