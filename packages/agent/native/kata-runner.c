// kata-runner: the agent's per-process helper (one per container init or exec process).
//
// Node can neither waitpid() an arbitrary pid nor become a child subreaper, and `crun create` leaves the
// container init as an orphan once crun exits. This helper closes that gap:
//
//   kata-runner run [--tty --console-socket PATH] --pid-file PATH [--drain-ms N] [--fixed-layout] -- crun ARGS...
//
//   fd 0/1/2  the agent's ends of the process's stdin/stdout/stderr (sockets created by Node)
//   fd 3      status, helper -> agent, one line each:  "pid <n>" | "exit <status>" | "fail <crun status>"
//   fd 4      control, agent -> helper, one line each: "resize <rows> <cols>"
//
// --fixed-layout runs crun with ADDR_NO_RANDOMIZE: under TCG, QEMU reuses a translated block only at the
// same virtual address, so a crun loaded at the same addresses every time skips most of its ~100 ms of
// translation (scripts/bench/guest-crun.ts: `crun --version` 96 -> 54 ms, this exec included). crun resets the persona for the
// container's own process (the agent always writes linux.personality), so the workload keeps ASLR.
//
// It becomes a child subreaper, runs crun with real pipes (or, with --tty, receives the pty master crun
// sends to the console socket), reads crun's --pid-file, then pumps bytes between the agent's sockets
// and the process's pipes/pty with bounded buffers (when the agent stops reading, the process blocks),
// waitpid()s every child and orphan (no zombies), and reports the exact exit status: the code, or
// 128+signal. Output written before the exit is still forwarded; the helper then closes fd 1 and 2
// (the agent's EOF). If output stays open after the exit (a daemonised grandchild holds the pipe), it
// gives up after --drain-ms of silence (default 500, as Kata's agent).
//
//   kata-runner shell [--rows R --cols C] -- CMD...
//                                 the debug console (kata-ts exec): CMD in a new session on a new pty
//                                 (job control and line editing need one); fd 0/1 carry the terminal's
//                                 bytes, fd 3 and fd 4 as above ("pid", then "exit"; "resize")
//   kata-runner fixed -- CMD...   CMD with ADDR_NO_RANDOMIZE (the agent's own crun calls: delete, pause,
//                                 resume, under the same --fixed-layout reasoning below)
//   kata-runner poweroff          sync(), then reboot(RB_POWER_OFF)
//   kata-runner settime SEC USEC  settimeofday()
//
// If the agent dies, PR_SET_PDEATHSIG delivers SIGHUP: the helper SIGKILLs its process and exits.
#define _GNU_SOURCE
#include <errno.h>
#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/reboot.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

/* 1 MiB buffers and pipes: under TCG every wake-up of this process and the agent costs more than the
 * bytes it moves, so each one should move as much as the process has written (64 KiB -> 1 MiB: stdout
 * through `ctr run` 16.5 -> 19.5 MB/s). Only pages actually filled are touched. */
#define BUF_SIZE (1024 * 1024)
#define FD_STATUS 3
#define FD_CONTROL 4

/** One direction of copying: src -> buf -> dst. */
struct pump {
  int src, dst;
  char buf[BUF_SIZE];
  size_t len, off;
  int src_eof;     /* src gave EOF (or an error) */
  int close_dst;   /* close dst once the buffer is flushed after EOF */
};

static void die(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fprintf(stderr, "kata-runner: ");
  vfprintf(stderr, fmt, ap);
  fprintf(stderr, "\n");
  va_end(ap);
  exit(125);
}

static void status_line(const char *fmt, ...) {
  char line[128];
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(line, sizeof line, fmt, ap);
  va_end(ap);
  if (n <= 0) return;
  ssize_t w;
  do {
    w = write(FD_STATUS, line, (size_t)n);
  } while (w < 0 && errno == EINTR);
}

