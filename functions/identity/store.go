package identity

import (
	"context"
	"crypto/sha256"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/parley-im/parley/events"
	"github.com/parley-im/parley/infra/keto"
	"github.com/parley-im/parley/infra/postgres"
)

// userRow is a user as stored.
type userRow struct {
	events.User
	PasswordHash string
	Banned       bool
}

const userCols = `id, username, display_name, avatar_url, created_at, password_hash, banned_at IS NOT NULL`

func scanUser(row pgx.Row) (userRow, error) {
	var u userRow
	err := row.Scan(&u.ID, &u.Username, &u.DisplayName, &u.AvatarURL, &u.CreatedAt, &u.PasswordHash, &u.Banned)
	u.CreatedAt = u.CreatedAt.UTC()
	return u, err
}

var errNotFound = errors.New("not found")

// store is identity's PostgreSQL access.
type store struct {
	pool *pgxpool.Pool
}

func (s store) userByID(ctx context.Context, q pgx.Tx, id string) (userRow, error) {
	var row pgx.Row
	const sql = `SELECT ` + userCols + ` FROM users WHERE id = $1 AND deleted_at IS NULL`
	if q != nil {
		row = q.QueryRow(ctx, sql+` FOR UPDATE`, id)
	} else {
		row = s.pool.QueryRow(ctx, sql, id)
	}
	u, err := scanUser(row)
	if errors.Is(err, pgx.ErrNoRows) {
		return u, errNotFound
	}
	return u, err
}

func (s store) userByName(ctx context.Context, username string) (userRow, error) {
	u, err := scanUser(s.pool.QueryRow(ctx, `SELECT `+userCols+` FROM users WHERE username = $1 AND deleted_at IS NULL`, username))
	if errors.Is(err, pgx.ErrNoRows) {
		return u, errNotFound
	}
	return u, err
}

func insertUser(ctx context.Context, tx pgx.Tx, u userRow) (time.Time, error) {
	var created time.Time
	err := tx.QueryRow(ctx, `INSERT INTO users (id, username, display_name, password_hash) VALUES ($1, $2, $3, $4)
		RETURNING created_at`, u.ID, u.Username, u.DisplayName, u.PasswordHash).Scan(&created)
	if postgres.IsUniqueViolation(err, "users_username") {
		return created, events.Errorf(events.CodeUsernameTaken, "this username is taken")
	}
	return created.UTC(), err
}

// session is one refresh-token family.
type session struct {
	ID, UserID string
	ExpiresAt  time.Time
}

func insertSession(ctx context.Context, tx pgx.Tx, s session, deviceID string) error {
	_, err := tx.Exec(ctx, `INSERT INTO sessions (id, user_id, device_id, expires_at) VALUES ($1, $2, $3, $4)`,
		s.ID, s.UserID, deviceID, s.ExpiresAt)
	return err
}

func hashToken(tok string) []byte {
	h := sha256.Sum256([]byte(tok))
	return h[:]
}

func insertRefresh(ctx context.Context, tx pgx.Tx, sessionID, token string, expires time.Time) error {
	_, err := tx.Exec(ctx, `INSERT INTO refresh_tokens (hash, session_id, expires_at) VALUES ($1, $2, $3)`,
		hashToken(token), sessionID, expires)
	return err
}

// refreshState is what a presented refresh token refers to, locked for the rotation.
type refreshState struct {
	SessionID, UserID string
	Used, Expired     bool
	SessionDead       bool // revoked, expired, or its user deleted
}

func lockRefresh(ctx context.Context, tx pgx.Tx, token string) (refreshState, error) {
	var st refreshState
	err := tx.QueryRow(ctx, `SELECT s.id, s.user_id, t.used_at IS NOT NULL, t.expires_at <= now(),
			s.revoked_at IS NOT NULL OR s.expires_at <= now() OR u.deleted_at IS NOT NULL
		FROM refresh_tokens t JOIN sessions s ON s.id = t.session_id JOIN users u ON u.id = s.user_id
		WHERE t.hash = $1 FOR UPDATE OF t, s`, hashToken(token)).
		Scan(&st.SessionID, &st.UserID, &st.Used, &st.Expired, &st.SessionDead)
	if errors.Is(err, pgx.ErrNoRows) {
		return st, errNotFound
	}
	return st, err
}

