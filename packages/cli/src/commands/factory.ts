/**
 * `kata-ts factory init|status|destroy|serve|stop`: the VM templates the shim clones sandboxes from
 * and the warm VM pool (Kata's `kata-runtime factory`). init makes the default sandbox's template
 * now, so the first pod does not pay for it; destroy removes every template (running clones keep
 * their memory mapping); serve runs the warm pool (factory-pool.ts), stop ends it.
 */
import { existsSync, promises as fs } from 'node:fs';
import path from 'node:path';
import { createLogger, prepareDefaultTemplate } from '@kata-ts/shim';
import { templateFacts } from '../check/gather';
import { loadEffectiveConfig } from '../config-lookup';
import type { Output } from '../output';
import { poolFacts, serveFactory, stopFactory } from './factory-pool';

export interface FactoryArgs {
  config?: string;
  json: boolean;
  action: string;
}

export async function factoryCommand(args: FactoryArgs, out: Output): Promise<number> {
  const { config, error } = await loadEffectiveConfig(args.config);
  if (error) {
    out.error(`kata-ts factory: ${error}\n`);
    return 1;
  }
  const print = (text: string, data: Record<string, unknown>): void => out.write(args.json ? `${JSON.stringify(data)}\n` : `${text}\n`);
  switch (args.action) {
    case 'init': {
      if (!config.factory.enableTemplate) {
        print('templates are off ([factory] enable_template = false): nothing to make', { made: false, reason: 'enable_template is off' });
        return 0;
      }
      const started = Date.now();
      const result = await prepareDefaultTemplate(config, createLogger({ level: 'warn' }));
      if ('why' in result) {
        print(`templates are unused with this configuration (${result.why}): nothing to make`, { made: false, reason: result.why });
        return 0;
      }
      print(`template ${result.files.key} ready in ${result.files.dir} (${((Date.now() - started) / 1000).toFixed(1)} s)`, { made: true, ...result.files });
      return 0;
    }
    case 'status': {
      const facts = await templateFacts(config, existsSync('/dev/vhost-vsock'));
      const pool = await poolFacts(config);
      const lines = [`templates ${facts.enabled ? 'on' : 'off'}, in ${facts.path}${facts.unusable ? `; unused with this configuration: ${facts.unusable}` : ''}`,
        ...facts.ready.map((t) => `  ${t.key}  made ${t.madeAt}  RAM ${(t.ramBytes / 1048576).toFixed(0)} MiB`), pool.text];
      print(lines.join('\n'), { ...facts, ...pool.data });
      return 0;
    }
    case 'serve':
      return serveFactory(config, out);
    case 'stop': {
      const r = await stopFactory(config);
      print(r.pid ? `factory (pid ${r.pid}) ${r.stopped ? 'stopped' : 'did not stop within 30 s'}` : 'no factory running', r);
      return r.pid && !r.stopped ? 1 : 0;
    }
    case 'destroy': {
      const root = config.factory.templatePath;
      const removed: string[] = [];
      for (const name of await fs.readdir(root).catch(() => [] as string[])) {
        if (!/^[0-9a-f]{32}$/.test(name)) continue;
        await fs.rm(path.join(root, name), { recursive: true, force: true });
        removed.push(name);
      }
      print(`removed ${removed.length} template(s) from ${root}`, { removed });
      return 0;
    }
    default:
      out.error(`kata-ts factory: unknown action ${JSON.stringify(args.action)} (init, status, destroy, serve or stop)\n`);
      return 2;
  }
}
