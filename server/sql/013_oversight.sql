-- 013_oversight: a supervisor oversees their own team. Admins see the
-- whole floor; a supervisor may review, resolve and send notices only for
-- the agents of the team they are in (users.team_id), and watches only its
-- board. The server calls cf_oversee before acting for a supervisor.

-- Raises CF403 unless staff member `p_staff` may act on something of team
-- `p_team` (NULL: in no team); `p_what` names it in the message.
CREATE FUNCTION cf_oversee(p_staff bigint, p_team bigint, p_what text)
RETURNS void LANGUAGE plpgsql STABLE AS $$
DECLARE
    staff users;
    own text;
BEGIN
    SELECT * INTO staff FROM users WHERE id = p_staff;
    IF staff.role = 'admin' OR (staff.team_id IS NOT NULL AND staff.team_id = p_team) THEN
        RETURN;
    END IF;
    SELECT name INTO own FROM teams WHERE id = staff.team_id;
    RAISE EXCEPTION USING ERRCODE = 'CF403',
        MESSAGE = format('%s is not in your team (%s); supervisors oversee their own team''s agents, '
                         'so ask an admin or that team''s supervisor', p_what,
                         coalesce(own, 'you are in none'));
END
$$;
