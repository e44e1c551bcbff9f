package policy_test

import (
	"encoding/json"
	"errors"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/aponysus/rego/policy"
)

const goodDoc = `{
  "$schema": "https://example.invalid/policy.schema.json",
  "version": "2024-06-01.1",
  "default": {"retry": {"max_attempts": 2}},
  "policies": {
    "payments.Charge": {
      "id": "charge-v3",
      "retry": {"max_attempts": 5, "initial_backoff": "50ms", "max_backoff": "2s",
                "backoff_multiplier": 1.5, "jitter": "decorrelated",
                "timeout_per_attempt": "800ms", "overall_timeout": "5s",
                "classifier": "http", "budget": {"name": "payments", "cost": 2}},
      "hedge": {"enabled": true, "max_hedges": 2, "trigger": "p95", "delay": "30ms",
                "budget": {"name": "hedges"}, "cancel_on_non_retryable": true}
    },
    "inventory.Reserve": {}
  }
}`

func TestDecodeDocument(t *testing.T) {
	doc, err := policy.DecodeDocument([]byte(goodDoc))
	if err != nil {
		t.Fatal(err)
	}
	if doc.Version != "2024-06-01.1" || len(doc.Warnings) != 0 {
		t.Fatalf("version %q warnings %v", doc.Version, doc.Warnings)
	}
	key := policy.PolicyKey{Namespace: "payments", Name: "Charge"}
	p, ok := doc.Lookup(key)
	if !ok {
		t.Fatal("payments.Charge missing")
	}
	// Every field the document leaves out has its default.
	want := policy.DefaultPolicyFor(key)
	want.ID = "charge-v3"
	want.Retry = policy.RetryPolicy{
		MaxAttempts: 5, InitialBackoff: 50 * time.Millisecond, MaxBackoff: 2 * time.Second,
		BackoffMultiplier: 1.5, Jitter: policy.JitterDecorrelated,
		TimeoutPerAttempt: 800 * time.Millisecond, OverallTimeout: 5 * time.Second,
		ClassifierName: "http", Budget: policy.BudgetRef{Name: "payments", Cost: 2},
	}
	want.Hedge = policy.HedgePolicy{
		Enabled: true, MaxHedges: 2, Trigger: policy.TriggerP95, Delay: 30 * time.Millisecond,
		Budget: policy.BudgetRef{Name: "hedges", Cost: 1}, CancelOnNonRetryable: true,
	}
	want.Meta = policy.Metadata{Source: policy.SourceUnknown, Version: "2024-06-01.1", Normalized: true}
	if !reflect.DeepEqual(p, want) {
		t.Fatalf("got  %+v\nwant %+v", p, want)
	}

	// A key the document does not name gets the default, with its key.
	other := policy.PolicyKey{Namespace: "x", Name: "y"}
	p, ok = doc.Lookup(other)
	if !ok || p.Key != other || p.Retry.MaxAttempts != 2 || !p.Meta.Normalized || p.Meta.Version != "2024-06-01.1" {
		t.Fatalf("default lookup: %+v %v", p, ok)
	}
	// An empty policy is the defaults.
	p, _ = doc.Lookup(policy.ParseKey("inventory.Reserve"))
	if p.Retry.MaxAttempts != policy.DefaultMaxAttempts || p.Retry.Jitter != policy.JitterFull {
		t.Fatalf("empty policy not defaulted: %+v", p)
	}

	doc.SetSource(policy.SourceRemote)
	if p, _ := doc.Lookup(key); p.Meta.Source != policy.SourceRemote {
		t.Fatalf("SetSource: %q", p.Meta.Source)
	}
	if p, _ := doc.Lookup(other); p.Meta.Source != policy.SourceRemote {
		t.Fatalf("SetSource on default: %q", p.Meta.Source)
	}
}

func TestDocumentNoDefault(t *testing.T) {
	doc, err := policy.DecodeDocument([]byte(`{"version":"1","policies":{"a.b":{}}}`))
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := doc.Lookup(policy.ParseKey("a.c")); ok {
		t.Fatal("lookup of an unnamed key without default succeeded")
	}
	var nilDoc *policy.Document
	if _, ok := nilDoc.Lookup(policy.ParseKey("a.b")); ok {
		t.Fatal("nil document lookup succeeded")
	}
}

func problems(t *testing.T, src string) []policy.Problem {
	t.Helper()
	_, err := policy.DecodeDocument([]byte(src))
	var de *policy.DocumentError
	if !errors.As(err, &de) {
		t.Fatalf("want *DocumentError, got %v", err)
	}
	if !errors.Is(err, policy.ErrInvalidDocument) {
		t.Fatal("error does not wrap ErrInvalidDocument")
	}
	return de.Errors()
}

