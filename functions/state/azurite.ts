/**
 * Starts Azurite 3.35 (Table + Queue) for local runs and tests, on 127.0.0.1 only.
 *
 * Azurite is asked for port 0 and reports the ports the OS gave it; that is free of the
 * "pick a free port, close it, hope nobody takes it" race, so many test files can each run
 * their own instance in parallel. A start that still fails is retried with a fresh process.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import type { Socket } from 'node:net';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { KitError } from '../core/errors.js';

/** The emulator's well-known development account (public, documented by Microsoft). */
export const AZURITE_ACCOUNT_NAME = 'devstoreaccount1';
export const AZURITE_ACCOUNT_KEY =
  'Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==';

export interface AzuriteOptions {
  /** keep data on disk in this folder (implies inMemory false); default: a temp folder removed on stop */
  location?: string;
  /** default true; Azurite refuses --inMemoryPersistence together with --location */
  inMemory?: boolean;
  /** default true; false copies Azurite's output, access log included, to this process's stderr */
  silent?: boolean;
}

export interface RunningAzurite {
  connectionString: string;
  tableEndpoint: string;
  queueEndpoint: string;
  stop(): Promise<void>;
}

const MAX_START_ATTEMPTS = 3;
const READY_TIMEOUT_MS = 60_000;
const STOP_GRACE_MS = 5_000;

// Runs Azurite's own entry script inside a child that exits when its parent goes away, so a
// crashed test worker never leaves an emulator behind holding ports.
// On SIGTERM it lets go of the channel so the process ends as soon as Azurite has closed (and, with
// --location, flushed) its servers.
const CHILD_BOOTSTRAP = [
  'const orphaned = () => process.exit(0);',
  "process.on('disconnect', orphaned);",
  "process.once('SIGTERM', () => { process.off('disconnect', orphaned); if (process.connected) process.disconnect(); });",
  'require(process.argv[1]);',
].join('\n');

export async function startAzurite(options: AzuriteOptions = {}): Promise<RunningAzurite> {
  const bin = await resolveAzuriteBin();
  let lastError: unknown;
  for (let attempt = 1; attempt <= MAX_START_ATTEMPTS; attempt++) {
    try {
      return await startOnce(bin, options);
    } catch (error) {
      lastError = error;
    }
  }
  throw new KitError(`Azurite did not start after ${MAX_START_ATTEMPTS} attempts: ${describe(lastError)}`, {
    kind: 'retryable',
    cause: lastError,
  });
}

async function resolveAzuriteBin(): Promise<string> {
  const require = createRequire(import.meta.url);
  let packageJsonPath: string;
  try {
    packageJsonPath = require.resolve('azurite/package.json');
  } catch (error) {
    throw new KitError('Azurite is not installed: it is a devDependency (npm install --include=dev)', {
      kind: 'config',
      cause: error,
      where: { field: 'devDependencies.azurite' },
    });
  }
  const manifest = JSON.parse(await readFile(packageJsonPath, 'utf8')) as { bin?: Record<string, string> };
  const relative = manifest.bin?.['azurite'] ?? 'dist/src/azurite.js';
  return join(dirname(packageJsonPath), relative);
}

