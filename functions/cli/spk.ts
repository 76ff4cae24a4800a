/** The `spk` command: validate, routes test, render, simulate, rules test. */
import { KitError } from '../core/errors.js';
import { processIo, UsageError, type CliIo } from './io.js';
import { validateCommand } from './validate.js';
import { routesCommand } from './routes.js';
import { renderCommand } from './render.js';
import { simulateCommand } from './simulate.js';
import { rulesTestCommand } from './rules-test.js';

const HELP = `spk — Sentinel Playbook Kit

  spk validate [--config DIR]            check playbooks, receivers, exclusions, templates, rules
  spk routes test --change owner=Customer | --event FILE
                                         which playbooks and receivers an event reaches
  spk render --receiver NAME [--event FILE] [--payload]
                                         one template against one event
  spk simulate --events FILE.jsonl [--json] [--out DIR]
                                         the whole pipeline over a file of events, into the outbox
  spk rules test --event FILE            which Sentinel automation rules fire, which playbooks they run

Run a command with --help for its options.`;

export async function main(argv: string[], io: CliIo = processIo()): Promise<number> {
  const [command, ...rest] = argv;
  try {
    switch (command) {
      case 'validate':
        return await validateCommand(rest, io);
      case 'routes':
        return await routesCommand(rest, io);
      case 'render':
        return await renderCommand(rest, io);
      case 'simulate':
        return await simulateCommand(rest, io);
      case 'rules':
        if (rest[0] !== 'test') throw new UsageError('usage: spk rules test --event FILE [--json]');
        return await rulesTestCommand(rest.slice(1), io);
      case undefined:
      case 'help':
      case '--help':
      case '-h':
        io.stdout(HELP);
        return command === undefined ? 1 : 0;
      default:
        throw new UsageError(`unknown command "${command}"\n\n${HELP}`);
    }
  } catch (e) {
    if (e instanceof UsageError) {
      io.stderr(e.message);
      return 64;
    }
    if (e instanceof KitError) {
      io.stderr(`spk ${command}: ${e.format()}`);
      return 1;
    }
    if (e instanceof TypeError && (e as NodeJS.ErrnoException).code?.startsWith('ERR_PARSE_ARGS')) {
      io.stderr(`spk ${command}: ${e.message}`);
      return 64;
    }
    throw e;
  }
}

const invokedDirectly = process.argv[1] && import.meta.url.endsWith(process.argv[1].split(/[\\/]/).pop()!);
if (invokedDirectly) {
  main(process.argv.slice(2)).then(
    // exitCode, not exit(): a piped --json report must be flushed whole before the process ends
    (code) => {
      process.exitCode = code;
    },
    (e: unknown) => {
      process.stderr.write(`spk: unexpected error: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
      process.exit(70);
    },
  );
}