func TestDecodeDocumentErrorsNameThePath(t *testing.T) {
	cases := []struct {
		name, doc, path, msg string
	}{
		{"unknown jitter", `{"version":"1","policies":{"payments.Charge":{"retry":{"jitter":"wobbly"}}}}`,
			`policies["payments.Charge"].retry.jitter`, "unknown jitter kind"},
		{"unknown field", `{"version":"1","policies":{"payments.Charge":{"retry":{"max_atempts":3}}}}`,
			`policies["payments.Charge"].retry.max_atempts`, "unknown field"},
		{"unknown top field", `{"version":"1","polices":{}}`, `polices`, "unknown field"},
		{"unknown policy field", `{"version":"1","policies":{"a.b":{"meta":{}}}}`, `policies["a.b"].meta`, "unknown field"},
		{"unknown budget field", `{"version":"1","default":{"hedge":{"budget":{"nam":"x"}}}}`, `default.hedge.budget.nam`, "unknown field"},
		{"integer duration", `{"version":"1","policies":{"a.b":{"retry":{"initial_backoff":250}}}}`,
			`policies["a.b"].retry.initial_backoff`, "want a duration string"},
		{"bad duration", `{"version":"1","policies":{"a.b":{"hedge":{"delay":"fast"}}}}`,
			`policies["a.b"].hedge.delay`, `invalid duration "fast"`},
		{"float attempts", `{"version":"1","policies":{"a.b":{"retry":{"max_attempts":2.5}}}}`,
			`policies["a.b"].retry.max_attempts`, "want an integer"},
		{"string bool", `{"version":"1","policies":{"a.b":{"hedge":{"enabled":"yes"}}}}`,
			`policies["a.b"].hedge.enabled`, "want true or false"},
		{"circuit", `{"version":"1","policies":{"a.b":{"circuit":{"cooldown":5}}}}`,
			`policies["a.b"].circuit.cooldown`, "duration"},
		{"missing version", `{"policies":{}}`, `version`, "required"},
		{"empty version", `{"version":""}`, `version`, "must not be empty"},
		{"numeric version", `{"version":3}`, `version`, "want a string"},
		{"empty key", `{"version":"1","policies":{"":{}}}`, `policies[""]`, "empty key"},
		{"spaced key", `{"version":"1","policies":{" a.b":{}}}`, `policies[" a.b"]`, "surrounding spaces"},
		{"leading dot", `{"version":"1","policies":{".b":{}}}`, `policies[".b"]`, "canonical"},
		{"no name", `{"version":"1","policies":{"a.":{}}}`, `policies["a."]`, "empty name"},
		{"duplicate key", `{"version":"1","policies":{"a.b":{},"a.b":{}}}`, `policies["a.b"]`, "duplicate key"},
		{"duplicate field", `{"version":"1","default":{"retry":{"jitter":"full","jitter":"none"}}}`, `default.retry.jitter`, "duplicate"},
		{"policy not object", `{"version":"1","policies":{"a.b":[]}}`, `policies["a.b"]`, "want an object"},
		{"not an object", `[1,2]`, `document`, "want an object"},
		{"malformed", `{"version":"1",`, `document`, "malformed JSON"},
		{"trailing data", `{"version":"1"} {}`, `document`, "malformed JSON"},
		{"empty", ``, `document`, "empty"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ps := problems(t, c.doc)
			for _, p := range ps {
				if p.Path == c.path && strings.Contains(p.Msg, c.msg) {
					return
				}
			}
			t.Fatalf("no problem at %s containing %q in %v", c.path, c.msg, ps)
		})
	}
}

func TestDecodeDocumentReportsEveryProblem(t *testing.T) {
	_, err := policy.DecodeDocument([]byte(`{"version":"1","policies":{
		"a.b":{"retry":{"jitter":"x","max_attempts":50}},
		"c.d":{"hedge":{"delay":"soon"}}}}`))
	var de *policy.DocumentError
	if !errors.As(err, &de) {
		t.Fatal(err)
	}
	errs := de.Errors()
	if len(errs) != 2 {
		t.Fatalf("want 2 errors, got %v", errs)
	}
	msg := err.Error()
	for _, want := range []string{`policies["a.b"].retry.jitter: unknown jitter kind`, `policies["c.d"].hedge.delay: invalid duration "soon"`} {
		if !strings.Contains(msg, want) {
			t.Errorf("message %q lacks %q", msg, want)
		}
	}
	// The clamped value is reported too, after the errors, as a warning.
	last := de.Problems[len(de.Problems)-1]
	if last.Severity != policy.SeverityWarning || last.Path != `policies["a.b"].retry.max_attempts` {
		t.Fatalf("last problem %+v", last)
	}
}

