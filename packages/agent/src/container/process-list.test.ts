import { Code } from 'ttrpc-ts';
import { listProcesses } from './process-list';

const PS = `PID   USER     COMMAND
    1 root     /usr/bin/tini -- node agent.js
   42 root     sleep 1000
  420 root     sh -c x
   43 root     [kworker/0:1]
`;

describe('listProcesses', () => {
  it('answers the pids as JSON', async () => {
    expect(Buffer.from(await listProcesses([42, 43], 'json', [], async () => '')).toString()).toBe('[42,43]');
  });

  it('keeps the header and the container\'s lines of ps -ef by default', async () => {
    const calls: string[][] = [];
    const out = await listProcesses([42, 420], 'table', [], async (args) => {
      calls.push(args);
      return PS;
    });
    expect(calls).toEqual([['-ef']]);
    expect(Buffer.from(out).toString()).toBe('PID   USER     COMMAND\n   42 root     sleep 1000\n  420 root     sh -c x\n');
  });

  it('finds the PID column wherever the caller\'s format puts it', async () => {
    const out = await listProcesses([7], 'table', ['-o', 'user,pid,args'], async () => 'USER PID COMMAND\nroot 7 a\nroot 8 b\n');
    expect(Buffer.from(out).toString()).toBe('USER PID COMMAND\nroot 7 a\n');
  });

  it('refuses unknown formats, odd arguments and a table without pids', async () => {
    const ps = async () => PS;
    await expect(listProcesses([1], 'xml', [], ps)).rejects.toMatchObject({ code: Code.INVALID_ARGUMENT });
    await expect(listProcesses([1], 'table', ['-o', 'pid;reboot'], ps)).rejects.toMatchObject({ code: Code.INVALID_ARGUMENT });
    await expect(listProcesses([1], 'table', Array(17).fill('-e'), ps)).rejects.toMatchObject({ code: Code.INVALID_ARGUMENT });
    await expect(listProcesses([1], 'table', ['-o', 'user'], async () => 'USER\nroot\n')).rejects.toMatchObject({ code: Code.INVALID_ARGUMENT });
  });
});
