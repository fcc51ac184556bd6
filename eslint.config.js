// ESLint for the whole repository (`npm run lint`, part of `npm test`).
//
// TypeScript is linted with type information from tsconfig.test.json, which
// extends tsconfig.json and adds tests/ and vitest.config.ts: one TypeScript
// program for every .ts file, so the type-aware rules cost one type-check.
// The few plain JavaScript files (the bin shim, scripts/, the status page's
// browser script, this file) get type information from typescript-eslint's
// default project, so promise rules apply to them too.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

// The rules STYLE.md habit 14 asks for, for TypeScript and JavaScript alike.
const promiseAndSwitchRules = {
  '@typescript-eslint/no-floating-promises': 'error',
  '@typescript-eslint/no-misused-promises': 'error',
  // A switch over a union with no `default` must name every member; one with
  // a `default` is exhaustive by construction.
  '@typescript-eslint/switch-exhaustiveness-check': [
    'error',
    { considerDefaultExhaustiveForUnions: true, allowDefaultCaseForExhaustiveSwitch: true },
  ],
};

const nodeGlobals = Object.fromEntries(
  ['process', 'console', 'Buffer', 'URL', 'setTimeout', 'clearTimeout', 'setInterval', 'clearInterval'].map((g) => [g, 'readonly']),
);
const browserGlobals = Object.fromEntries(
  ['window', 'document', 'console', 'EventSource', 'fetch', 'location', 'setTimeout', 'clearTimeout', 'requestAnimationFrame'].map((g) => [
    g,
    'readonly',
  ]),
);

export default tseslint.config(
  {
    ignores: ['dist/', 'node_modules/', 'lib/proto/gen/', 'helm/', '.rivulet/', '.tools/', 'tmp/', 'coverage/'],
  },
  {
    // A disable comment that no longer suppresses anything is an error, so stale ones go.
    linterOptions: { reportUnusedDisableDirectives: 'error' },
  },
  {
    files: ['**/*.ts'],
    extends: [js.configs.recommended, ...tseslint.configs.recommendedTypeChecked],
    languageOptions: {
      parserOptions: {
        project: ['./tsconfig.test.json'],
        tsconfigRootDir: import.meta.dirname,
      },
    },
    rules: {
      ...promiseAndSwitchRules,
      '@typescript-eslint/consistent-type-imports': ['error', { fixStyle: 'separate-type-imports' }],
      // A leading underscore marks a binding that is unused on purpose
      // (`({ reads: _reads, ...rest }) => rest`, `(_req, res) => …`).
      '@typescript-eslint/no-unused-vars': [
        'error',
        {
          argsIgnorePattern: '^_',
          varsIgnorePattern: '^_',
          caughtErrorsIgnorePattern: '^_',
          destructuredArrayIgnorePattern: '^_',
          ignoreRestSiblings: true,
        },
      ],
      // The code writes `xs[i]!` on purpose, as if noUncheckedIndexedAccess
      // were on; this rule would strip those assertions.
      '@typescript-eslint/no-unnecessary-type-assertion': 'off',
      // `unary(client, client.method, …)` (lib/grpc/client.ts) passes a gRPC
      // method and its client separately and calls method.call(client, …).
      '@typescript-eslint/unbound-method': 'off',
    },
  },
  {
    // Tests walk parsed JSON, YAML manifests and DOM values whose shape the
    // assertions themselves check; typing every step buys nothing there.
    files: ['tests/**/*.ts'],
    rules: {
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
    },
  },
  {
    files: ['**/*.js', '**/*.mjs'],
    extends: [js.configs.recommended],
    plugins: { '@typescript-eslint': tseslint.plugin },
    languageOptions: {
      parser: tseslint.parser,
      parserOptions: {
        projectService: {
          allowDefaultProject: ['eslint.config.js', 'bin/*.js', 'scripts/*.mjs', 'services/scheduler/status-page/assets/*.js'],
        },
        tsconfigRootDir: import.meta.dirname,
      },
    },
    rules: promiseAndSwitchRules,
  },
  {
    files: ['eslint.config.js', 'bin/**/*.js', 'scripts/**/*.mjs'],
    languageOptions: { globals: nodeGlobals },
  },
  {
    files: ['services/scheduler/status-page/assets/**/*.js'],
    languageOptions: { sourceType: 'script', globals: browserGlobals },
  },
);