static void set_nonblock(int fd) {
  int fl = fcntl(fd, F_GETFL);
  if (fl >= 0) fcntl(fd, F_SETFL, fl | O_NONBLOCK);
}

static long long now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int encode_status(int st) {
  if (WIFEXITED(st)) return WEXITSTATUS(st);
  if (WIFSIGNALED(st)) return 128 + WTERMSIG(st);
  return 255;
}

/* Reads what is available from p->src into an empty buffer. Returns 1 if progress was made. */
static int pump_read(struct pump *p) {
  if (p->src < 0 || p->src_eof || p->len > 0) return 0;
  ssize_t n = read(p->src, p->buf, sizeof p->buf);
  if (n > 0) {
    p->len = (size_t)n;
    p->off = 0;
    return 1;
  }
  if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
    /* EOF, or EIO from a pty master whose slave side is gone. */
    p->src_eof = 1;
    return 1;
  }
  return 0;
}

static int pump_write(struct pump *p) {
  if (p->len == 0 || p->dst < 0) return 0;
  ssize_t n = write(p->dst, p->buf + p->off, p->len);
  if (n > 0) {
    p->off += (size_t)n;
    p->len -= (size_t)n;
    return 1;
  }
  if (n < 0 && (errno == EAGAIN || errno == EINTR)) return 0;
  /* The reader went away: drop what we have and stop forwarding. */
  p->len = 0;
  p->src_eof = 1;
  return 1;
}

/* Closes the destination once the source ended and the buffer is empty. Returns 1 when fully done. */
static int pump_finish(struct pump *p) {
  if (p->src_eof && p->len == 0) {
    if (p->close_dst && p->dst >= 0) {
      close(p->dst);
      p->dst = -1;
    }
    if (p->src >= 0) {
      close(p->src);
      p->src = -1;
    }
    return 1;
  }
  return 0;
}

/* Accepts crun's console-socket connection and receives the pty master (SCM_RIGHTS). */
static int receive_master(int listener) {
  struct pollfd pfd = {.fd = listener, .events = POLLIN};
  if (poll(&pfd, 1, 5000) <= 0) return -1;
  int conn = accept4(listener, NULL, NULL, SOCK_CLOEXEC);
  if (conn < 0) return -1;
  char data[256];
  char control[CMSG_SPACE(sizeof(int) * 4)];
  struct iovec iov = {.iov_base = data, .iov_len = sizeof data};
  struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = control, .msg_controllen = sizeof control};
  int fd = -1;
  ssize_t n;
  do {
    n = recvmsg(conn, &msg, MSG_CMSG_CLOEXEC);
  } while (n < 0 && errno == EINTR);
  if (n >= 0) {
    for (struct cmsghdr *c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
      if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) {
        memcpy(&fd, CMSG_DATA(c), sizeof fd);
        break;
      }
    }
  }
  close(conn);
  return fd;
}

static int listen_console(const char *path) {
  int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (s < 0) die("socket: %s", strerror(errno));
  struct sockaddr_un addr = {.sun_family = AF_UNIX};
  if (strlen(path) >= sizeof addr.sun_path) die("console socket path too long");
  strcpy(addr.sun_path, path);
  unlink(path);
  if (bind(s, (struct sockaddr *)&addr, sizeof addr) < 0) die("bind %s: %s", path, strerror(errno));
  if (listen(s, 1) < 0) die("listen: %s", strerror(errno));
  return s;
}

static int read_pid_file(const char *path) {
  char buf[32] = {0};
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return -1;
  ssize_t n = read(fd, buf, sizeof buf - 1);
  close(fd);
  if (n <= 0) return -1;
  return atoi(buf);
}

/* Control lines from the agent. */
static char ctl_buf[256];
static size_t ctl_len;