// revokeSession ends a family; it reports whether it was still live.
func revokeSession(ctx context.Context, tx pgx.Tx, sessionID, userID, reason string) (bool, error) {
	tag, err := tx.Exec(ctx, `UPDATE sessions SET revoked_at = now(), revoked_reason = $3
		WHERE id = $1 AND user_id = $2 AND revoked_at IS NULL`, sessionID, userID, reason)
	return tag.RowsAffected() > 0, err
}

func revokeUserSessions(ctx context.Context, tx pgx.Tx, userID, reason string) error {
	_, err := tx.Exec(ctx, `UPDATE sessions SET revoked_at = now(), revoked_reason = $2
		WHERE user_id = $1 AND revoked_at IS NULL`, userID, reason)
	return err
}

// useRefresh marks a refresh token used (it rotates) and its session used now.
func useRefresh(ctx context.Context, tx pgx.Tx, token, sessionID string) error {
	if _, err := tx.Exec(ctx, `UPDATE refresh_tokens SET used_at = now() WHERE hash = $1`, hashToken(token)); err != nil {
		return err
	}
	_, err := tx.Exec(ctx, `UPDATE sessions SET last_used_at = now() WHERE id = $1`, sessionID)
	return err
}

// sessionOfRefresh returns the session a refresh token belongs to ("" when unknown).
func sessionOfRefresh(ctx context.Context, tx pgx.Tx, token string) (string, error) {
	var id string
	err := tx.QueryRow(ctx, `SELECT session_id FROM refresh_tokens WHERE hash = $1`, hashToken(token)).Scan(&id)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", nil
	}
	return id, err
}

// HasRelation is the PostgreSQL fallback for System:parley#banned while Keto is unreachable
// (auth.RoleFallback): users.banned_at mirrors the Keto tuple.
func (s store) HasRelation(ctx context.Context, namespace, object, relation, userID string) (bool, error) {
	if namespace != keto.NamespaceSystem || object != keto.SystemObject || relation != keto.RelationBanned {
		return false, errors.New("identity: no fallback for " + namespace + "#" + relation)
	}
	var banned bool
	err := s.pool.QueryRow(ctx, `SELECT banned_at IS NOT NULL FROM users WHERE id = $1`, userID).Scan(&banned)
	if errors.Is(err, pgx.ErrNoRows) {
		return false, nil
	}
	return banned, err
}

// updateProfile stores u's display name and avatar.
func updateProfile(ctx context.Context, tx pgx.Tx, u userRow) error {
	_, err := tx.Exec(ctx, `UPDATE users SET display_name = $2, avatar_url = $3, updated_at = now() WHERE id = $1`,
		u.ID, u.DisplayName, u.AvatarURL)
	return err
}

// deleteUser soft-deletes a user and reports whether it still existed. Other tables keep valid
// references; the username is freed and the profile scrubbed.
func deleteUser(ctx context.Context, tx pgx.Tx, id string) (bool, error) {
	tag, err := tx.Exec(ctx, `UPDATE users SET deleted_at = now(), updated_at = now(), username = 'deleted:' || id,
		password_hash = '', display_name = '', avatar_url = '' WHERE id = $1 AND deleted_at IS NULL`, id)
	return tag.RowsAffected() > 0, err
}

func deletePushDevices(ctx context.Context, tx pgx.Tx, userID string) error {
	_, err := tx.Exec(ctx, `DELETE FROM push_devices WHERE user_id = $1`, userID)
	return err
}

// deleteUnreferencedFiles deletes the rows of the files userID owns that no message references.
func deleteUnreferencedFiles(ctx context.Context, tx pgx.Tx, userID string) error {
	_, err := tx.Exec(ctx, `DELETE FROM files f WHERE f.owner_id = $1
		AND NOT EXISTS (SELECT 1 FROM messages m WHERE m.file_id = f.id)`, userID)
	return err
}
