package events

import (
	"errors"
	"strings"
)

// Correlation is the correlationid extension of a command from the socket-edge
// ("<edge>/<conn>/<frame>"): the edge instance, the connection on it (its session part) and the
// client frame the command answers. Functions copy it onto the facts and rejections the command
// causes, so the edge that holds the connection answers the right frame. Frame ids may contain "/";
// edge and connection ids may not.
type Correlation struct {
	Edge  string // the edge instance (its EdgeID)
	Conn  string // the connection id on that edge
	Frame string // the client's frame id, or AnonymousFrame's token for a frame without id
}

// anonymousPrefix marks a Frame the edge made up for a client frame without id.
const anonymousPrefix = "~"

// ErrBadCorrelation is returned by ParseCorrelation for text that is not "<edge>/<conn>/<frame>".
var ErrBadCorrelation = errors.New("correlation id is not <edge>/<conn>/<frame>")

// AnonymousFrame is the Frame of a client frame without id: it still needs a unique correlation
// (unique, say a fresh id), and its answer carries no id (FrameID returns "").
func AnonymousFrame(unique string) string { return anonymousPrefix + unique }

// String renders the correlation as the correlationid extension carries it.
func (c Correlation) String() string { return c.Edge + "/" + c.Conn + "/" + c.Frame }

// FrameID is the id the answer to the frame carries: "" for a frame that had none.
func (c Correlation) FrameID() string {
	if strings.HasPrefix(c.Frame, anonymousPrefix) {
		return ""
	}
	return c.Frame
}

// ParseCorrelation splits a correlationid at its first two "/" (the frame keeps any further ones).
// It does not allocate.
func ParseCorrelation(s string) (Correlation, error) {
	edge, rest, ok := strings.Cut(s, "/")
	if !ok {
		return Correlation{}, ErrBadCorrelation
	}
	conn, frame, ok := strings.Cut(rest, "/")
	if !ok {
		return Correlation{}, ErrBadCorrelation
	}
	return Correlation{Edge: edge, Conn: conn, Frame: frame}, nil
}
