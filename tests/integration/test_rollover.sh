#!/usr/bin/env bash
# test_rollover: the day ends while the board is watched. The daemon's
# business time zone is set to a fixed offset whose midnight comes a few
# seconds into the test (the injectable clock: board.time_zone takes any
# zone PostgreSQL knows, POSIX offsets included); an agent scores before
# midnight, the day's board shows it, and after midnight the daemon
# rebuilds by itself and pushes a new, empty day board while the month
# still counts the result (unless the month ended too).
# ctest: run-serial (it must score before a midnight 25 seconds away)
set -euo pipefail
# shellcheck source-path=SCRIPTDIR
# shellcheck source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# A POSIX zone whose local time is now 25 seconds before midnight, and the
# unix time of that midnight.
read -r CF_BOARD_TZ MIDNIGHT < <(python3 - <<'PY'
import time
now = time.time()
offset = (86400 - 25 - int(now) % 86400) % 86400
if offset > 43200:
    offset -= 86400
sign = "-" if offset >= 0 else "+"  # POSIX counts west of Greenwich
a = abs(offset)
print("<CF>%s%02d:%02d:%02d" % (sign, a // 3600, a % 3600 // 60, a % 60), int(now) + 25)
PY
)
export CF_BOARD_TZ
cf_setup rollover
cf_start_daemon
cf_ctl team add 一组 >/dev/null
cf_ctl product add CB01 --name 畅享返现卡 --apr 18.25 >/dev/null
cf_ctl campaign add 春季 --product CB01 --team 一组 --window 00:00-23:59 --time-zone Etc/GMT-14 >/dev/null
printf 'name,phone,time_zone\n张伟,13800000001,%s\n' "$(cf_zone_at 12)" >"$CF_WORK/leads.csv"
cf_expect_exit 0 cf_ctl leads import 春季 "$CF_WORK/leads.csv"
cf_add_user ann agent 一组
cf_add_user sue supervisor 一组

for period in day month; do
    CALLFLOOR_USER=sue CALLFLOOR_PASSWORD=sue$CF_PASSWORD_SUFFIX "$CF_BUILD/bin/callfloor-monitor" \
        --json --interval 60 --period "$period" >"$CF_WORK/$period.jsonl" 2>"$CF_WORK/$period.err" &
    cf_defer kill $!
    cf_wait_for "$CF_WORK/$period.jsonl" '"event":"board"'
done
printf '%s\n' '{"cmd":"ready"}' '{"cmd":"wait","event":"lead_offer"}' '{"cmd":"dial"}' \
    '{"cmd":"outcome","disposition":"NOT_INTERESTED"}' | cf_agent ann
cf_events ann "ev[-1]['event'] == 'outcome_ack'"
[ "$(date +%s)" -lt "$MIDNIGHT" ] || cf_skip "the machine was too slow to score before the fake midnight"
cf_wait_for "$CF_WORK/day.jsonl" '"agent":"ann"'

# After midnight: a new snapshot of the day without ann.
deadline=$((MIDNIGHT + 20))
until python3 - "$CF_WORK/day.jsonl" <<'PY'
import json, sys
last = [json.loads(l) for l in open(sys.argv[1], encoding="utf-8") if '"event":"board"' in l][-1]
sys.exit(0 if last["snapshot"] and last["rows"] == [] else 1)
PY
do
    [ "$(date +%s)" -lt "$deadline" ] || cf_fail "no empty day board came after midnight (see $CF_WORK/day.jsonl)"
    sleep 0.5
done
month_ended=$(python3 -c "
import time
def local_month(t):
    return time.strftime('%Y-%m', time.gmtime(t + $(python3 -c "
import re
m = re.match(r'<CF>([+-])(\d\d):(\d\d):(\d\d)', '$CF_BOARD_TZ')
s = -1 if m.group(1) == '+' else 1
print(s * (int(m.group(2)) * 3600 + int(m.group(3)) * 60 + int(m.group(4))))")))
print(int(local_month($MIDNIGHT - 5) != local_month($MIDNIGHT + 5)))")
if [ "$month_ended" = 0 ]; then
    cf_board_rows "$CF_WORK/month.jsonl" |
        python3 -c 'import json, sys; sys.exit(0 if json.load(sys.stdin).get("ann", {}).get("connects") == 1 else 1)' ||
        cf_fail "the month board lost ann's result at midnight"
fi
grep -q "scores loaded" "$CF_LOG" || cf_fail "the daemon did not log its rebuild"
cf_done
