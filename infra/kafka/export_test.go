package kafka

import "github.com/segmentio/kafka-go/sasl"

// SASLMechanismOf exposes the resolved mechanism to the external tests.
func SASLMechanismOf(s Security) sasl.Mechanism { return s.mech }
