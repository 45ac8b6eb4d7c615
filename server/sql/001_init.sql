-- 001_init: the accounts every later feature hangs off (teams and users).
--
-- server/migrate.c runs each file inside its own transaction and records it
-- in schema_migrations, so a file never contains BEGIN or COMMIT. A file
-- that has shipped is never edited: later changes go into a new NNN_name.sql.
--
-- Constraints repeat the checks the daemon makes before it writes, so that a
-- row written by hand (psql, a script, a future bug) cannot break what the
-- daemon and the clients assume about it.

CREATE TABLE teams (
    id          bigserial   PRIMARY KEY,
    -- Shown on the board and typed in callfloorctl, so it must be unique and
    -- printable. Length is counted in characters: team names may be Chinese.
    name        text        NOT NULL UNIQUE,
    description text        NOT NULL DEFAULT '',
    created_at  timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT teams_name_check
        CHECK (char_length(name) BETWEEN 1 AND 64 AND name !~ '[[:cntrl:]]')
);

CREATE TABLE users (
    id                  bigserial   PRIMARY KEY,
    -- What people type at login: lower case only, so that "Li.Wei" and
    -- "li.wei" can never be two accounts, and starting with a letter or a
    -- digit, so that it is never mistaken for an option on a command line.
    username            text        NOT NULL UNIQUE,
    display_name        text        NOT NULL DEFAULT '',
    -- Text rather than an enum type: adding a role later is then a change
    -- of this constraint, whereas a value added with ALTER TYPE ... ADD VALUE
    -- cannot be used in the transaction that adds it (a migration is one).
    role                text        NOT NULL,
    -- No ON DELETE action: a team that still has members cannot be deleted
    -- by accident; its members have to be moved first.
    team_id             bigint      REFERENCES teams (id),
    -- A PHC argon2id string made by server/passwd.c. The check keeps a
    -- plaintext password from ever being stored here by mistake.
    password_hash       text        NOT NULL,
    disabled            boolean     NOT NULL DEFAULT false,
    created_at          timestamptz NOT NULL DEFAULT now(),
    password_changed_at timestamptz NOT NULL DEFAULT now(),
    -- NULL until the first successful login.
    last_login_at       timestamptz,
    CONSTRAINT users_username_check
        CHECK (username ~ '^[a-z0-9][a-z0-9._-]{0,63}$'),
    CONSTRAINT users_display_name_check
        CHECK (char_length(display_name) <= 128 AND display_name !~ '[[:cntrl:]]'),
    CONSTRAINT users_role_check
        CHECK (role IN ('agent', 'supervisor', 'admin')),
    CONSTRAINT users_password_hash_check
        CHECK (password_hash LIKE '$argon2id$%')
);

-- Team member counts (callfloorctl team list) join users on team_id, and
-- deleting a team checks the foreign key through the same column; without
-- this index both read every user.
CREATE INDEX users_team_id_idx ON users (team_id);
