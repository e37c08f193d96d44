/**
 * The guest kernel command line, composed as Kata's qemu.go kernelParameters does: the amd64 base
 * list, the console, quiet or debug, panic=1 (with -no-reboot a guest panic ends QEMU), the root
 * device when booting an image, the agent's parameters, then the user's kernel_params (later wins).
 */

/** Kata's amd64 defaults (qemu_amd64.go). */
export const BASE_KERNEL_PARAMS = [
  'tsc=reliable', 'no_timer_check', 'rcupdate.rcu_expedited=1', 'i8042.direct=1', 'i8042.dumbkbd=1', 'i8042.nopnp=1',
  'i8042.noaux=1', 'noreplace-smp', 'reboot=k', 'cryptomgr.notests', 'pci=lastbus=0',
] as const;

export interface KernelParamsInput {
  debug: boolean;
  agentDebug: boolean;
  /** Set when booting a root image attached as /dev/vda. */
  rootfsType?: string;
  /** The configuration's kernel_params (space separated). */
  user: string;
  /** Under TCG the agent runs crun at fixed addresses, so QEMU's translation of it is reused. */
  tcg?: boolean;
}

export function kernelParams(input: KernelParamsInput): string[] {
  // Hot-plugged memory goes online as the kernel adds it (Kata's guest kernel is built that way;
  // Debian's needs the parameter), so there is no window in which a DIMM is present but unusable.
  const params: string[] = [...BASE_KERNEL_PARAMS, 'memhp_default_state=online', 'console=ttyS0'];
  params.push(input.debug ? 'debug' : 'quiet', 'panic=1');
  if (input.debug) params.push('kata_ts.debug=1');
  if (input.rootfsType) params.push('root=/dev/vda', `rootfstype=${input.rootfsType}`);
  if (input.agentDebug) params.push('agent.log=debug');
  if (input.tcg) params.push('kata_ts.crun_fixed_layout=1');
  params.push(...input.user.split(/\s+/).filter(Boolean));
  return params;
}
