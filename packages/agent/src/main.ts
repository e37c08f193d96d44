#!/usr/bin/env node
import { Agent } from './agent';
import { loadConfig, UsageError } from './config';
import { createLogger } from './logging';
import { logPortDestination, openLogPort } from './log-port';

/** kata-agent entry point: `node kata-agent.js [--listen unix:/path ...]` (see config.ts). */
async function main(): Promise<void> {
  let config;
  try {
    config = loadConfig(process.argv.slice(2));
  } catch (err) {
    if (err instanceof UsageError) {
      process.stderr.write(`${err.message}\n`);
      process.exit(2);
    }
    throw err;
  }
  const logPort = await openLogPort();
  const log = createLogger(config.logLevel, logPort ? logPortDestination(logPort) : 2);
  process.on('uncaughtException', (err) => log.error({ err: err.stack }, 'uncaught exception'));
  process.on('unhandledRejection', (err) => log.error({ err: (err as Error)?.stack ?? String(err) }, 'unhandled rejection'));
  const agent = await Agent.start(config, log);
  const stop = (sig: string): void => {
    log.info({ signal: sig }, 'stopping');
    void agent.shutdown().finally(() => process.exit(0));
  };
  process.once('SIGTERM', () => stop('SIGTERM'));
  process.once('SIGINT', () => stop('SIGINT'));
}

// The bundler runs the program once to record V8's code cache: modules initialise, nothing starts.
if (!process.env.KATA_AGENT_CODE_CACHE_RUN) main().catch((err: Error) => {
  process.stderr.write(`kata-agent: ${err.stack ?? err.message}\n`);
  process.exit(1);
});
