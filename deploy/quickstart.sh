#!/usr/bin/env bash
# quickstart.sh: from a fresh Debian 12 machine to a running callfloor with
# demo data: dependencies, a build, the dev stack (deploy/devstack.sh) and
# demo teams and users. Safe to run again: what exists is kept.
set -euo pipefail

PROGRAM=${0##*/}
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD=$REPO/build
DIR=$REPO/var/devstack
LEDGER=$DIR/demo-passwords.txt

usage() {
    cat <<EOF
Usage: $PROGRAM [--help]

On Debian 12, as root or a user with sudo:
  1. installs the build dependencies (deploy/install-deps.sh)
  2. builds everything into build/ (CMake, RelWithDebInfo)
  3. starts PostgreSQL and callfloord under var/devstack (deploy/devstack.sh)
  4. loads demo data: teams 一组 and 二组, two supervisors and four agents,
     whose passwords go to var/devstack/demo-passwords.txt (mode 0600), two
     card products, a campaign with 3,300 generated leads, monthly targets
     and bonus tiers, and a short simulated shift of the four agents
and then prints what to type next. Running it again keeps what exists.
EOF
}

die() {
    echo "$PROGRAM: $*" >&2
    exit 1
}

say() {
    echo "$PROGRAM: $*" >&2
}

build() {
    local log=$BUILD/quickstart-build.log
    mkdir -p "$BUILD"
    say "building into $BUILD (log: $log)"
    if ! { cmake -S "$REPO" -B "$BUILD" -DCMAKE_BUILD_TYPE=RelWithDebInfo &&
        cmake --build "$BUILD" -j"$(nproc)"; } >"$log" 2>&1; then
        tail -n 40 "$log" >&2
        die "the build failed (the end of $log is above)"
    fi
}

ctl() {
    "$BUILD/bin/callfloorctl" "$@"
}

# True when callfloorctl's --json output says the thing already exists.
already_exists() {
    grep -q '"code": *"ALREADY_EXISTS"' <<<"$1"
}

# demo_add WHAT ARG...: "callfloorctl --json WHAT ARG...", where an
# ALREADY_EXISTS answer is fine (the demo data was loaded before).
demo_add() {
    local out
    out=$(ctl --json "$@" 2>&1) || already_exists "$out" || die "cannot run '$*': $out"
}

# demo_team NAME DESCRIPTION
demo_team() {
    demo_add team add "$1" --description "$2"
}

# The demo password of USER recorded in the ledger, if any.
ledger_password() {
    [ -f "$LEDGER" ] || return 0
    awk -v u="$1" '$1 == u { print $3; exit }' "$LEDGER"
}

# demo_user NAME ROLE TEAM DISPLAY_NAME: the account exists afterwards with
# the password the ledger records for it.
demo_user() {
    local name=$1 role=$2 team=$3 display=$4 password out
    password=$(ledger_password "$name")
    if [ -z "$password" ]; then
        password=$(openssl rand -hex 8)
        if [ ! -f "$LEDGER" ]; then
            (umask 077 && printf '# %-10s %-10s %-16s %s\n' user role password team >"$LEDGER")
        fi
        printf '%-12s %-10s %-16s %s\n' "$name" "$role" "$password" "$team" >>"$LEDGER"
    fi
    if ! out=$(printf '%s\n' "$password" |
        ctl --json user add "$name" --role "$role" --team "$team" --display-name "$display" 2>&1); then
        already_exists "$out" || die "cannot add user $name: $out"
        out=$(printf '%s\n' "$password" | ctl user passwd "$name" 2>&1) ||
            die "user $name exists, and setting its demo password failed: $out"
    fi
}

demo_teams() {
    demo_team 一组 "信用卡电销一组"
    demo_team 二组 "信用卡电销二组"
}

demo_users() {
    demo_user lihua supervisor 一组 李华
    demo_user wangfang supervisor 二组 王芳
    demo_user zhangwei agent 一组 张伟
    demo_user liuyang agent 一组 刘洋
    demo_user chenjing agent 二组 陈静
    demo_user zhaolei agent 二组 赵磊
}

demo_catalog() {
    demo_add product add CB01 --name 畅享返现卡 --kind cashback --annual-fee 0 --apr 18.25 \
        --disclosure "首年免年费，刷卡6次免次年年费；日利率万分之五（年化18.25%）；逾期收取违约金。" \
        --segment young --segment spender
    demo_add product add TR02 --name 旅行白金卡 --kind travel --annual-fee 600.00 --apr 18.25 \
        --disclosure "年费600元，可用积分抵扣；含航空意外险；日利率万分之五；逾期收取违约金。" \
        --segment traveller --segment high-income
    demo_add campaign add 春季信用卡 --product CB01 --product TR02 --team 一组 --team 二组 \
        --window 09:00-20:00 --days mon-sat --max-attempts 6 --max-per-day 2
}

# demo_leads FILE: 3,000 customers with Chinese names and valid mobile
# numbers, most in Shanghai's time zone; 300 more live where it is now
# within calling hours, so that the demo shift has someone to call at any
# hour without bending the calling-window rule.
demo_leads() {
    python3 - "$1" <<'PY'
import random, sys
from datetime import datetime
from zoneinfo import ZoneInfo, available_timezones
rng = random.Random(2026)
family = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹"
given = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀英华慧建国平刚桂兰"
prefixes = ["134", "135", "136", "137", "138", "139", "150", "151", "152", "158", "159",
            "182", "183", "187", "188", "130", "131", "132", "155", "156", "185", "186",
            "133", "153", "180", "181", "189", "177", "199"]
def awake(zone):
    now = datetime.now(ZoneInfo(zone))
    return 10 <= now.hour < 19 and now.isoweekday() <= 6
zones = sorted(z for z in available_timezones() if z.count("/") == 1 and awake(z))
with open(sys.argv[1], "w", encoding="utf-8") as f:
    f.write("name,phone,time_zone,tier,age_band,income_band,travel_interest,score,external_id\n")
    for i in range(3300):
        zone = rng.choice(zones) if i >= 3000 and zones else "Asia/Shanghai"
        name = rng.choice(family) + rng.choice(given) + (rng.choice(given) if rng.random() < 0.7 else "")
        phone = rng.choice(prefixes) + "%08d" % rng.randrange(10 ** 8)
        f.write("%s,%s,%s,%s,%s,%d,%s,%.1f,DEMO%05d\n" % (
            name, phone, zone, "vip" if rng.random() < 0.05 else "normal",
            rng.choice(["25-34", "35-44", "45-54"]), rng.randint(2, 9),
            "yes" if rng.random() < 0.3 else "no", rng.random() * 100, i))
PY
}

# A short shift: each demo agent works a few calls through the real desk
# (script mode), so the leaderboard, the floor and the reports have data.
APPLY='"product":"CB01","identity_stated":true,"recording_consent":true,"annual_fee_stated":true,"apr_stated":true,"no_pressure":true,"income_band":6,"employment":"employed","existing_cards":1'
demo_cycle() {
    printf '%s\n' '{"cmd":"ready"}' '{"cmd":"wait","event":"lead_offer"}' '{"cmd":"dial"}' \
        "{\"cmd\":\"outcome\",\"disposition\":\"$1\"${2:+,$2}}"
}
demo_agent_shift() {
    local agent=$1 i
    for i in 1 2 3 4 5 6 7 8; do
        case $(((i + ${#agent}) % 8)) in
        0 | 3) demo_cycle NO_ANSWER ;;
        1) demo_cycle BUSY ;;
        2 | 6) demo_cycle NOT_INTERESTED '"notes":"暂无需求","talk_seconds":75' ;;
        4) demo_cycle APPLICATION_SUBMITTED "$APPLY,\"talk_seconds\":420" ;;
        5) demo_cycle CALLBACK "\"callback_at\":$(($(date +%s) + 7200)),\"talk_seconds\":95" ;;
        *) demo_cycle VOICEMAIL ;;
        esac
    done | CALLFLOOR_USER=$agent CALLFLOOR_PASSWORD=$(ledger_password "$agent") \
        "$BUILD/bin/callfloor-agent" --script --timeout 20 --outbox "$DIR/outbox-$agent" \
        >/dev/null 2>"$DIR/shift-$agent.log" # the desk's output shows numbers: kept nowhere
}

