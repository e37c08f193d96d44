/**
 * Kata's tcfilter model as iproute2 commands (pure: an endpoint in, argv lists out). Per endpoint,
 * in the pod netns: a tap with the veth's MTU, an ingress qdisc on both, and two u32 filters that
 * match everything and redirect it to the other side's egress (veth → tap → QEMU → guest, and back).
 * The veth keeps its addresses; its own stack never sees a packet, since all ingress is redirected.
 */
import type { Endpoint } from './types';

/** `tc filter add dev <from> ... action mirred egress redirect dev <to>` */
function redirect(from: string, to: string): string[] {
  return ['tc', 'filter', 'add', 'dev', from, 'parent', 'ffff:', 'protocol', 'all', 'u32', 'match', 'u8', '0', '0', 'action', 'mirred', 'egress', 'redirect', 'dev', to];
}

/** One step of the setup and what undoes it (undefined: nothing to undo beyond an earlier step). */
export interface Step {
  argv: string[];
  /** What was created, for the record `delete` uses (tap: the tap; qdisc: the veth's ingress qdisc). */
  creates?: 'tap' | 'veth-qdisc';
}

/** The setup of one endpoint, in order. */
export function setupSteps(e: Endpoint): Step[] {
  return [
    // A persistent, single-queue tap: QEMU attaches to it by name (same flags), and it outlives a
    // QEMU crash until teardown removes it.
    { argv: ['ip', 'tuntap', 'add', 'dev', e.tap, 'mode', 'tap'], creates: 'tap' },
    { argv: ['ip', 'link', 'set', 'dev', e.tap, 'mtu', String(e.mtu)] },
    { argv: ['ip', 'link', 'set', 'dev', e.tap, 'up'] },
    { argv: ['tc', 'qdisc', 'add', 'dev', e.veth, 'ingress'], creates: 'veth-qdisc' },
    { argv: ['tc', 'qdisc', 'add', 'dev', e.tap, 'ingress'] },
    { argv: redirect(e.veth, e.tap) },
    { argv: redirect(e.tap, e.veth) },
  ];
}

/** What the shim created for one endpoint, as recorded on disk. */
export interface CreatedForEndpoint {
  veth: string;
  tap: string;
  tapCreated: boolean;
  vethQdisc: boolean;
}

/**
 * Undoing an endpoint: the veth's ingress qdisc (its filters go with it) and the tap (its qdisc and
 * filter go with it). Only what the record says was created here.
 */
export function teardownSteps(c: CreatedForEndpoint): string[][] {
  const out: string[][] = [];
  if (c.vethQdisc) out.push(['tc', 'qdisc', 'del', 'dev', c.veth, 'ingress']);
  if (c.tapCreated) out.push(['ip', 'link', 'del', 'dev', c.tap]);
  return out;
}
