// Development aid: boots the guest once with kata_ts.debug=1, waits for Health.Check and prints the
// console (the init's timestamped steps and the agent's log lines) with the host-side ready time.
// Run: TSX_TSCONFIG_PATH=packages/agent/tsconfig.json node --require tsx/cjs scripts/bench/boot-timeline.ts [kernel params]
import { HealthService } from '@kata-ts/protocol/kata';
import { Client, createServiceClient } from 'ttrpc-ts';
import { bootGuest } from '../../packages/agent/test/harness/guest-vm';

async function main(): Promise<void> {
  const append = ['kata_ts.debug=1', ...process.argv.slice(2)].join(' ');
  const vm = bootGuest({ append });
  try {
    const client = new Client(await vm.connect());
    await createServiceClient(client, HealthService).check({ service: '' }, { timeoutMs: 120_000 });
    const t = performance.now() - vm.startedAt;
    client.close();
    await new Promise((r) => setTimeout(r, 300));
    console.log(vm.console());
    console.log(`ready (QEMU start -> Health.Check): ${(t / 1000).toFixed(2)} s`);
  } finally {
    await vm.kill();
  }
}
main().catch((err) => { console.error(err); process.exit(1); });
