// Lint of the dashboard's browser module (plain JS, ES module, no globals of its own):
//   npx eslint -c dashboard/ui/eslint.config.mjs dashboard/ui/
import js from '@eslint/js';

const browser = Object.fromEntries(
  ['window', 'document', 'fetch', 'URLSearchParams', 'Node', 'setTimeout', 'clearTimeout', 'console'].map(
    (g) => [g, 'readonly'],
  ),
);

export default [
  js.configs.recommended,
  {
    files: ['dashboard/ui/**/*.mjs'],
    languageOptions: { ecmaVersion: 2022, sourceType: 'module', globals: browser },
    rules: {
      'no-implicit-globals': 'error',
      'no-restricted-properties': ['error', { property: 'innerHTML' }, { property: 'outerHTML' }],
      'no-control-regex': 'off',
    },
  },
];
