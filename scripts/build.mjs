// Bundles the Function App entry points and the CLI with esbuild into dist/.
// @azure/functions-core is provided by the Functions host at run time, so it stays external.
import { build } from 'esbuild';
import { readdirSync, rmSync, mkdirSync, chmodSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const appDir = join(root, 'functions', 'app');
const entries = readdirSync(appDir)
  .filter((f) => f.endsWith('.ts') && !f.endsWith('.test.ts'))
  .filter((f) => !['runtime.ts', 'log.ts'].includes(f))
  .map((f) => join(appDir, f));

rmSync(join(root, 'dist', 'app'), { recursive: true, force: true });
rmSync(join(root, 'dist', 'cli'), { recursive: true, force: true });
mkdirSync(join(root, 'dist'), { recursive: true });

const common = {
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'esm',
  sourcemap: 'linked',
  legalComments: 'none',
  logLevel: 'warning',
  // ESM bundles that contain CommonJS dependencies need a real require()
  banner: { js: "import { createRequire as __spkCreateRequire } from 'node:module'; const require = __spkCreateRequire(import.meta.url);" },
};

await build({
  ...common,
  entryPoints: entries,
  outdir: join(root, 'dist', 'app'),
  external: ['@azure/functions-core'],
  splitting: true,
  chunkNames: 'chunks/[name]-[hash]',
});

await build({
  ...common,
  entryPoints: [join(root, 'functions', 'cli', 'spk.ts')],
  outfile: join(root, 'dist', 'cli', 'spk.js'),
  // the CLI starts Azurite from node_modules; keep it out of the bundle
  external: ['@azure/functions-core', 'azurite'],
  banner: { js: `#!/usr/bin/env node\n${common.banner.js}` },
});
chmodSync(join(root, 'dist', 'cli', 'spk.js'), 0o755);
