"""
Runs a command and reports what it cost, CPU times to the microsecond (GNU
time prints them in hundredths of a second, too coarse for a 10 ms run):

    python3 bench/procs/rusage.py OUT_FILE command [args...]

The command inherits stdin, stdout and stderr; OUT_FILE receives one JSON
line {"status", "wallMs", "systemMs", "userMs", "maxRssKiB"}. Wall and CPU
times are measured from fork to wait4, so this wrapper's own start-up is not
counted. Peak RSS comes from GNU time run in between: a child forked from
this Python process would count Python's pages until its exec (8 MiB for a
2 MiB `ip`), while GNU time is a small C program, as before this wrapper.
The exit status is passed through.
"""
import json
import os
import sys
import time

out_file, argv = sys.argv[1], sys.argv[2:]
rss_file = out_file + ".rss"
argv = ["/usr/bin/time", "-f", "%M", "-o", rss_file] + argv
start = time.perf_counter()
pid = os.fork()
if pid == 0:
    try:
        os.execv(argv[0], argv)
    finally:
        os._exit(127)
_, status, usage = os.wait4(pid, 0)
wall = time.perf_counter() - start
code = os.waitstatus_to_exitcode(status)
with open(rss_file) as f:
    # "Command exited with non-zero status N" comes first when the command fails.
    max_rss = int(f.read().split()[-1])
os.unlink(rss_file)
with open(out_file, "w") as f:
    f.write(json.dumps({
        "status": code,
        "wallMs": wall * 1000,
        "systemMs": usage.ru_stime * 1000,
        "userMs": usage.ru_utime * 1000,
        "maxRssKiB": max_rss,
    }) + "\n")
sys.exit(code if code >= 0 else 128 - code)