func TestDecodeDocumentClampsAndWarns(t *testing.T) {
	doc, err := policy.DecodeDocument([]byte(`{"version":"7","policies":{
		"a.b":{"retry":{"max_attempts":50,"initial_backoff":"1us","backoff_multiplier":0.5}},
		"c.d":{"hedge":{"max_hedges":9,"delay":"2m"}}}}`))
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, w := range doc.Warnings {
		if w.Severity != policy.SeverityWarning {
			t.Fatalf("non-warning %v", w)
		}
		got[w.Path] = w.Msg
	}
	want := map[string]string{
		`policies["a.b"].retry.max_attempts`:       "out of range (got 50), clamped to 10",
		`policies["a.b"].retry.initial_backoff`:    "out of range (got 1µs), clamped to 1ms",
		`policies["a.b"].retry.backoff_multiplier`: "out of range (got 0.5), clamped to 1",
		`policies["c.d"].hedge.max_hedges`:         "out of range (got 9), clamped to 5",
		`policies["c.d"].hedge.delay`:              "out of range (got 2m), clamped to 1m",
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("warnings\n got %v\nwant %v", got, want)
	}
	p, _ := doc.Lookup(policy.ParseKey("a.b"))
	if p.Retry.MaxAttempts != 10 || len(p.Meta.ClampedFields) != 3 {
		t.Fatalf("policy not clamped: %+v", p)
	}
	if s := doc.Warnings[0].String(); !strings.HasPrefix(s, "warning: ") {
		t.Fatalf("warning string %q", s)
	}
}

func TestDocumentNulls(t *testing.T) {
	doc, err := policy.DecodeDocument([]byte(`{"version":"1","default":null,"policies":{"a.b":{"retry":null,"hedge":{"delay":null}}}}`))
	if err != nil {
		t.Fatal(err)
	}
	if doc.Default != nil {
		t.Fatal("null default decoded as a policy")
	}
	if p, _ := doc.Lookup(policy.ParseKey("a.b")); p.Hedge.Delay != policy.DefaultHedgeDelay {
		t.Fatalf("null delay: %v", p.Hedge.Delay)
	}
}

func TestDocumentRoundTrip(t *testing.T) {
	doc, err := policy.DecodeDocument([]byte(goodDoc))
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	var again policy.Document
	if err := json.Unmarshal(b, &again); err != nil {
		t.Fatalf("%v\n%s", err, b)
	}
	if !reflect.DeepEqual(doc.Policies, again.Policies) || !reflect.DeepEqual(doc.Default, again.Default) {
		t.Fatalf("round trip changed the document:\n%s", b)
	}
	keys := again.Keys()
	if len(keys) != 2 || keys[0].String() != "inventory.Reserve" || keys[1].String() != "payments.Charge" {
		t.Fatalf("keys %v", keys)
	}
}

func TestDocumentErrorMessageIsBounded(t *testing.T) {
	var b strings.Builder
	b.WriteString(`{"version":"1","policies":{`)
	for i := 0; i < 30; i++ {
		if i > 0 {
			b.WriteString(",")
		}
		b.WriteString(`"k.n` + string(rune('a'+i%26)) + string(rune('a'+i/26)) + `":{"retry":{"jitter":"?"}}`)
	}
	b.WriteString(`}}`)
	_, err := policy.DecodeDocument([]byte(b.String()))
	var de *policy.DocumentError
	if !errors.As(err, &de) || len(de.Errors()) != 30 {
		t.Fatalf("%v", err)
	}
	if !strings.Contains(err.Error(), "and 20 more") {
		t.Fatalf("message not bounded: %s", err)
	}
}

