#!/usr/bin/env bash
# test_agent: callfloor-agent as an agent and a script use it. In --script
# mode: whoami with a Chinese display name and team, changing one's own
# password (the old one then fails, the new one works), every exit status
# (0 done, 1 login refused, 2 wrong usage, 3 no connection or connection
# lost). On a pseudo terminal: the desk draws the Chinese name, survives a
# resize, reconnects after the daemon restarts and shows the server's
# reason meanwhile, changes the password inside the screen, shows why an
# administrator ended the session, and restores the terminal on q and on
# SIGTERM.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR
# shellcheck source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

AGENT=$CF_BUILD/bin/callfloor-agent
# The agent's password; the administrator's stays in the environment for
# callfloorctl and the harness.
ZW_PASSWORD=zhangwei-password-1

# agent ARG...: callfloor-agent as zhangwei, with $ZW_PASSWORD.
agent() {
    CALLFLOOR_USER=zhangwei CALLFLOOR_PASSWORD=$ZW_PASSWORD "$AGENT" "$@"
}

# Reads JSON lines on standard input; line N (from 1) must satisfy a Python
# expression on `doc`, e.g. json_line 1 'doc["ok"]'.
json_line() {
    python3 -c '
import json, sys
lines = sys.stdin.read().splitlines()
n = int(sys.argv[1])
if len(lines) < n:
    sys.exit("only %d output lines, wanted line %d: %r" % (len(lines), n, lines))
doc = json.loads(lines[n - 1])
if not eval("(" + sys.argv[2] + ")"):
    sys.exit("assertion failed on line %d: %s\n%s" % (n, sys.argv[2], lines[n - 1]))
' "$1" "$2"
}

expect_json_line() {
    json_line "$1" "$2" <<<"$CF_LAST_OUTPUT" || cf_fail "unexpected --script output:
$CF_LAST_OUTPUT"
}

# ---- the desk on a pseudo terminal ----

# A driver that runs the desk on a pseudo terminal and takes one command
# per line, answering "ok ..." or "fail ...":
#   expect TEXT       Ctrl-L (a full repaint), then wait until TEXT is on
#                     the screen (escape sequences and blanks ignored)
#   type TEXT         type the characters (Python escapes: \r, \x1b)
#   resize ROWS COLS  resize the terminal (SIGWINCH)
#   signal NUMBER     send a signal to the desk
#   exit              wait for the desk to end: "ok exit=N restored=1"
#                     or "ok signal=N restored=1"
write_driver() {
    cat >"$CF_WORK/desk_driver.py" <<'EOF'
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

# Each Ctrl-L makes the desk repaint the whole screen, so the text of one
# repaint is the screen, whatever was updated in between.
def expect(text):
    needle = re.sub(r"\s+", "", text)
    deadline = time.time() + 45
    mark = len(out)
    while time.time() < deadline and not ended:
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
        return "fail the desk did not exit"
    restored = int(bytes(out).rfind(b"\x1b[?1049l") > bytes(out).rfind(b"\x1b[?1049h") >= 0)
    if os.WIFSIGNALED(status):
        return "ok signal=%d restored=%d" % (os.WTERMSIG(status), restored)
    return "ok exit=%d restored=%d" % (os.WEXITSTATUS(status), restored)

for line in sys.stdin:
    cmd, _, arg = line.rstrip("\n").partition(" ")
    if cmd == "expect":
        reply = expect(arg)
    elif cmd == "type":
        os.write(master, arg.encode().decode("unicode_escape").encode("utf-8"))
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
EOF
}

DESK_PID=
DESK_REPLY=

# desk_start NAME [AGENT ARG...]: the desk on a new pseudo terminal, its
# driver reached through two FIFOs; the raw terminal output goes to
# $CF_WORK/desk-NAME.out.
desk_start() {
    local name=$1
    shift
    rm -f "$CF_WORK/desk.in" "$CF_WORK/desk.reply"
    mkfifo "$CF_WORK/desk.in" "$CF_WORK/desk.reply"
    python3 "$CF_WORK/desk_driver.py" "$CF_WORK/desk-$name.out" \
        env CALLFLOOR_USER=zhangwei CALLFLOOR_PASSWORD="$ZW_PASSWORD" "$AGENT" "$@" \
        <"$CF_WORK/desk.in" >"$CF_WORK/desk.reply" &
    DESK_PID=$!
    exec 8>"$CF_WORK/desk.in" 9<"$CF_WORK/desk.reply"
}

# desk COMMAND: one driver command; fails the test unless it answers ok.
desk() {
    printf '%s\n' "$*" >&8
    read -r DESK_REPLY <&9 || cf_fail "the desk driver ended during '$*'"
    [[ $DESK_REPLY == ok* ]] || cf_fail "desk: '$*': $DESK_REPLY"
}

