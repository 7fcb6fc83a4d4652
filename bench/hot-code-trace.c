/* Single-steps a program under ptrace and appends to OUT, in the order first executed, every
   instruction address it runs inside [LO, HI): one hexadecimal address per line, each once.
   bench/hot-code-order.sh uses it to learn which code a sealing run executes on this CPU
   (valgrind would run the code paths of its own emulated CPU instead).

   Usage: hot-code-trace OUT LO HI PROGRAM [ARGS...]   (LO, HI in hexadecimal) */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/ptrace.h>
#include <sys/user.h>
#include <sys/wait.h>
#include <unistd.h>

int main(int argc, char **argv) {
  if (argc < 5) {
    fprintf(stderr, "usage: hot-code-trace OUT LO HI PROGRAM [ARGS...]\n");
    return 2;
  }
  FILE *out = fopen(argv[1], "a");
  uint64_t lo = strtoull(argv[2], NULL, 16), hi = strtoull(argv[3], NULL, 16);
  uint8_t *seen = calloc((hi - lo) / 8 + 1, 1);
  if (!out || !seen || hi <= lo) {
    perror("hot-code-trace");
    return 2;
  }
  pid_t pid = fork();
  if (pid == 0) {
    ptrace(PTRACE_TRACEME, 0, NULL, NULL);
    execv(argv[4], argv + 4);
    _exit(127);
  }
  int status;
  waitpid(pid, &status, 0); /* stopped at the exec */
  for (;;) {
    struct user_regs_struct regs;
    if (ptrace(PTRACE_GETREGS, pid, NULL, &regs) < 0) break;
    uint64_t ip = regs.rip;
    if (ip >= lo && ip < hi) {
      uint64_t o = ip - lo;
      if (!(seen[o >> 3] & (1u << (o & 7)))) {
        seen[o >> 3] |= 1u << (o & 7);
        fprintf(out, "%llx\n", (unsigned long long)ip);
      }
    }
    if (ptrace(PTRACE_SINGLESTEP, pid, NULL, NULL) < 0) break;
    if (waitpid(pid, &status, 0) < 0 || WIFEXITED(status) || WIFSIGNALED(status)) break;
  }
  fclose(out);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    fprintf(stderr, "hot-code-trace: the traced program failed\n");
    return 1;
  }
  return 0;
}
