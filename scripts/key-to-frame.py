#!/usr/bin/env python3
"""Key to frame: the time from writing a key to the dashboard's pty to the
first byte of the frame that answers it. A benchmark, not a test.

usage: key-to-frame.py BINARY HOME [KEYS]

The dashboard runs on the sandbox in an 80x24 pty with HOME's stacks. Each
key (`?`, which opens or closes the help, so every key changes the screen)
is sent only after 60 ms without output, so a background redraw (the
clock's tick, once a second) is not taken for the answer.
"""

import fcntl
import os
import pty
import select
import statistics
import struct
import sys
import termios
import time

QUIET = 0.060
TIMEOUT = 5.0


def read_some(fd, wait):
    ready, _, _ = select.select([fd], [], [], wait)
    if not ready:
        return b""
    try:
        return os.read(fd, 65536)
    except OSError:
        return b""


def settle(fd):
    """Read until QUIET seconds pass with nothing new."""
    deadline = time.monotonic() + TIMEOUT
    while time.monotonic() < deadline:
        if not read_some(fd, QUIET):
            return
    raise SystemExit("error: the dashboard never went quiet")


def main():
    if len(sys.argv) < 3:
        raise SystemExit(__doc__)
    binary, home = sys.argv[1], sys.argv[2]
    keys = int(sys.argv[3]) if len(sys.argv) > 3 else 40
    pid, fd = pty.fork()
    if pid == 0:
        fcntl.ioctl(0, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 80, 0, 0))
        env = dict(os.environ, GEUSEMAKER_HOME=home, TERM="xterm-256color")
        env["GEUSEMAKER_CALLER_CIDR"] = "198.51.100.23/32"
        os.execve(binary, [binary, "--sandbox"], env)
    try:
        # The first frame, and whatever the start draws after it.
        if not read_some(fd, TIMEOUT):
            raise SystemExit("error: no first frame")
        settle(fd)
        times = []
        for _ in range(keys):
            settle(fd)
            sent = time.monotonic()
            os.write(fd, b"?")
            if not read_some(fd, TIMEOUT):
                raise SystemExit("error: a key got no frame")
            times.append((time.monotonic() - sent) * 1000)
        os.write(fd, b"q")
    finally:
        try:
            os.kill(pid, 15)
        except ProcessLookupError:
            pass
        os.waitpid(pid, 0)
    times.sort()
    p90 = times[int(len(times) * 0.9) - 1]
    print(
        f"key to frame over {len(times)} keys: median {statistics.median(times):.2f} ms, "
        f"p90 {p90:.2f} ms, min {times[0]:.2f} ms, max {times[-1]:.2f} ms"
    )


if __name__ == "__main__":
    main()