static void handle_control(int master) {
  ssize_t n = read(FD_CONTROL, ctl_buf + ctl_len, sizeof ctl_buf - 1 - ctl_len);
  if (n <= 0) {
    if (n == 0 || (errno != EAGAIN && errno != EINTR)) ctl_len = (size_t)-1;
    return;
  }
  ctl_len += (size_t)n;
  ctl_buf[ctl_len] = 0;
  char *nl;
  while ((nl = memchr(ctl_buf, '\n', ctl_len)) != NULL) {
    *nl = 0;
    unsigned rows, cols;
    if (sscanf(ctl_buf, "resize %u %u", &rows, &cols) == 2 && master >= 0) {
      struct winsize ws = {.ws_row = (unsigned short)rows, .ws_col = (unsigned short)cols};
      ioctl(master, TIOCSWINSZ, &ws);
    }
    size_t used = (size_t)(nl - ctl_buf) + 1;
    memmove(ctl_buf, nl + 1, ctl_len - used);
    ctl_len -= used;
  }
  if (ctl_len >= sizeof ctl_buf - 1) ctl_len = 0; /* an overlong line: drop it */
}

#define MAX_EARLY 64
static struct {
  pid_t pid;
  int status;
} early[MAX_EARLY];
static int n_early;

/* ADDR_NO_RANDOMIZE for what this process execs next (--fixed-layout and `fixed`; see the top). */
static int fix_layout(void) {
  return personality(personality(0xffffffff) | ADDR_NO_RANDOMIZE) < 0 ? -1 : 0;
}

