/**
 * `kata-ts factory init|status|destroy|serve|stop`: the VM templates the shim clones sandboxes from
 * and the warm VM pool (Kata's `kata-runtime factory`). init makes the default sandbox's template
 * now, so the first pod does not pay for it; destroy removes every template (running clones keep
 * their memory mapping); serve runs the warm pool (factory-pool.ts), stop ends it.
 */
import { existsSync, promises as fs } from 'node:fs';
import path from 'node:path';
import { createLogger, prepareDefaultTemplate, type TemplateProgress } from '@kata-ts/shim';
import { templateFacts } from '../check/gather';
import { loadEffectiveConfig } from '../config-lookup';
import type { Output } from '../output';
import { formatBytes, Progress } from '../progress';
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
      // On stderr: stdout keeps its one line (or JSON). A terminal gets one line redrawn in place.
      const progress = out.progress ? new Progress(out.progress, { tty: !args.json && out.progress.isTTY === true, prefix: 'factory init: ' }) : undefined;
      let result: Awaited<ReturnType<typeof prepareDefaultTemplate>>;
      try {
        result = await prepareDefaultTemplate(config, createLogger({ level: 'warn' }), progress && templateProgressView(progress));
      } finally {
        progress?.clear();
      }
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

const seconds = (ms: number): string => `${(ms / 1000).toFixed(1)} s`;

/** Draws the template maker's progress events (TemplateProgress, in their order) on `progress`. */
export function templateProgressView(progress: Progress): (p: TemplateProgress) => void {
  let saving = false;
  let agentUpMs: number | undefined;
  return (p) => {
    switch (p.phase) {
      case 'waiting':
        progress.phase(`waiting for the template that pid ${p.ownerPid} is making`);
        break;
      case 'booting':
        progress.phase('[1/4] booting the VM cold');
        break;
      case 'kernel':
        progress.detail(`QEMU started at ${seconds(p.elapsedMs)}, the guest kernel is booting`, true);
        break;
      case 'agent-up':
        // Drawn with the warming that follows at once: one line, not two.
        agentUpMs = p.elapsedMs;
        break;
      case 'warming':
        progress.phase(`[2/4] agent up after ${seconds(agentUpMs ?? p.elapsedMs)}, warming`);
        break;
      case 'saving': {
        if (!saving) progress.phase("[3/4] saving the VM's state");
        saving = true;
        // QEMU's total counts RAM blocks it then skips (zero pages): at the end, what it wrote.
        const amount = p.percent === 100 ? `${formatBytes(p.transferredBytes)} written` : `${formatBytes(p.transferredBytes)} of ${formatBytes(p.totalBytes)}`;
        progress.detail(p.totalBytes > 0 ? `${p.percent}% (${amount})` : `${p.percent}%`, p.percent === 100);
        break;
      }
      case 'saved':
        break;
      case 'done':
        progress.done(p.made
          ? `[4/4] template made in ${seconds(p.elapsedMs)}: ${formatBytes(p.ramBytes)} RAM file, ${formatBytes(p.diskBytes)} on disk`
          : `template already made (${formatBytes(p.ramBytes)} RAM file, ${formatBytes(p.diskBytes)} on disk)`);
        break;
    }
  };
}
