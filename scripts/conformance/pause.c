/*
 * kata-ts conformance: the program of the imitation pause images (the sandbox image and
 * registry.k8s.io/pause:3.9). Like Kubernetes' pause it sleeps until SIGINT or SIGTERM and, being pid 1
 * of a pod's shared pid namespace, reaps the zombies handed to it. Its process name is "pause": a
 * sandbox running `sleep` would be found by critest's `pgrep sleep` checks.
 */
#include <signal.h>
#include <stddef.h>
#include <sys/wait.h>
#include <unistd.h>

static void quit(int sig) {
  (void)sig;
  _exit(0);
}

static void reap(int sig) {
  (void)sig;
  while (waitpid(-1, NULL, WNOHANG) > 0) {
  }
}

int main(void) {
  struct sigaction sa = {0};
  sa.sa_handler = quit;
  sigaction(SIGINT, &sa, NULL);
  sigaction(SIGTERM, &sa, NULL);
  sa.sa_handler = reap;
  sa.sa_flags = SA_NOCLDSTOP;
  sigaction(SIGCHLD, &sa, NULL);
  for (;;) pause();
}
