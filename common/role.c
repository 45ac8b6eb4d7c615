#include "role.h"

#include <string.h>

static const struct {
    Callfloor__Role role;
    const char *name;
} roles[] = {
    {CALLFLOOR__ROLE__ROLE_AGENT, "agent"},
    {CALLFLOOR__ROLE__ROLE_SUPERVISOR, "supervisor"},
    {CALLFLOOR__ROLE__ROLE_ADMIN, "admin"},
};

const char *role_name(Callfloor__Role role) {
    for (size_t i = 0; i < sizeof roles / sizeof roles[0]; i++)
        if (roles[i].role == role)
            return roles[i].name;
    return "unknown";
}

int role_parse(const char *name, Callfloor__Role *out) {
    for (size_t i = 0; i < sizeof roles / sizeof roles[0]; i++) {
        if (strcmp(roles[i].name, name) == 0) {
            *out = roles[i].role;
            return 0;
        }
    }
    return -1;
}
