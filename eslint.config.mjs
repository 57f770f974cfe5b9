import js from '@eslint/js';
import tseslint from 'typescript-eslint';

/** The browser globals the dashboard's front-end code may use (it defines none of its own). */
const browserGlobals = Object.fromEntries(
  [
    'window',
    'document',
    'location',
    'navigator',
    'fetch',
    'URL',
    'URLSearchParams',
    'Node',
    'HTMLElement',
    'customElements',
    'WebSocket',
    'MediaSource',
    'setTimeout',
    'clearTimeout',
    'setInterval',
    'clearInterval',
    'requestAnimationFrame',
    'console',
  ].map((g) => [g, 'readonly']),
);

export default tseslint.config(
  {
    ignores: [
      'dist/**',
      'node_modules/**',
      'bench/results/**',
      '.pfcam-data/**',
      'test-artifacts/**',
      '**/*.js',
      '**/*.mjs',
      '!dashboard/ui/**/*.js',
      '!dashboard/ui/**/*.mjs',
      '!dashboard/pages/**/*.js',
      'dashboard/ui/eslint.config.mjs',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  {
    files: ['test/**/*.ts', 'bench/**/*.ts'],
    rules: {
      '@typescript-eslint/no-unused-expressions': 'off',
      '@typescript-eslint/no-non-null-assertion': 'off',
    },
  },
  {
    // The dashboard's front end: plain browser JavaScript, no globals leaked, no HTML from strings.
    files: ['dashboard/ui/**/*.js', 'dashboard/ui/**/*.mjs', 'dashboard/pages/**/*.js'],
    ...tseslint.configs.disableTypeChecked,
    languageOptions: {
      ecmaVersion: 2022,
      sourceType: 'module',
      globals: browserGlobals,
      parserOptions: { projectService: false },
    },
    rules: {
      ...tseslint.configs.disableTypeChecked.rules,
      'no-implicit-globals': 'error',
      'no-restricted-properties': ['error', { property: 'innerHTML' }, { property: 'outerHTML' }],
      'no-control-regex': 'off',
      '@typescript-eslint/no-unused-vars': ['error', { caughtErrors: 'none', argsIgnorePattern: '^_' }],
    },
  },
);
