#include "i18n.h"

#include <limits.h>
#include <locale.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "version.h"

#define I18N_DOMAIN "callfloor"

/* Programs run from the build tree (build/bin, build/tests) find the
 * catalogues po/ compiled into build/locale before any are installed. */
static bool build_tree_locale(char *out, size_t cap) {
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n <= 0 || (size_t)n >= sizeof exe - 1)
        return false;
    exe[n] = '\0';
    char *slash = strrchr(exe, '/');
    if (slash == NULL)
        return false;
    *slash = '\0';
    int len = snprintf(out, cap, "%s/../locale", exe);
    if (len < 0 || (size_t)len >= cap)
        return false;
    struct stat st;
    return stat(out, &st) == 0 && S_ISDIR(st.st_mode);
}

static const char *locale_dir(char *scratch, size_t cap) {
    const char *env = getenv("CALLFLOOR_LOCALEDIR");
    if (env != NULL && *env != '\0')
        return env;
    if (build_tree_locale(scratch, cap))
        return scratch;
    return CALLFLOOR_LOCALEDIR;
}

void i18n_init(void) {
    char scratch[PATH_MAX];
    setlocale(LC_ALL, "");
    bindtextdomain(I18N_DOMAIN, locale_dir(scratch, sizeof scratch));
    textdomain(I18N_DOMAIN);
    bind_textdomain_codeset(I18N_DOMAIN, "UTF-8");
}
