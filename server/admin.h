/* admin: handlers for the administration requests (users, teams, status). */
#ifndef CALLFLOOR_ADMIN_H
#define CALLFLOOR_ADMIN_H

#include "session.h"

int admin_prepare_statements(db_pool *pool);

void admin_on_status(request *req);
void admin_on_user_add(request *req);
void admin_on_user_list(request *req);
void admin_on_user_passwd(request *req);
void admin_on_user_set_disabled(request *req);
void admin_on_team_add(request *req);
void admin_on_team_list(request *req);

#endif