# desk_exit: waits for the desk to end; DESK_REPLY says how it ended.
desk_exit() {
    desk exit
    exec 8>&- 9<&-
    wait "$DESK_PID" || true
    DESK_PID=
}

stop_desk() {
    [ -z "$DESK_PID" ] || kill "$DESK_PID" 2>/dev/null || true
}

cf_setup agent

# ---- no server needed ----
cf_expect_exit 0 agent --help
for text in "Usage:" "--script" "CALLFLOOR_SERVER" "CALLFLOOR_PASSWORD" "Exit status"; do
    grep -qF -- "$text" <<<"$CF_LAST_OUTPUT" || cf_fail "--help does not mention $text"
done
cf_expect_exit 0 agent -V
grep -q "callfloor-agent" <<<"$CF_LAST_OUTPUT" || cf_fail "--version does not name the program"
cf_expect_exit 2 agent --frobnicate
grep -q -- "--help" <<<"$CF_LAST_OUTPUT" || cf_fail "an unknown option does not point at --help"
cf_expect_exit 2 agent --script stray-argument
cf_expect_exit 2 agent --script --server
# The desk needs a terminal; without one it says to use --script.
cf_expect_exit 2 agent </dev/null
grep -q -- "--script" <<<"$CF_LAST_OUTPUT" || cf_fail "no terminal and no hint at --script"
CALLFLOOR_SERVER=127.0.0.1:1 cf_expect_exit 3 agent --script <<<whoami
expect_json_line 1 'doc["ok"] is False and doc["code"] == "CONNECT_FAILED"'

cf_start_daemon
cf_expect_exit 0 cf_ctl team add 一组
cf_expect_exit 0 cf_ctl user add zhangwei --role agent --team 一组 --display-name 张伟 \
    <<<'zhangwei-password-1'

# ---- script mode ----
cf_expect_exit 0 agent --script <<<$'whoami\nping\nfrobnicate\n\nquit\nwhoami'
expect_json_line 1 'doc == {"ok": True, "username": "zhangwei", "display_name": "张伟",
                           "role": "agent", "team": "一组"}'
expect_json_line 2 'doc["ok"] is True and isinstance(doc["rtt_ms"], int) and doc["rtt_ms"] >= 0'
expect_json_line 3 'doc["ok"] is False and doc["code"] == "USAGE" and "frobnicate" in doc["error"]
                    and "whoami, passwd, ping, quit" in doc["error"]'
[ "$(wc -l <<<"$CF_LAST_OUTPUT")" = 3 ] || cf_fail "commands after quit ran: $CF_LAST_OUTPUT"
# The end of the input ends the run like quit; so does an empty input.
cf_expect_exit 0 agent --script <<<"whoami"
expect_json_line 1 'doc["username"] == "zhangwei"'
cf_expect_exit 0 agent --script </dev/null
[ -z "$CF_LAST_OUTPUT" ] || cf_fail "an empty script printed: $CF_LAST_OUTPUT"
# Commands from a regular file work as from a pipe.
printf 'whoami\r\nquit\r\n' >"$CF_WORK/commands"
cf_expect_exit 0 agent --script <"$CF_WORK/commands"
expect_json_line 1 'doc["display_name"] == "张伟"'

# Wrong password: exit 1, and the refusal as JSON.
ZW_PASSWORD=not-his-password cf_expect_exit 1 agent --script <<<whoami
expect_json_line 1 'doc["ok"] is False and doc["code"] == "INVALID_CREDENTIALS"'
# The password file and the user flag work like callfloorctl's.
echo zhangwei-password-1 >"$CF_WORK/zw.password"
cf_expect_exit 0 env -u CALLFLOOR_PASSWORD -u CALLFLOOR_USER "$AGENT" --script --user zhangwei \
    --password-file "$CF_WORK/zw.password" <<<whoami
expect_json_line 1 'doc["username"] == "zhangwei"'
# No password and no terminal to ask on: a usage error.
cf_expect_exit 2 env -u CALLFLOOR_PASSWORD "$AGENT" --script </dev/null
grep -q "CALLFLOOR_PASSWORD" <<<"$CF_LAST_OUTPUT" || cf_fail "a missing password is not explained"

