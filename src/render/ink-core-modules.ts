/**
 * Where in ink's build the three pieces the trace tree uses live (src/render/ink-core.ts loads them past ink's index;
 * scripts/bundle-tree-renderer.mjs bundles the same files). Paths relative to ink's index, `…/ink/build/index.js`.
 */
export const INK_CORE_MODULES = {
  renderToString: 'render-to-string.js',
  Box: 'components/Box.js',
  Text: 'components/Text.js',
} as const
