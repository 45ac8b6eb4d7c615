"""pty_driver: runs a terminal program (the agent desk, the monitor) on a
pseudo terminal for the integration tests, and takes one command per line
on standard input, answering "ok ..." or "fail ..." on standard output:
  expect TEXT       Ctrl-L (a full repaint), then wait until TEXT is on the
                    screen (escape sequences and blanks ignored)
  type TEXT         type the characters (Python escapes: \\r, \\x1b)
  resize ROWS COLS  resize the terminal (SIGWINCH)
  signal NUMBER     send a signal to the program
  exit              wait for the program to end: "ok exit=N restored=1"
                    or "ok signal=N restored=1" (restored: the alternate
                    screen was left after it was entered)
Usage: pty_driver.py OUTPUT_FILE COMMAND [ARG...]; the raw terminal output
goes to OUTPUT_FILE."""
import fcntl, os, re, select, signal, struct, sys, termios, time

log = open(sys.argv[1], "wb")
argv = sys.argv[2:]
master, slave = os.openpty()

def set_size(fd, rows, cols):
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))

set_size(slave, 24, 80)
pid = os.fork()
if pid == 0:
    os.setsid()
    fcntl.ioctl(slave, termios.TIOCSCTTY, 0)
    for fd in (0, 1, 2):
        os.dup2(slave, fd)
    os.close(master)
    os.environ["TERM"] = "xterm"
    os.execvp(argv[0], argv)
os.close(slave)
out = bytearray()
ended = False

def pump(seconds):
    global ended
    deadline = time.time() + seconds
    while not ended:
        left = deadline - time.time()
        if left <= 0:
            return
        ready, _, _ = select.select([master], [], [], left)
        if not ready:
            return
        try:
            data = os.read(master, 65536)
        except OSError:
            data = b""
        if not data:
            ended = True
            return
        out.extend(data)
        log.write(data)
        log.flush()

ESCAPES = re.compile(rb"\x1b\[[0-9;?>=]*[ -/]*[@-~]|\x1b\][^\x07]*\x07|\x1b[()][0-9A-Za-z]|\x1b.")

def screen_text(raw):
    text = ESCAPES.sub(b"", bytes(raw)).decode("utf-8", "replace")
    return re.sub(r"\s+", "", text)

# Each Ctrl-L makes the program repaint the whole screen, so the text of one
# repaint is the screen, whatever was updated in between.
def expect(text):
    needle = re.sub(r"\s+", "", text)
    deadline = time.time() + 45
    mark = len(out)
    while time.time() < deadline and not ended:
        # What the program wrote before is read first: an earlier screen
        # must not pass for this repaint.
        pump(0.05)
        mark = len(out)
        os.write(master, b"\x0c")
        repaint_end = time.time() + 1
        while time.time() < repaint_end and not ended:
            pump(0.1)
            if needle in screen_text(out[mark:]):
                return "ok"
    return "fail %r not on the screen; it shows: %s" % (text, screen_text(out[mark:])[-600:])

def finish():
    deadline = time.time() + 20
    done = 0
    while done == 0 and time.time() < deadline:
        pump(0.1)
        done, status = os.waitpid(pid, os.WNOHANG)
    if done == 0:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        return "fail the program did not exit"
    restored = int(bytes(out).rfind(b"\x1b[?1049l") > bytes(out).rfind(b"\x1b[?1049h") >= 0)
    if os.WIFSIGNALED(status):
        return "ok signal=%d restored=%d" % (os.WTERMSIG(status), restored)
    return "ok exit=%d restored=%d" % (os.WEXITSTATUS(status), restored)

for line in sys.stdin:
    cmd, _, arg = line.rstrip("\n").partition(" ")
    if cmd == "expect":
        reply = expect(arg)
    elif cmd == "type":
        # Characters beyond Latin-1 become \\u escapes first, so that the
        # escape decoding leaves them whole.
        text = arg.encode("latin-1", "backslashreplace").decode("unicode_escape")
        os.write(master, text.encode("utf-8"))
        pump(0.1)
        reply = "ok"
    elif cmd == "resize":
        rows, cols = (int(v) for v in arg.split())
        set_size(master, rows, cols)
        os.kill(pid, signal.SIGWINCH)
        reply = "ok"
    elif cmd == "signal":
        os.kill(pid, int(arg))
        reply = "ok"
    elif cmd == "exit":
        reply = finish()
    else:
        reply = "fail unknown driver command %r" % cmd
    print(reply, flush=True)
    if cmd == "exit":
        break
