package kafka

import "github.com/segmentio/kafka-go/sasl"

// SASLMechanismOf exposes the resolved mechanism to the external tests.
func SASLMechanismOf(s Security) sasl.Mechanism { return s.mech }

// Served returns how many records the tails handed out from shared windows and from consumers'
// own readers.
func (ts *Tails) Served() (shared, own int64) { return ts.shared.Load(), ts.own.Load() }

// WritesOf is how many produce requests w has sent since the last call.
func WritesOf(w *Writer) int { return int(w.w.Stats().Writes) }
