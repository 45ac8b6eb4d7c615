/* i18n: gettext for user-facing text. Programs call i18n_init once in main;
 * translatable strings are wrapped in _() (or N_() where they must stay
 * constant expressions). The daemon's logs stay in English. */
#ifndef CALLFLOOR_I18N_H
#define CALLFLOOR_I18N_H

#include <libintl.h>

#define _(s)  gettext(s)
#define N_(s) (s)

/* Sets the locale from the environment and binds the "callfloor" text
 * domain (CALLFLOOR_LOCALEDIR, overridable by $CALLFLOOR_LOCALEDIR). */
void i18n_init(void);

#endif
