// One linter, one gate: eslint (with typescript-eslint) runs in `npm test` before the type
// check and the tests.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: {
      globals: { console: 'readonly', process: 'readonly' },
    },
    rules: {
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_' },
      ],
      '@typescript-eslint/no-non-null-assertion': 'off',
      'no-constant-condition': ['error', { checkLoops: false }],
      'prefer-const': 'error',
      'no-var': 'error',
    },
  },
  {
    // Kernel code never reads host time or randomness: inject the clock and the RNG.
    files: ['src/**/*.ts'],
    ignores: ['src/host/**', 'src/bin/**'],
    rules: {
      'no-restricted-properties': [
        'error',
        { object: 'Date', property: 'now', message: 'kernel time comes from the injected clock' },
        { object: 'Math', property: 'random', message: 'randomness comes from the seeded RNG' },
        {
          object: 'performance',
          property: 'now',
          message: 'kernel time comes from the injected clock',
        },
      ],
      'no-restricted-globals': [
        'error',
        { name: 'setTimeout', message: 'use callout(9) on the kernel clock' },
        { name: 'setInterval', message: 'use callout(9) on the kernel clock' },
        { name: 'setImmediate', message: 'use callout(9) on the kernel clock' },
      ],
      'no-console': 'error',
    },
  },
);
