package check

import (
	"context"
	"strings"
	"testing"

	"github.com/parley-im/parley/events"
)

func TestWrongAnswersFailTheCheck(t *testing.T) {
	l := NewLedger()
	own := events.Message{ID: "m1", ConversationID: "c1", Seq: 1, ClientMsgID: "a"}
	l.Acked("c1", "a", own)
	rep, err := NothingLost(context.Background(), l, nil, Options{})
	if err != nil || rep.WrongAnswers != 0 || rep.Acked != 1 {
		t.Fatalf("own answer: report %+v, err %v", rep, err)
	}

	l.Acked("c1", "b", own)                                                                      // b answered with a's message
	l.Acked("c1", "c", events.Message{ID: "m3", ConversationID: "c2", Seq: 1, ClientMsgID: "c"}) // another conversation
	rep, err = NothingLost(context.Background(), l, nil, Options{})
	if rep.WrongAnswers != 2 || err == nil {
		t.Fatalf("two wrong answers: report %+v, err %v", rep, err)
	}
	for _, want := range []string{"send b to c1 answered with message m1", "send c to c1 answered with message m3"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}
	if l.AckedCount() != 1 {
		t.Errorf("a wrong answer was counted as acked: %d", l.AckedCount())
	}
}
