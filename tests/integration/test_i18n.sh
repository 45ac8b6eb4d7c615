#!/usr/bin/env bash
# test_i18n: the programs speak Chinese in a zh_CN.UTF-8 locale: the zh_CN
# catalogue is complete (msgfmt --check, nothing untranslated or fuzzy),
# and the help and error messages of every client come out translated,
# with the option names and example values untouched.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR
# shellcheck source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

cf_setup i18n
command -v localedef >/dev/null || cf_skip "localedef is not installed (the locales package has it)"

stats=$(msgfmt --check --statistics -o /dev/null "$CF_SOURCE/po/zh_CN.po" 2>&1) ||
    cf_fail "po/zh_CN.po does not compile: $stats"
grep -q "untranslated\|fuzzy" <<<"$stats" && cf_fail "po/zh_CN.po is incomplete: $stats"

# A private zh_CN.UTF-8 locale, whatever the machine has installed.
mkdir -p "$CF_WORK/locale"
localedef -i zh_CN -f UTF-8 "$CF_WORK/locale/zh_CN.UTF-8" 2>"$CF_WORK/localedef.err" ||
    [ -d "$CF_WORK/locale/zh_CN.UTF-8" ] || cf_fail "localedef failed: $(cat "$CF_WORK/localedef.err")"
zh() {
    LOCPATH=$CF_WORK/locale LANG=zh_CN.UTF-8 LANGUAGE=zh_CN LC_ALL= "$@"
}

for program in callfloorctl callfloor-agent callfloor-monitor callfloor-sim; do
    english=$(LANG=C.UTF-8 LANGUAGE= "$CF_BUILD/bin/$program" --help)
    chinese=$(zh "$CF_BUILD/bin/$program" --help)
    [ "$english" != "$chinese" ] || cf_fail "$program --help is not translated"
    grep -q "^Usage:" <<<"$chinese" && cf_fail "$program --help still starts in English"
    grep -qF -- "--help" <<<"$chinese" || cf_fail "$program --help lost its option names"
done

# Errors too, and what the user must type stays as it is.
zh "$CF_BUILD/bin/callfloorctl" user add eve >"$CF_WORK/err.out" 2>&1 && cf_fail "user add without --role succeeded"
grep -qF -- "--role" "$CF_WORK/err.out" || cf_fail "the translated error lost --role: $(cat "$CF_WORK/err.out")"
grep -q "needs --role" "$CF_WORK/err.out" && cf_fail "the usage error is not translated: $(cat "$CF_WORK/err.out")"
cf_done
