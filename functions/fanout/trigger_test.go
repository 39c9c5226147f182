package fanout_test

import (
	"path/filepath"
	"testing"

	"github.com/parley-im/parley/functions/fanout"
	mt "github.com/parley-im/parley/functions/internal/messaging/messagingtest"
	"github.com/parley-im/parley/infra/platform/routing"
)

// Every fact type the fanout trigger subscribes to (charts/parley/values.yaml, which both the Helm
// chart and the local platform read) has an entry in the recipient table: a type added to the
// trigger without one would reach nobody, silently.
func TestTriggerTypesHaveRecipients(t *testing.T) {
	values, err := routing.Load(filepath.Join("..", "..", "charts", "parley", "values.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	h := fanout.New(fanout.Config{}, fanout.Deps{Publisher: &mt.Publisher{}, Log: mt.Log()})
	var types int
	for _, tr := range values.Triggers {
		if tr.Subscriber != "fanout" {
			continue
		}
		for _, typ := range tr.Types {
			types++
			if !fanout.Resolves(h, typ) {
				t.Errorf("trigger %s subscribes fanout to %s, which has no recipients entry", tr.Name, typ)
			}
		}
	}
	if types == 0 {
		t.Fatal("no fanout trigger in values.yaml")
	}
}
