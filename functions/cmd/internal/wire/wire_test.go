package wire

import (
	"testing"

	"github.com/parley-im/parley/functions/cmd/internal/boot"
)

// boot.Env files a malformed setting under a function's name, and Run refuses the function by that
// name: a name typed differently there would let a bad setting through unnoticed.
func TestMalformedSettingsNameBuiltFunctions(t *testing.T) {
	c := boot.Env(func(string) string { return "not-a-value" }) // every setting malformed
	names := c.FailingFunctions()
	if len(names) < 12 {
		t.Fatalf("only %v refused with every setting malformed", names)
	}
	all := All()
	for _, n := range names {
		if _, ok := all[n]; !ok {
			t.Errorf("boot.Env files errors under %q, which is not a function of All()", n)
		}
	}
}
