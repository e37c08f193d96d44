/*
 * kata-ts conformance: the program of the imitation nonewprivs image. Installed setuid root and run as
 * uid 1000, it prints its effective uid: 0 when the kernel honoured the setuid bit, 1000 when the
 * container's no_new_privs flag kept the caller's identity (critest's NoNewPrivs specs read this line).
 */
#include <stdio.h>
#include <unistd.h>

int main(void) {
  printf("Effective uid: %d\n", (int)geteuid());
  return 0;
}