func FuzzDecodeDocument(f *testing.F) {
	f.Add([]byte(goodDoc))
	f.Add([]byte(`{"version":"1","policies":{"a.b":{"retry":{"jitter":"x","max_attempts":50}}}}`))
	f.Add([]byte(`{"version":"1","default":{"hedge":{"delay":"-5s","max_hedges":99}}}`))
	f.Add([]byte(`{"version":"1","policies":{"a.b":{"retry":{"backoff_multiplier":1e308,"overall_timeout":"-1s"}}}}`))
	f.Add([]byte(`{"version":"1","policies":{"":{}, ".x":null}}`))
	f.Add([]byte(`[`))
	f.Add([]byte(allSectionsDoc))
	f.Add([]byte(`{"version":"1","default":{"circuit":{"failure_rate_threshold":1.5,"half_open_probes":3,"success_threshold":9,"window":"1ms"},` +
		`"bulkhead":{"max_concurrent":0,"max_queue":-1,"max_wait":"2m"},"rate_limit":{"rate":0.5,"burst":0},` +
		`"concurrency":{"algorithm":"vegs","min_limit":50,"max_limit":10,"initial_limit":5},` +
		`"shed":{"sheddable_fraction":0.95,"critical_fraction":0.1},"gates":[{"name":""},{"name":"a"},{"name":"a"},null,{"nam":"b"}]}}`))
	f.Add([]byte(`{"version":"1","default":{"gates":{"name":"x"},"rate_limit":{"rate":1e7},"shed":{"capacity":-3}}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		doc, err := policy.DecodeDocument(data)
		if err != nil {
			var de *policy.DocumentError
			if !errors.As(err, &de) || len(de.Errors()) == 0 {
				t.Fatalf("error without problems: %v", err)
			}
			return
		}
		// A decoded document is normalised: writing it out and reading it
		// back gives the same policies and clamps nothing (warnings about
		// combinations of valid values may repeat).
		b, err := json.Marshal(doc)
		if err != nil {
			t.Fatal(err)
		}
		again, err := policy.DecodeDocument(b)
		if err != nil {
			t.Fatalf("re-decode: %v\n%s", err, b)
		}
		for _, w := range again.Warnings {
			if strings.Contains(w.Msg, "clamped") || strings.Contains(w.Msg, "means the default") {
				t.Fatalf("normalised document changed again: %v\n%s", w, b)
			}
		}
		same := func(p, q policy.EffectivePolicy) bool {
			p.Meta.ClampedFields, q.Meta.ClampedFields = nil, nil
			if len(p.Gates) == 0 && len(q.Gates) == 0 {
				p.Gates, q.Gates = nil, nil
			}
			return reflect.DeepEqual(p, q)
		}
		for k, p := range doc.Policies {
			if q := again.Policies[k]; !same(p, q) {
				t.Fatalf("round trip changed %s:\n%+v\n%+v", k, p, q)
			}
		}
		if (doc.Default == nil) != (again.Default == nil) || doc.Default != nil && !same(*doc.Default, *again.Default) {
			t.Fatalf("round trip changed the default:\n%+v\n%+v", doc.Default, again.Default)
		}
	})
}

// docSample returns the body of the code block that follows the marker
// `<!-- sample: name -->` in docs/policies.md.
func docSample(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile("../docs/policies.md")
	if err != nil {
		t.Fatal(err)
	}
	doc := string(b)
	marker := "<!-- sample: " + name + " -->\n"
	i := strings.Index(doc, marker)
	if i < 0 {
		t.Fatalf("docs/policies.md has no sample %q", name)
	}
	rest := doc[i+len(marker):]
	start := strings.Index(rest, "\n") + 1
	end := strings.Index(rest[start:], "```")
	return strings.TrimSuffix(rest[start:start+end], "\n")
}

// TestDocsValidationSample reproduces the validation sample of
// docs/policies.md: the problems and the error message, exactly.
func TestDocsValidationSample(t *testing.T) {
	_, err := policy.DecodeDocument([]byte(docSample(t, "bad document")))
	var de *policy.DocumentError
	if !errors.As(err, &de) || !errors.Is(err, policy.ErrInvalidDocument) {
		t.Fatalf("want a *DocumentError, got %v", err)
	}
	var got []string
	for _, p := range de.Problems {
		got = append(got, p.String())
	}
	if want := docSample(t, "problems"); strings.Join(got, "\n") != want {
		t.Errorf("problems\n got %s\nwant %s", strings.Join(got, "\n"), want)
	}
	if want := docSample(t, "error"); err.Error() != want {
		t.Errorf("error\n got %s\nwant %s", err, want)
	}
}

// TestDocsExamplesDecode decodes every JSON example of docs/policies.md:
// each loads without a problem, except the sample of a bad document.
func TestDocsExamplesDecode(t *testing.T) {
	b, err := os.ReadFile("../docs/policies.md")
	if err != nil {
		t.Fatal(err)
	}
	bad := docSample(t, "bad document")
	blocks := strings.Split(string(b), "```json\n")[1:]
	if len(blocks) < 3 {
		t.Fatalf("only %d JSON examples", len(blocks))
	}
	for _, blk := range blocks {
		src := blk[:strings.Index(blk, "```")]
		if strings.TrimSpace(src) == bad {
			continue
		}
		if !strings.Contains(src, `"version"`) {
			src = `{"version":"1","default":` + src + `}`
		}
		doc, err := policy.DecodeDocument([]byte(src))
		if err != nil || len(doc.Warnings) > 0 {
			t.Errorf("%s\n%v %v", src, err, doc)
		}
	}
}
