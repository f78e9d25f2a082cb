/* gyre-loadgen: what we read about the server from /proc, and small OS helpers.
 *
 * CPU is utime + stime from /proc/<pid>/stat: it covers every thread of the
 * process, including threads that have exited, in clock ticks (usually
 * 10 ms). RSS is VmRSS from /proc/<pid>/status. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <ctype.h>
#include <dirent.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common.h"

int proc_sample(int pid, struct proc_sample *out) {
  char path[64], buf[4096];
  snprintf(path, sizeof path, "/proc/%d/stat", pid);
  FILE *f = fopen(path, "r");
  if (!f) return -1;
  size_t n = fread(buf, 1, sizeof buf - 1, f);
  fclose(f);
  buf[n] = 0;
  /* The command name may hold spaces and parentheses: fields start after
   * the last ')'. Then: state(3) ... utime(14) stime(15) ... threads(20). */
  char *p = strrchr(buf, ')');
  if (!p) return -1;
  p += 2;
  unsigned long long v[20] = {0};
  int field = 3;
  for (char *tok = strtok(p, " "); tok && field <= 20; tok = strtok(NULL, " "), field++)
    if (field >= 14) v[field - 14] = strtoull(tok, NULL, 10);
  out->cpu_ticks = v[0] + v[1];
  out->threads = v[20 - 14];
  snprintf(path, sizeof path, "/proc/%d/status", pid);
  f = fopen(path, "r");
  if (!f) return -1;
  out->rss_kb = 0;
  while (fgets(buf, sizeof buf, f))
    if (strncmp(buf, "VmRSS:", 6) == 0) out->rss_kb = strtoull(buf + 6, NULL, 10);
  fclose(f);
  return 0;
}

/* Inode of a LISTEN socket on `port` in /proc/net/tcp or tcp6, or 0. */
static unsigned long listen_inode(const char *table, int port) {
  FILE *f = fopen(table, "r");
  if (!f) return 0;
  char line[512];
  unsigned long inode = 0;
  if (!fgets(line, sizeof line, f)) line[0] = 0; /* header */
  while (!inode && fgets(line, sizeof line, f)) {
    char local[128], remote[128];
    unsigned st;
    unsigned long ino;
    if (sscanf(line, "%*d: %127s %127s %x %*s %*s %*s %*s %*s %lu", local, remote, &st, &ino) != 4)
      continue;
    const char *colon = strrchr(local, ':');
    if (st == 0x0A && colon && (int)strtol(colon + 1, NULL, 16) == port) inode = ino;
  }
  fclose(f);
  return inode;
}

int proc_find_listener(int port) {
  unsigned long inode = listen_inode("/proc/net/tcp", port);
  if (!inode) inode = listen_inode("/proc/net/tcp6", port);
  if (!inode) return -1;
  char want[64];
  snprintf(want, sizeof want, "socket:[%lu]", inode);
  DIR *proc = opendir("/proc");
  if (!proc) return -1;
  int found = -1;
  struct dirent *de;
  while (found < 0 && (de = readdir(proc))) {
    if (!isdigit((unsigned char)de->d_name[0])) continue;
    char fddir[300];
    snprintf(fddir, sizeof fddir, "/proc/%s/fd", de->d_name);
    DIR *fds = opendir(fddir);
    if (!fds) continue; /* not ours to read */
    struct dirent *fe;
    while ((fe = readdir(fds))) {
      char link[600], target[128];
      snprintf(link, sizeof link, "%s/%s", fddir, fe->d_name);
      ssize_t n = readlink(link, target, sizeof target - 1);
      if (n <= 0) continue;
      target[n] = 0;
      if (strcmp(target, want) == 0) {
        found = atoi(de->d_name);
        break;
      }
    }
    closedir(fds);
  }
  closedir(proc);
  return found;
}

int free_port(void) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in sa = {.sin_family = AF_INET};
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t sl = sizeof sa;
  if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof sa) < 0 ||
      getsockname(fd, (struct sockaddr *)&sa, &sl) < 0)
    return -1;
  close(fd);
  return ntohs(sa.sin_port);
}

void raise_nofile(void) {
  struct rlimit rl;
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
  }
}
