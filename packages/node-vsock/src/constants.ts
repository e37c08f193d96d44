// Well-known AF_VSOCK addresses (linux/vm_sockets.h). Plain numbers here, not read from the addon,
// so that importing them never needs the compiled addon.

/** Bind to any CID (listen on every address of this machine). */
export const VMADDR_CID_ANY = 0xffffffff;
/** The hypervisor itself. */
export const VMADDR_CID_HYPERVISOR = 0;
/** Local loopback (needs the vsock_loopback module). */
export const VMADDR_CID_LOCAL = 1;
/** The host, seen from a guest. */
export const VMADDR_CID_HOST = 2;
/** Let the kernel pick a port. */
export const VMADDR_PORT_ANY = 0xffffffff;

/** A vsock address. */
export interface VsockAddress {
  cid: number;
  port: number;
}

/** "vsock:<cid>:<port>", the form used in error messages. */
export function formatVsockAddress(address: VsockAddress): string {
  return `vsock:${address.cid}:${address.port}`;
}
