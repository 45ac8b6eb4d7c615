#!/usr/bin/env bash
# Refreshes po/callfloor.pot from the sources and merges it into every
# translation, so translators see new and changed strings. Run after
# changing user-facing text; then translate the new entries in po/*.po.
set -euo pipefail
cd "$(dirname "$0")/.."
mapfile -t sources < <(git ls-files 'client/*.c' 'common/*.c' | sort)
xgettext --language=C --from-code=UTF-8 --keyword=_ --keyword=N_ \
    --package-name=callfloor --msgid-bugs-address=callfloor-dev@invalid \
    --add-comments=TRANSLATORS: --sort-by-file -o po/callfloor.pot "${sources[@]}"
shopt -s nullglob
for po in po/*.po; do
    msgmerge --quiet --update --backup=none "$po" po/callfloor.pot
done
echo "updated po/callfloor.pot and $(ls po/*.po | wc -l) translation(s)"