static int cmd_run(int argc, char **argv) {
  const char *pid_file = NULL, *console_socket = NULL;
  int tty = 0, drain_ms = 500, fixed_layout = 0, i;
  for (i = 2; i < argc; i++) {
    if (!strcmp(argv[i], "--")) {
      i++;
      break;
    } else if (!strcmp(argv[i], "--tty")) {
      tty = 1;
    } else if (!strcmp(argv[i], "--console-socket") && i + 1 < argc) {
      console_socket = argv[++i];
    } else if (!strcmp(argv[i], "--pid-file") && i + 1 < argc) {
      pid_file = argv[++i];
    } else if (!strcmp(argv[i], "--drain-ms") && i + 1 < argc) {
      drain_ms = atoi(argv[++i]);
    } else if (!strcmp(argv[i], "--fixed-layout")) {
      fixed_layout = 1;
    } else {
      die("unknown argument %s", argv[i]);
    }
  }
  if (i >= argc || !pid_file) die("usage: kata-runner run [--tty --console-socket P] --pid-file P -- cmd...");
  if (tty && !console_socket) die("--tty needs --console-socket");

  prctl(PR_SET_CHILD_SUBREAPER, 1);
  prctl(PR_SET_PDEATHSIG, SIGHUP);
  if (getppid() == 1) exit(125); /* the agent is already gone */

  sigset_t mask;
  sigemptyset(&mask);
  sigaddset(&mask, SIGCHLD);
  sigaddset(&mask, SIGHUP);
  sigaddset(&mask, SIGTERM);
  sigaddset(&mask, SIGINT);
  sigprocmask(SIG_BLOCK, &mask, NULL);
  int sfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
  if (sfd < 0) die("signalfd: %s", strerror(errno));
  signal(SIGPIPE, SIG_IGN);

  int listener = tty ? listen_console(console_socket) : -1;
  int in_p[2], out_p[2], err_p[2];
  if (pipe2(in_p, O_CLOEXEC) || pipe2(out_p, O_CLOEXEC) || pipe2(err_p, O_CLOEXEC)) die("pipe: %s", strerror(errno));
  fcntl(out_p[0], F_SETPIPE_SZ, BUF_SIZE);
  fcntl(in_p[0], F_SETPIPE_SZ, BUF_SIZE);

  pid_t crun = fork();
  if (crun < 0) die("fork: %s", strerror(errno));
  if (crun == 0) {
    sigprocmask(SIG_UNBLOCK, &mask, NULL);
    signal(SIGPIPE, SIG_DFL);
    prctl(PR_SET_PDEATHSIG, 0);
    if (tty) {
      /* With a terminal the process gets the pty; crun's own stdio only carries its diagnostics. */
      int devnull = open("/dev/null", O_RDWR);
      dup2(devnull, 0);
      dup2(devnull, 1);
    } else {
      dup2(in_p[0], 0);
      dup2(out_p[1], 1);
    }
    dup2(err_p[1], 2);
    for (int fd = 3; fd < 1024; fd++) close(fd);
    if (fixed_layout && fix_layout() < 0)
      fprintf(stderr, "kata-runner: personality: %s\n", strerror(errno));
    execvp(argv[i], argv + i);
    fprintf(stderr, "kata-runner: exec %s: %s\n", argv[i], strerror(errno));
    _exit(127);
  }
  close(in_p[0]);
  close(out_p[1]);
  close(err_p[1]);

  set_nonblock(0);
  set_nonblock(1);
  set_nonblock(2);
  set_nonblock(FD_CONTROL);
  set_nonblock(in_p[1]);
  set_nonblock(out_p[0]);
  set_nonblock(err_p[0]);

  static struct pump in, out, err;
  /* With --tty, stdin and stdout wait for the pty master (stdin bytes are held until it arrives). */
  in = (struct pump){.src = 0, .dst = tty ? -1 : in_p[1], .close_dst = !tty};
  out = (struct pump){.src = tty ? -1 : out_p[0], .dst = 1, .close_dst = 1};
  if (tty) {
    close(in_p[1]);
    close(out_p[0]);
  }
  err = (struct pump){.src = err_p[0], .dst = 2, .close_dst = 1};
  int master = -1;
  int crun_done = 0, crun_status = 0;
  pid_t main_pid = -1;
  int main_done = 0, main_status = 0;
  int control_open = 1;
  long long exit_at = 0, last_output = 0;

  for (;;) {
    struct pollfd fds[8];
    struct pump *owner[8];
    short kind[8]; /* 0 read, 1 write */
    int n = 0;
    fds[n] = (struct pollfd){.fd = sfd, .events = POLLIN};
    owner[n] = NULL;
    kind[n++] = 2;
    if (control_open) {
      fds[n] = (struct pollfd){.fd = FD_CONTROL, .events = POLLIN};
      owner[n] = NULL;
      kind[n++] = 3;
    }
    struct pump *pumps[3] = {&in, &out, &err};
    for (int k = 0; k < 3; k++) {
      struct pump *p = pumps[k];
      if (p->src >= 0 && !p->src_eof && p->len == 0) {
        fds[n] = (struct pollfd){.fd = p->src, .events = POLLIN};
        owner[n] = p;
        kind[n++] = 0;
      } else if (p->len > 0 && p->dst >= 0) {
        fds[n] = (struct pollfd){.fd = p->dst, .events = POLLOUT};
        owner[n] = p;
        kind[n++] = 1;
      }
    }
    int timeout = -1;
    int buffers_empty = out.len == 0 && err.len == 0;
    if (main_done && buffers_empty) {
      long long left = last_output + drain_ms - now_ms();
      timeout = left > 0 ? (int)left : 0;
    }
    int r = poll(fds, (nfds_t)n, timeout);
    if (r < 0 && errno != EINTR) die("poll: %s", strerror(errno));

    for (int k = 0; r > 0 && k < n; k++) {
      if (!fds[k].revents) continue;
      if (kind[k] == 2) {
        struct signalfd_siginfo si;
        while (read(sfd, &si, sizeof si) == sizeof si) {
          if (si.ssi_signo == SIGHUP || si.ssi_signo == SIGTERM || si.ssi_signo == SIGINT) {
            /* The agent died (PDEATHSIG) or asked us to stop: take the process down with us. */
            if (main_pid > 0 && !main_done) kill(main_pid, SIGKILL);
            if (!crun_done) kill(crun, SIGKILL);
          }
        }
        int st;
        pid_t pid;
        while ((pid = waitpid(-1, &st, WNOHANG | __WALL)) > 0) {
          if (pid == crun) {
            crun_done = 1;
            crun_status = st;
          } else if (pid == main_pid) {
            main_done = 1;
            main_status = st;
          } else if (n_early < MAX_EARLY) {
            early[n_early].pid = pid;
            early[n_early++].status = st;
          }
        }
      } else if (kind[k] == 3) {
        handle_control(master);
        if (ctl_len == (size_t)-1) {
          control_open = 0;
          ctl_len = 0;
        }
      } else if (kind[k] == 0) {
        if (pump_read(owner[k]) && owner[k] != &in) last_output = now_ms();
      } else {
        pump_write(owner[k]);
      }
    }

    if (crun_done == 1) {
      crun_done = 2;
      if (!WIFEXITED(crun_status) || WEXITSTATUS(crun_status) != 0) {
        /* crun failed: its message is on stderr (forwarded already); report and finish. */
        status_line("fail %d\n", encode_status(crun_status));
        main_done = 1;
        main_status = -1;
        exit_at = now_ms();
        last_output = exit_at;
      } else {
        main_pid = read_pid_file(pid_file);
        if (main_pid <= 0) {
          status_line("fail 125\n");
          main_done = 1;
          main_status = -1;
          last_output = now_ms();
        } else {
          if (tty) {
            master = receive_master(listener);
            close(listener);
            listener = -1;
            unlink(console_socket);
            if (master < 0) {
              kill(main_pid, SIGKILL);
              out.src_eof = 1;
            } else {
              set_nonblock(master);
              /* Both directions go through the pty; crun's stderr pipe is still drained into fd 2. */
              in.dst = master;
              out.src = master;
            }
          }
          status_line("pid %d\n", main_pid);
          for (int k = 0; k < n_early; k++) {
            if (early[k].pid == main_pid) {
              main_done = 1;
              main_status = early[k].status;
            }
          }
          n_early = 0;
        }
      }
    }
    if (main_done == 1) {
      main_done = 2;
      if (main_status != -1) status_line("exit %d\n", encode_status(main_status));
      exit_at = now_ms();
      if (last_output < exit_at) last_output = exit_at;
    }

    pump_finish(&in); /* with a tty, stdin EOF never closes the pty master (close_dst is 0) */
    int out_done = pump_finish(&out);
    int err_done = pump_finish(&err);
    if (main_done == 2) {
      int silent = out.len == 0 && err.len == 0 && now_ms() - last_output >= drain_ms;
      if ((out_done && err_done) || silent) break;
    }
  }
  /* Reap anything still around (orphans that exited meanwhile), then leave. */
  while (waitpid(-1, NULL, WNOHANG | __WALL) > 0) {
  }
  if (master >= 0) close(master);
  return 0;
}

