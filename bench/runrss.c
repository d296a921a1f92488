/* runrss: runs a command and reports its peak resident set size.

   usage: runrss OUTFILE COMMAND [ARGS...]

   The command's stdout and stderr pass through; OUTFILE gets one line
   "rss_kb=<peak RSS of the command, KiB> cpu=<user+system seconds> status=<exit status>". */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <sys/wait.h>

int main(int argc, char **argv) {
    struct rusage ru;
    int status = 0;
    pid_t pid;
    FILE *f;
    if (argc < 3) {
        fprintf(stderr, "usage: runrss OUTFILE COMMAND [ARGS...]\n");
        return 2;
    }
    pid = fork();
    if (pid < 0) return 1;
    if (pid == 0) {
        execvp(argv[2], argv + 2);
        perror(argv[2]);
        _exit(127);
    }
    if (wait4(pid, &status, 0, &ru) < 0) return 1;
    f = fopen(argv[1], "w");
    if (!f) return 1;
    fprintf(f, "rss_kb=%ld cpu=%.3f status=%d\n", ru.ru_maxrss,
            (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) + (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6,
            WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
    fclose(f);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 1;
}
