"""
Runs a command and reports what it cost, with microsecond resolution (GNU
time prints CPU times in hundredths of a second, too coarse for a 10 ms run):

    python3 bench/procs/rusage.py OUT_FILE command [args...]

The command inherits stdin, stdout and stderr; OUT_FILE receives one JSON
line {"status", "wallMs", "systemMs", "userMs", "maxRssKiB"}, measured from
fork to wait4 (so the wrapper's own start-up is not counted). The exit status
is passed through.
"""
import json
import os
import sys
import time

out_file, argv = sys.argv[1], sys.argv[2:]
start = time.perf_counter()
pid = os.fork()
if pid == 0:
    try:
        os.execvp(argv[0], argv)
    finally:
        os._exit(127)
_, status, usage = os.wait4(pid, 0)
wall = time.perf_counter() - start
code = os.waitstatus_to_exitcode(status)
with open(out_file, "w") as f:
    f.write(json.dumps({
        "status": code,
        "wallMs": wall * 1000,
        "systemMs": usage.ru_stime * 1000,
        "userMs": usage.ru_utime * 1000,
        "maxRssKiB": usage.ru_maxrss,
    }) + "\n")
sys.exit(code if code >= 0 else 128 - code)
