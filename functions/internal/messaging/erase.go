package messaging

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/parley-im/parley/events"
)

// optionalContent are message columns that later migrations add (issue 14's 0040: edits, replies,
// mentions, search) with the value an erased message holds. Erase blanks those the schema has, so
// erasure stays complete whichever of the two is applied first; a new content column of messages
// must be added here.
var optionalContent = map[string]string{
	"edited_at":   "NULL",
	"reply_to":    "NULL",
	"mentions":    "NULL",
	"mention_all": "false",
	"search_text": "NULL",
}

// Unpinned is a pin erasure removed (API.md "Pins": erasing a pinned message unpins it).
type Unpinned struct{ ConversationID, MessageID string }

// EraseSender erases, in tx, every message userID sent (API.md "Erase"): status erased, content
// gone from storage (text, file, payload and the optional columns above), the reactions on them and
// the user's reactions elsewhere removed when the reactions table exists, their pins removed when
// the pins table exists. It returns one MessageErased per conversation (the highest erased seq)
// and the pins removed, for the facts.
func EraseSender(ctx context.Context, tx pgx.Tx, userID string) ([]events.MessageErased, []Unpinned, error) {
	rows, err := tx.Query(ctx, `SELECT column_name FROM information_schema.columns
		WHERE table_schema = current_schema() AND table_name = 'messages' AND column_name = ANY($1)`, keysOf(optionalContent))
	if err != nil {
		return nil, nil, fmt.Errorf("erase: %w", err)
	}
	cols, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, nil, fmt.Errorf("erase: %w", err)
	}
	slices.Sort(cols)
	set := []string{"status = 'erased'", "text = ''", "file_id = NULL", "payload = NULL", "erased_at = now()"}
	for _, c := range cols {
		set = append(set, c+" = "+optionalContent[c]) // names from the constant map above, never input
	}
	var reactions, pins bool
	if err := tx.QueryRow(ctx, `SELECT to_regclass('message_reactions') IS NOT NULL, to_regclass('pins') IS NOT NULL`).
		Scan(&reactions, &pins); err != nil {
		return nil, nil, fmt.Errorf("erase: %w", err)
	}
	var unpinned []Unpinned
	if pins {
		rows, err := tx.Query(ctx, `DELETE FROM pins WHERE message_id IN (SELECT id FROM messages WHERE sender_id = $1)
			RETURNING conversation_id, message_id`, userID)
		if err != nil {
			return nil, nil, fmt.Errorf("erase pins: %w", err)
		}
		if unpinned, err = pgx.CollectRows(rows, pgx.RowToStructByPos[Unpinned]); err != nil {
			return nil, nil, fmt.Errorf("erase pins: %w", err)
		}
	}
	if reactions {
		if _, err := tx.Exec(ctx, `DELETE FROM message_reactions WHERE user_id = $1
			OR message_id IN (SELECT id FROM messages WHERE sender_id = $1)`, userID); err != nil {
			return nil, nil, fmt.Errorf("erase reactions: %w", err)
		}
	}
	rows, err = tx.Query(ctx, `WITH erased AS (
			UPDATE messages SET `+strings.Join(set, ", ")+` WHERE sender_id = $1 AND status <> 'erased'
			RETURNING conversation_id, seq)
		SELECT conversation_id, max(seq) FROM erased GROUP BY conversation_id ORDER BY conversation_id`, userID)
	if err != nil {
		return nil, nil, fmt.Errorf("erase messages: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (events.MessageErased, error) {
		e := events.MessageErased{SenderID: userID}
		err := r.Scan(&e.ConversationID, &e.UpToSeq)
		return e, err
	})
	if err != nil {
		return nil, nil, fmt.Errorf("erase messages: %w", err)
	}
	return out, unpinned, nil
}

func keysOf(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}
