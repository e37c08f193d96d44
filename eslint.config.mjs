import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['**/node_modules/**', '**/dist/**', '**/build/**', '**/src/gen/**', '**/test/gen/**', 'images/out/**', 'images/cache/**', '.cache/**', 'jest.config.js'] },
  ...tseslint.configs.recommended,
  {
    // Plain CommonJS scripts (guest-side probes, build helpers) load modules with require().
    files: ['**/*.js', '**/*.cjs'],
    languageOptions: { sourceType: 'commonjs' },
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
  {
    rules: {
      // Tests must never be narrowed by accident.
      'no-restricted-properties': ['error',
        { object: 'describe', property: 'only' }, { object: 'it', property: 'only' }, { object: 'test', property: 'only' }],
      // Packages are consumed through their public entry, never through another package's src/.
      'no-restricted-imports': ['error', { patterns: [{ group: ['@kata-ts/*/src/*', 'ttrpc-ts/src/*', 'node-vsock/src/*', '../../*/src/*', '../../../*/src/*'], message: 'import the package, not its src/' }] }],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
);
