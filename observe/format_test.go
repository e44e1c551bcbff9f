package observe_test

import (
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/aponysus/rego/budget"
	"github.com/aponysus/rego/observe"
)

func TestGatesText(t *testing.T) {
	cases := []struct {
		rec  observe.AttemptRecord
		want string
	}{
		{observe.AttemptRecord{BudgetAllowed: true, BudgetReason: "no_budget"}, "no budget configured"},
		{observe.AttemptRecord{BudgetAllowed: true, BudgetReason: "budget_not_found"}, "budget not found (allowed)"},
		{observe.AttemptRecord{BudgetAllowed: true, BudgetReason: "no_budget", CircuitReason: "closed"}, "breaker closed, no budget configured"},
		{observe.AttemptRecord{BudgetReason: "circuit_open", CircuitReason: "open"}, "refused by breaker: open"},
		{observe.AttemptRecord{BudgetReason: "tokens_exhausted"}, "refused by budget: tokens_exhausted"},
		{observe.AttemptRecord{BudgetAllowed: true, Gates: []observe.GateDecision{
			{Gate: "circuit", Reason: "closed", Admitted: true},
			{Gate: "budget", Reason: "tokens_exhausted", Shadow: true},
		}}, "breaker closed, refused by budget: tokens_exhausted (shadow, not enforced)"},
	}
	for _, c := range cases {
		if got := observe.GatesText(c.rec); got != c.want {
			t.Errorf("GatesText(%+v) = %q, want %q", c.rec, got, c.want)
		}
	}
}

func TestAttemptKindAndOutcomeText(t *testing.T) {
	if got := observe.AttemptKindText(observe.AttemptRecord{}); got != "first" {
		t.Errorf("first attempt: %q", got)
	}
	if got := observe.AttemptKindText(observe.AttemptRecord{RetryIndex: 2}); got != "retry 2" {
		t.Errorf("retry: %q", got)
	}
	if got := observe.AttemptKindText(observe.AttemptRecord{RetryIndex: 2, IsHedge: true, HedgeIndex: 1}); got != "hedge 1" {
		t.Errorf("hedge: %q", got)
	}
	if got := observe.OutcomeText(observe.AttemptRecord{BudgetAllowed: true, Cancelled: true}); got != "cancelled" {
		t.Errorf("cancelled: %q", got)
	}
	if got := observe.OutcomeText(observe.AttemptRecord{}); got != "denied" {
		t.Errorf("denied: %q", got)
	}
}

func TestZeroTimelineString(t *testing.T) {
	got := observe.Timeline{}.String()
	want := "key=- policy=- took=0s ok\nattempt  kind  start  wait  took  outcome  gates  error\n"
	if got != want {
		t.Fatalf("got %q, want %q", got, want)
	}
}

type failWriter struct{ n int }

var errWrite = errors.New("disk full")

func (f *failWriter) Write(p []byte) (int, error) {
	if f.n == 0 {
		return 0, errWrite
	}
	f.n--
	return len(p), nil
}

func TestWriteToReportsWriteErrors(t *testing.T) {
	tl := observe.Timeline{Attempts: []observe.AttemptRecord{{BudgetAllowed: true}}}
	n, err := tl.WriteTo(&failWriter{n: 1})
	if !errors.Is(err, errWrite) {
		t.Fatalf("err = %v, want %v", err, errWrite)
	}
	if want := int64(len(strings.SplitAfter(tl.String(), "\n")[0])); n != want {
		t.Fatalf("n = %d, want %d (the first line only)", n, want)
	}
}

// docs/timeline.md shows the table of chargeTimeline; it must be what
// WriteTo prints.
func TestTimelineDocShowsTheTable(t *testing.T) {
	doc, err := os.ReadFile("../docs/timeline.md")
	if err != nil {
		t.Fatal(err)
	}
	start := strings.Index(string(doc), "```text\n")
	if start < 0 {
		t.Fatal("docs/timeline.md has no text block")
	}
	block := string(doc)[start+len("```text\n"):]
	block = block[:strings.Index(block, "```")]
	if got := chargeTimeline().String(); got != block {
		t.Fatalf("docs/timeline.md shows\n%s\nWriteTo prints\n%s", block, got)
	}
}

func TestBreakerStateValue(t *testing.T) {
	for state, want := range map[string]int{"closed": 0, "half_open": 1, "open": 2} {
		if got, ok := observe.BreakerStateValue(state); !ok || got != want {
			t.Errorf("%s: %d %v", state, got, ok)
		}
	}
	if _, ok := observe.BreakerStateValue("ajar"); ok {
		t.Error("unknown state accepted")
	}
}

func TestBudgetLevelOf(t *testing.T) {
	now := time.Now()
	tb := budget.NewTokenBucketBudget(3, 0)
	tb.TakeAt(now, 1)
	if l, ok := observe.BudgetLevelOf(tb, now); !ok || l.Type != "token_bucket" || l.Available != 2 {
		t.Errorf("token bucket: %+v %v", l, ok)
	}
	ratio, err := budget.NewRatioBudget(budget.RatioOptions{Ratio: 0.5, MinRetriesPerSecond: -1})
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 4; i++ {
		ratio.RecordRequestAt(now)
	}
	ratio.TakeRetryAt(now, 1)
	if l, ok := observe.BudgetLevelOf(ratio, now); !ok || l.Type != "ratio" || l.Requests != 4 || l.Used != 1 || l.Available != 1 {
		t.Errorf("ratio: %+v %v", l, ok)
	}
	if l, ok := observe.BudgetLevelOf(budget.UnlimitedBudget{}, now); !ok || l.Type != "unlimited" {
		t.Errorf("unlimited: %+v %v", l, ok)
	}
	if _, ok := observe.BudgetLevelOf(nil, now); ok {
		t.Error("nil budget has a level")
	}
}

type opaqueBudget struct{ budget.UnlimitedBudget }

func TestBudgetLevels(t *testing.T) {
	reg := budget.NewRegistry()
	reg.Register("a", budget.NewTokenBucketBudget(2, 0))
	reg.Register("opaque", opaqueBudget{})
	got := observe.BudgetLevels(reg, []string{"missing", "opaque", "a"}, time.Now())
	if len(got) != 1 || got[0].Name != "a" || got[0].Available != 2 {
		t.Fatalf("%+v", got)
	}
}