async function startOnce(bin: string, options: AzuriteOptions): Promise<RunningAzurite> {
  const inMemory = options.location === undefined && options.inMemory !== false;
  // Azurite writes (and with --inMemoryPersistence at least probes) its location; a private temp
  // folder keeps parallel instances apart and is the only thing stop() deletes.
  const ownedFolder = options.location === undefined ? await mkdtemp(join(tmpdir(), 'spk-azurite-')) : null;
  const location = options.location ?? (ownedFolder as string);

  const args = [
    '--blobHost', '127.0.0.1', '--blobPort', '0',
    '--queueHost', '127.0.0.1', '--queuePort', '0',
    '--tableHost', '127.0.0.1', '--tablePort', '0',
    // the storage SDKs send newer x-ms-version values than Azurite 3.35 knows
    '--skipApiVersionCheck',
    '--loose',
    // Azurite otherwise reports usage to a public Application Insights endpoint
    '--disableTelemetry',
  ];
  if (inMemory) args.push('--inMemoryPersistence');
  else args.push('--location', location);
  if (options.silent !== false) args.push('--silent');

  const child = spawn(process.execPath, ['-e', CHILD_BOOTSTRAP, bin, ...args], {
    cwd: location,
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    // custom accounts would replace devstoreaccount1, which the connection string below relies on
    env: { ...process.env, AZURITE_ACCOUNTS: undefined },
  });
  // The IPC channel only exists to tell the child when we are gone; it must not keep us alive.
  child.unref();
  child.channel?.unref();

  let ports: { queue: number; table: number };
  try {
    ports = await waitForPorts(child);
  } catch (error) {
    await killChild(child);
    if (ownedFolder) await rm(ownedFolder, { recursive: true, force: true });
    throw error;
  }
  if (options.silent === false) {
    child.stdout?.pipe(process.stderr);
    child.stderr?.pipe(process.stderr);
  }
  // A caller that forgets stop() must still be able to exit; the child follows via 'disconnect'.
  for (const stream of [child.stdout, child.stderr]) (stream as Socket | null)?.unref();

  const tableEndpoint = `http://127.0.0.1:${ports.table}/${AZURITE_ACCOUNT_NAME}`;
  const queueEndpoint = `http://127.0.0.1:${ports.queue}/${AZURITE_ACCOUNT_NAME}`;
  const connectionString =
    `DefaultEndpointsProtocol=http;AccountName=${AZURITE_ACCOUNT_NAME};AccountKey=${AZURITE_ACCOUNT_KEY};` +
    `TableEndpoint=${tableEndpoint};QueueEndpoint=${queueEndpoint};`;

  let stopped: Promise<void> | null = null;
  return {
    connectionString,
    tableEndpoint,
    queueEndpoint,
    stop() {
      stopped ??= (async () => {
        await killChild(child);
        if (ownedFolder) await rm(ownedFolder, { recursive: true, force: true });
      })();
      return stopped;
    },
  };
}

const LISTENING = /Azurite (Queue|Table) service is successfully listening at http:\/\/127\.0\.0\.1:(\d+)/g;

function waitForPorts(child: ChildProcess): Promise<{ queue: number; table: number }> {
  return new Promise((resolve, reject) => {
    let output = '';
    let errors = '';
    const found: { queue?: number; table?: number } = {};
    const timer = setTimeout(
      () => finish(new Error(`no "listening" line within ${READY_TIMEOUT_MS} ms; stderr: ${errors.slice(-500)}`)),
      READY_TIMEOUT_MS,
    );
    const finish = (error: Error | null): void => {
      clearTimeout(timer);
      child.stdout?.removeListener('data', onOut);
      child.stderr?.removeListener('data', onErr);
      child.removeListener('exit', onExit);
      child.removeListener('error', onError);
      // keep draining so a chatty child never blocks on a full pipe
      child.stdout?.resume();
      child.stderr?.resume();
      if (error) reject(error);
      else resolve({ queue: found.queue as number, table: found.table as number });
    };
    const onOut = (chunk: Buffer): void => {
      output += chunk.toString('utf8');
      for (const match of output.matchAll(LISTENING)) {
        const port = Number(match[2]);
        if (match[1] === 'Queue') found.queue = port;
        else found.table = port;
      }
      if (found.queue !== undefined && found.table !== undefined) finish(null);
    };
    const onErr = (chunk: Buffer): void => {
      errors += chunk.toString('utf8');
    };
    const onExit = (code: number | null, signal: string | null): void =>
      finish(new Error(`Azurite exited before it was ready (code ${code}, signal ${signal}): ${errors.slice(-500)}`));
    const onError = (error: Error): void => finish(error);
    child.stdout?.on('data', onOut);
    child.stderr?.on('data', onErr);
    child.once('exit', onExit);
    child.once('error', onError);
  });
}

async function killChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const forced = setTimeout(() => child.kill('SIGKILL'), STOP_GRACE_MS);
  await exited;
  clearTimeout(forced);
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
