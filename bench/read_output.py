"""The reader of a passthrough benchmark: runs a command with its stdout on a pipe, as a shell
pipeline would, and reads that pipe into one preallocated buffer, so the reader is never the
slowest part (the Node harness reading with 'data' events, one per 4 KiB write, was: it took the
command alone ~200 ms to get 1,000,000 lines through it, against ~110 ms into /dev/null).

Usage: read_output.py COMMAND [ARG...]. The command's stderr passes through. Prints one JSON line:
first_ms and last_ms (when the first and the last byte arrived, from the command's start),
exit_ms, bytes, the exit code, and max_rss_kb (the command's peak RSS, with its children's).
"""
import json
import os
import subprocess
import sys
import time

started = time.perf_counter_ns()
child = subprocess.Popen(sys.argv[1:], stdin=subprocess.DEVNULL, stdout=subprocess.PIPE)
fd = child.stdout.fileno()
buffers = [bytearray(1 << 20)]
first = last = None
total = 0
while True:
    n = os.readv(fd, buffers)
    if n == 0:
        break
    now = time.perf_counter_ns()
    if first is None:
        first = now
    last = now
    total += n
_, status, usage = os.wait4(child.pid, 0)
ended = time.perf_counter_ns()


def ms(t):
    return None if t is None else (t - started) / 1e6


print(json.dumps({
    "first_ms": ms(first),
    "last_ms": ms(last),
    "exit_ms": ms(ended),
    "bytes": total,
    "code": os.waitstatus_to_exitcode(status),
    "max_rss_kb": usage.ru_maxrss,
}))