demo_shift() {
    local agent failed=0
    say "simulating a short shift of the four demo agents"
    for agent in zhangwei liuyang chenjing zhaolei; do
        demo_agent_shift "$agent" &
    done
    for agent in zhangwei liuyang chenjing zhaolei; do
        wait -n || failed=1
    done
    [ "$failed" = 0 ] || say "a demo agent's shift stopped early (see $DIR/shift-*.log); the demo works anyway"
}

# Everything a demo needs, in dependency order; each step is idempotent,
# and the leads and the shift come only once.
demo_data() {
    say "loading demo data"
    demo_teams
    demo_users
    demo_catalog
    if [ ! -e "$DIR/demo-leads.csv" ]; then
        demo_leads "$DIR/demo-leads.csv.tmp"
        ctl leads import 春季信用卡 "$DIR/demo-leads.csv.tmp" >/dev/null ||
            die "importing the demo leads failed"
        mv "$DIR/demo-leads.csv.tmp" "$DIR/demo-leads.csv"
        ctl target set --team 一组 --month "$(TZ=Asia/Shanghai date +%Y-%m)" --applications 20 >/dev/null
        ctl target set --team 二组 --month "$(TZ=Asia/Shanghai date +%Y-%m)" --applications 20 >/dev/null
        ctl tier set 1 --applications 20 >/dev/null
        ctl tier set 2 --applications 30 >/dev/null
        demo_shift
    fi
}

next_steps() {
    cat <<EOF

callfloor is running (data, configuration and logs in var/devstack/).
Try it:

  cd $REPO
  eval "\$(deploy/devstack.sh env)"     # connect as admin
  build/bin/callfloorctl status
  build/bin/callfloorctl user list
  build/bin/callfloorctl team list
  build/bin/callfloorctl product list
  build/bin/callfloorctl campaign show 春季信用卡
  build/bin/callfloorctl report kpi --from $(TZ=Asia/Shanghai date +%Y-%m-01) --to $(TZ=Asia/Shanghai date +%F) --by agent

Demo users (agents zhangwei, liuyang, chenjing, zhaolei; supervisors lihua,
wangfang) and their passwords: var/devstack/demo-passwords.txt. E.g.:

  CALLFLOOR_USER=zhangwei CALLFLOOR_PASSWORD= build/bin/callfloor-agent   # asks for the password
  CALLFLOOR_USER=lihua CALLFLOOR_PASSWORD= build/bin/callfloor-monitor     # the supervisor's view

(CALLFLOOR_PASSWORD= clears the admin's password that the eval above set.)

deploy/devstack.sh stop    stops everything and keeps the data;
deploy/devstack.sh start   brings it back.
EOF
}

main() {
    case "${1:-}" in
    -h | --help)
        usage
        return 0
        ;;
    "") ;;
    *)
        usage >&2
        exit 2
        ;;
    esac
    "$REPO/deploy/install-deps.sh"
    build
    local env
    env=$("$REPO/deploy/devstack.sh" start "$DIR") || die "the dev stack did not start (see above)"
    eval "$env"
    demo_data
    next_steps
}

main "$@"