# passwd: the new password is the next line; a refused one changes nothing.
cf_expect_exit 0 agent --script <<<$'passwd\nshort\npasswd\nzhangwei-password-2\nwhoami'
expect_json_line 1 'doc["ok"] is False and doc["code"] == "INVALID_ARGUMENT"'
expect_json_line 2 'doc == {"ok": True}'
expect_json_line 3 'doc["ok"] is True'
cf_expect_exit 1 agent --script <<<whoami
expect_json_line 1 'doc["code"] == "INVALID_CREDENTIALS" and "password" in doc["error"]'
ZW_PASSWORD=zhangwei-password-2 cf_expect_exit 0 agent --script <<<whoami
expect_json_line 1 'doc["username"] == "zhangwei"'
ZW_PASSWORD=zhangwei-password-2 cf_expect_exit 2 agent --script <<<passwd
expect_json_line 1 'doc["code"] == "USAGE" and "next line" in doc["error"]'
! grep -qF "zhangwei-password" "$CF_LOG" || cf_fail "a password reached the daemon's log"
ZW_PASSWORD=zhangwei-password-2

# A session the server ends: CLOSED with its reason, exit 3.
mkfifo "$CF_WORK/script.in"
agent --script <"$CF_WORK/script.in" >"$CF_WORK/script.out" 2>&1 &
script_pid=$!
exec 7>"$CF_WORK/script.in"
echo whoami >&7
for _ in $(seq 100); do
    [ -s "$CF_WORK/script.out" ] && break
    sleep 0.1
done
cf_expect_exit 0 cf_ctl user disable zhangwei
rc=0
wait "$script_pid" || rc=$?
exec 7>&-
[ "$rc" = 3 ] ||
    cf_fail "a session ended by the server exited $rc, not 3: $(cat "$CF_WORK/script.out")"
CF_LAST_OUTPUT=$(cat "$CF_WORK/script.out")
expect_json_line 2 'doc["ok"] is False and doc["code"] == "CLOSED" and "disabled" in doc["error"]'
cf_expect_exit 1 agent --script <<<whoami
expect_json_line 1 'doc["code"] == "ACCOUNT_DISABLED"'
cf_expect_exit 0 cf_ctl user enable zhangwei

# ---- the desk on a terminal ----
write_driver
cf_defer stop_desk

desk_start main
desk expect "张伟"
desk expect "Team: 一组"
desk expect "Waiting for work"
desk expect "Connected to $CALLFLOOR_SERVER"
desk expect "p change my password"
desk resize 30 100
desk expect "张伟 (zhangwei)"
desk resize 10 30
desk expect "张伟"

# The daemon restarts: the desk shows why and counts down, then is back.
desk resize 24 120
cf_stop_daemon
desk expect "shutting down"
desk expect "Reconnecting in"
cf_start_daemon
desk expect "Connected to $CALLFLOOR_SERVER"

# The password, changed inside the desk; a mistyped repeat changes nothing.
desk type "p"
desk expect "New password"
desk type 'zhangwei-password-3\r'
desk expect "Repeat the new password"
desk type 'zhangwei-password-4\r'
desk expect "The two passwords differ"
desk type "p"
desk type 'zhangwei-password-3\r'
desk type 'zhangwei-password-3\r'
desk expect "Your password was changed"
! grep -qF "zhangwei-password-3" "$CF_WORK/desk-main.out" || cf_fail "the desk showed the password"
cf_expect_exit 1 agent --script <<<whoami
ZW_PASSWORD=zhangwei-password-3 cf_expect_exit 0 agent --script <<<whoami

# Disabled by an administrator: the desk says so and stops retrying.
cf_expect_exit 0 cf_ctl user disable zhangwei
desk expect "Closed: not reconnecting"
desk expect "your account was disabled"
desk expect "r reconnect now"
cf_expect_exit 0 cf_ctl user enable zhangwei
# The reconnection uses the password changed in the desk.
desk type "r"
desk expect "Connected to $CALLFLOOR_SERVER"
desk type "q"
desk_exit
[ "$DESK_REPLY" = "ok exit=0 restored=1" ] || cf_fail "q did not end the desk cleanly: $DESK_REPLY"

# SIGTERM ends the desk and restores the terminal, and it dies of it.
ZW_PASSWORD=zhangwei-password-3 desk_start sigterm
desk expect "张伟"
desk signal 15
desk_exit
[ "$DESK_REPLY" = "ok signal=15 restored=1" ] ||
    cf_fail "SIGTERM did not end the desk cleanly: $DESK_REPLY"

# A wrong password on the terminal: exit 1 before any screen.
ZW_PASSWORD=wrong-password-1 desk_start wrong
desk_exit
[ "$DESK_REPLY" = "ok exit=1 restored=0" ] || cf_fail "a refused login on a terminal: $DESK_REPLY"
grep -q "invalid user name or password" "$CF_WORK/desk-wrong.out" ||
    cf_fail "a refused login on a terminal did not say why"

cf_done
