package fanout

import "context"

// CursorWrites is how many batch statements the delivery-cursor writer has written.
func CursorWrites(h *Handler) int {
	h.cur.mu.Lock()
	defer h.cur.mu.Unlock()
	return h.cur.writes
}

// WriteCursors runs the batch statement of the delivery-cursor writer.
func WriteCursors(ctx context.Context, h *Handler, convs []string, seqs []int64) error {
	return h.cur.write(ctx, convs, seqs)
}

// Resolves reports whether h's recipient table has an entry for fact type typ.
func Resolves(h *Handler, typ string) bool {
	_, ok := h.recipients[typ]
	return ok
}