/* Signals every process of session `sid` (the shell and its jobs, which job control puts in process
 * groups of their own). */
static void kill_session(pid_t sid, int sig) {
  char path[64], buf[512];
  DIR *d = opendir("/proc");
  if (!d) {
    kill(-sid, sig);
    return;
  }
  struct dirent *e;
  while ((e = readdir(d)) != NULL) {
    pid_t p = (pid_t)atoi(e->d_name);
    if (p <= 0) continue;
    snprintf(path, sizeof path, "/proc/%d/stat", (int)p);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) continue;
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n <= 0) continue;
    buf[n] = 0;
    /* After the command name's closing parenthesis: state ppid pgrp session. */
    char *rp = strrchr(buf, ')');
    int ppid, pgrp, session;
    char state;
    if (rp && sscanf(rp + 1, " %c %d %d %d", &state, &ppid, &pgrp, &session) == 4 && session == sid) kill(p, sig);
  }
  closedir(d);
}

/* The debug console: CMD as the leader of a new session whose controlling terminal is a new pty,
 * its bytes pumped between fd 0/1 and the pty master (bounded buffers, as cmd_run). */
static int cmd_shell(int argc, char **argv) {
  unsigned rows = 0, cols = 0;
  int i, drain_ms = 500;
  for (i = 2; i < argc; i++) {
    if (!strcmp(argv[i], "--")) {
      i++;
      break;
    } else if (!strcmp(argv[i], "--rows") && i + 1 < argc) {
      rows = (unsigned)atoi(argv[++i]);
    } else if (!strcmp(argv[i], "--cols") && i + 1 < argc) {
      cols = (unsigned)atoi(argv[++i]);
    } else {
      die("unknown argument %s", argv[i]);
    }
  }
  if (i >= argc) die("usage: kata-runner shell [--rows R --cols C] -- cmd...");

  prctl(PR_SET_CHILD_SUBREAPER, 1);
  prctl(PR_SET_PDEATHSIG, SIGHUP);
  if (getppid() == 1) exit(125);
  sigset_t mask;
  sigemptyset(&mask);
  sigaddset(&mask, SIGCHLD);
  sigaddset(&mask, SIGHUP);
  sigaddset(&mask, SIGTERM);
  sigaddset(&mask, SIGINT);
  sigprocmask(SIG_BLOCK, &mask, NULL);
  int sfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
  if (sfd < 0) die("signalfd: %s", strerror(errno));
  signal(SIGPIPE, SIG_IGN);

  int master = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (master < 0 || grantpt(master) < 0 || unlockpt(master) < 0) die("pty: %s", strerror(errno));
  const char *slave_name = ptsname(master);
  if (!slave_name) die("ptsname: %s", strerror(errno));
  if (rows && cols) {
    struct winsize ws = {.ws_row = (unsigned short)rows, .ws_col = (unsigned short)cols};
    ioctl(master, TIOCSWINSZ, &ws);
  }
  pid_t pid = fork();
  if (pid < 0) die("fork: %s", strerror(errno));
  if (pid == 0) {
    sigprocmask(SIG_UNBLOCK, &mask, NULL);
    signal(SIGPIPE, SIG_DFL);
    prctl(PR_SET_PDEATHSIG, 0);
    /* A session of its own, the pty its controlling terminal: ^C and ^Z reach the shell's jobs. */
    if (setsid() < 0) _exit(126);
    int slave = open(slave_name, O_RDWR);
    if (slave < 0 || ioctl(slave, TIOCSCTTY, 0) < 0) _exit(126);
    dup2(slave, 0);
    dup2(slave, 1);
    dup2(slave, 2);
    for (int fd = 3; fd < 1024; fd++) close(fd);
    execvp(argv[i], argv + i);
    fprintf(stderr, "kata-runner: exec %s: %s\r\n", argv[i], strerror(errno));
    _exit(127);
  }
  status_line("pid %d\n", pid);
  set_nonblock(0);
  set_nonblock(1);
  set_nonblock(FD_CONTROL);
  set_nonblock(master);

  static struct pump in, out;
  /* The agent closing stdin does not end the shell (the host hangs up by killing us instead). */
  in = (struct pump){.src = 0, .dst = master, .close_dst = 0};
  out = (struct pump){.src = master, .dst = 1, .close_dst = 1};
  int done = 0, status = 0, control_open = 1;
  long long last_output = now_ms();
  for (;;) {
    struct pollfd fds[4];
    struct pump *owner[4];
    short kind[4];
    int n = 0;
    fds[n] = (struct pollfd){.fd = sfd, .events = POLLIN};
    owner[n] = NULL;
    kind[n++] = 2;
    if (control_open) {
      fds[n] = (struct pollfd){.fd = FD_CONTROL, .events = POLLIN};
      owner[n] = NULL;
      kind[n++] = 3;
    }
    struct pump *pumps[2] = {&in, &out};
    for (int k = 0; k < 2; k++) {
      struct pump *p = pumps[k];
      if (p->src >= 0 && !p->src_eof && p->len == 0) {
        fds[n] = (struct pollfd){.fd = p->src, .events = POLLIN};
        owner[n] = p;
        kind[n++] = 0;
      } else if (p->len > 0 && p->dst >= 0) {
        fds[n] = (struct pollfd){.fd = p->dst, .events = POLLOUT};
        owner[n] = p;
        kind[n++] = 1;
      }
    }
    int timeout = -1;
    if (done && out.len == 0) {
      long long left = last_output + drain_ms - now_ms();
      timeout = left > 0 ? (int)left : 0;
    }
    int r = poll(fds, (nfds_t)n, timeout);
    if (r < 0 && errno != EINTR) die("poll: %s", strerror(errno));
    for (int k = 0; r > 0 && k < n; k++) {
      if (!fds[k].revents) continue;
      if (kind[k] == 2) {
        struct signalfd_siginfo si;
        while (read(sfd, &si, sizeof si) == sizeof si) {
          /* The agent died or ended the session: the shell's whole session goes. */
          if ((si.ssi_signo == SIGHUP || si.ssi_signo == SIGTERM || si.ssi_signo == SIGINT) && !done) kill_session(pid, SIGKILL);
        }
        int st;
        pid_t w;
        while ((w = waitpid(-1, &st, WNOHANG | __WALL)) > 0) {
          if (w == pid && !done) {
            done = 1;
            status = st;
            if (last_output < now_ms()) last_output = now_ms();
          }
        }
      } else if (kind[k] == 3) {
        handle_control(master);
        if (ctl_len == (size_t)-1) {
          control_open = 0;
          ctl_len = 0;
        }
      } else if (kind[k] == 0) {
        if (pump_read(owner[k]) && owner[k] == &out) last_output = now_ms();
      } else {
        pump_write(owner[k]);
      }
    }
    pump_finish(&in);
    int out_done = pump_finish(&out);
    /* The pty ends (EIO) once every holder of the slave is gone; a background job keeping it open
     * is given drain_ms of silence, as cmd_run gives a daemonised grandchild. */
    if (done && (out_done || (out.len == 0 && now_ms() - last_output >= drain_ms))) break;
  }
  status_line("exit %d\n", encode_status(status));
  /* As a terminal hangup: jobs left behind get SIGHUP (those that ignore it, as with nohup, stay). */
  kill_session(pid, SIGHUP);
  while (waitpid(-1, NULL, WNOHANG | __WALL) > 0) {
  }
  return 0;
}

int main(int argc, char **argv) {
  if (argc >= 2 && !strcmp(argv[1], "run")) return cmd_run(argc, argv);
  if (argc >= 2 && !strcmp(argv[1], "shell")) return cmd_shell(argc, argv);
  if (argc >= 4 && !strcmp(argv[1], "fixed") && !strcmp(argv[2], "--")) {
    if (fix_layout() < 0) die("personality: %s", strerror(errno));
    execvp(argv[3], argv + 3);
    die("exec %s: %s", argv[3], strerror(errno));
  }
  if (argc == 2 && !strcmp(argv[1], "poweroff")) {
    sync();
    reboot(RB_POWER_OFF);
    die("reboot(RB_POWER_OFF): %s", strerror(errno));
  }
  if (argc == 4 && !strcmp(argv[1], "settime")) {
    struct timeval tv = {.tv_sec = atoll(argv[2]), .tv_usec = atol(argv[3])};
    if (settimeofday(&tv, NULL) < 0) die("settimeofday: %s", strerror(errno));
    return 0;
  }
  fprintf(stderr, "usage: kata-runner run|shell|fixed|poweroff|settime ...\n");
  return 2;
}
