/**
 * `kata-ts exec` (issue 10 item 3, Kata's debug console) on a real terminal: tmux runs the installed
 * command against a sandbox of a private containerd whose configuration enables the console; keys
 * go in with send-keys, the screen comes back with capture-pane. The shell runs in the VM (its kernel
 * command line, its /run), follows the terminal's size, and its exit status becomes the command's.
 * With the console disabled, the command is refused and the VM has no console port.
 */
import { readFileSync } from 'node:fs';
import { describeNeeding, kataCtrSuite, run, which, describeKata } from './harness';

const TEST_TIMEOUT_MS = 240_000;
const TMUX_SOCKET = `kata-exec-e2e-${process.pid}`;

const tmux = (...args: string[]) => run('tmux', ['-L', TMUX_SOCKET, ...args], { timeoutMs: 10_000 });

/** The pane's text (joined wrapped lines, trailing blanks trimmed). */
async function screen(session: string): Promise<string> {
  return (await tmux('capture-pane', '-p', '-J', '-t', session)).stdout;
}

/** Polls the pane until `re` matches; fails with what the pane showed. */
async function waitFor(session: string, re: RegExp, timeoutMs = 30_000): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  while (Date.now() < deadline) {
    last = await screen(session);
    if (re.test(last)) return last;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`the pane never matched ${re}; it showed:\n${last}`);
}

describeKata('kata-ts exec (debug console)', () => {
  describeNeeding(which('tmux') ? undefined : 'tmux is not installed (scripts/install-deps.sh)', 'on a terminal', () => {
    const suite = kataCtrSuite('kata-exec');

    afterAll(async () => {
      await tmux('kill-server').catch(() => undefined);
    });

    it('runs a root shell in the VM: its cmdline and /run, the terminal size, the exit status', async () => {
      const id = suite.newId('on');
      const config = suite.config('console-on', { debug_console_enabled: true });
      await suite.kata.runDetached(id, config, ['sleep', '100000']);
      try {
        // The command's status is printed once it returns; the pane then stays for capture-pane.
        const session = `exec-${process.pid}`;
        const started = await tmux('new-session', '-d', '-s', session, '-x', '120', '-y', '40',
          `kata-ts exec ${id} --config ${config}; echo "kata-ts exec exited $?"; sleep 600`);
        expect(started.code).toBe(0);
        await waitFor(session, /kata-vm:\/#\s*$/m);

        await tmux('send-keys', '-t', session, 'cat /proc/cmdline; ls /run', 'Enter');
        // The guest's kernel command line (as the shim built it), not the host's.
        const cmdline = readFileSync('/proc/cmdline', 'utf8').trim();
        let text = await waitFor(session, /kata-containers/);
        expect(text).toMatch(/console=ttyS0/);
        expect(text).not.toContain(cmdline);
        expect(text).toMatch(/kata-containers/);

        // The guest pty has the terminal's size, and follows it.
        await tmux('send-keys', '-t', session, 'stty size', 'Enter');
        await waitFor(session, /^40 120\s*$/m);
        await tmux('resize-window', '-t', session, '-x', '100', '-y', '30');
        await tmux('send-keys', '-t', session, 'clear; stty size', 'Enter');
        await waitFor(session, /^30 100\s*$/m);

        // Job control works (a pty with a controlling terminal): ^C stops the foreground job only.
        await tmux('send-keys', '-t', session, 'sleep 30', 'Enter');
        await new Promise((r) => setTimeout(r, 1000));
        await tmux('send-keys', '-t', session, 'C-c');
        await tmux('send-keys', '-t', session, 'echo still-$((6*7))', 'Enter');
        await waitFor(session, /^still-42\s*$/m);

        await tmux('send-keys', '-t', session, 'exit 7', 'Enter');
        text = await waitFor(session, /kata-ts exec exited \d+/);
        expect(text).toMatch(/kata-ts exec exited 7/);
        await tmux('kill-session', '-t', session);

        // Every session was logged by the shim, with the sandbox id.
        const logged = readFileSync(suite.ctd.layout.logFile, 'utf8').split('\n').filter((l) => l.includes('"subsystem":"debug-console"') && l.includes(`"sandbox":"${id}"`));
        expect(logged.some((l) => l.includes('debug console session opened'))).toBe(true);
      } finally {
        await suite.kata.remove(id);
      }
    }, TEST_TIMEOUT_MS);

    it('is refused while debug_console_enabled is off, and a VM started so has no console', async () => {
      const id = suite.newId('off');
      const off = suite.config('console-off', { debug_console_enabled: false });
      const on = suite.config('console-on', { debug_console_enabled: true });
      await suite.kata.runDetached(id, off, ['sleep', '100000']);
      try {
        const refused = await run('kata-ts', ['exec', id, '--config', off], { timeoutMs: 30_000 });
        expect(refused.code).toBe(2);
        expect(refused.stderr).toMatch(/debug console is disabled: set debug_console_enabled = true in \[agent.kata\]/);
        const noPort = await run('kata-ts', ['exec', id, '--config', on], { timeoutMs: 30_000 });
        expect(noPort.code).toBe(2);
        expect(noPort.stderr).toMatch(new RegExp(`sandbox ${id} has no debug console`));
        const unknown = await run('kata-ts', ['exec', 'no-such-sandbox', '--config', on], { timeoutMs: 30_000 });
        expect(unknown.code).toBe(2);
        expect(unknown.stderr).toMatch(new RegExp(`no running sandbox no-such-sandbox .*; running: .*${id}`));
      } finally {
        await suite.kata.remove(id);
      }
    }, TEST_TIMEOUT_MS);
  });
});
