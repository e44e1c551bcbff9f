package regogrpc

import (
	"testing"
	"time"

	"github.com/aponysus/rego/classify"
	"github.com/aponysus/rego/policy"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
)

func TestParsePushbackValue(t *testing.T) {
	for _, tc := range []struct {
		in   string
		d    time.Duration
		kind pushback
	}{
		{"0", 0, pushbackDelay},
		{"250", 250 * time.Millisecond, pushbackDelay},
		{"007", 7 * time.Millisecond, pushbackDelay},
		{"-1", 0, pushbackStop},
		{"-0", 0, pushbackDelay},
		{"", 0, pushbackMalformed},
		{"-", 0, pushbackMalformed},
		{"+5", 0, pushbackMalformed},
		{" 5", 0, pushbackMalformed},
		{"1.5", 0, pushbackMalformed},
		{"1e3", 0, pushbackMalformed},
		{"99999999999999999999999", time.Duration(maxPushbackMs) * time.Millisecond, pushbackDelay},
	} {
		d, k := parsePushbackValue(tc.in)
		if d != tc.d || k != tc.kind {
			t.Errorf("parsePushbackValue(%q) = %v, %d; want %v, %d", tc.in, d, k, tc.d, tc.kind)
		}
	}
	if _, k := parsePushback(nil); k != pushbackNone {
		t.Errorf("no trailer gave %d", k)
	}
	if d, k := parsePushback(metadata.Pairs(PushbackKey, "10", PushbackKey, "-1")); k != pushbackDelay || d != 10*time.Millisecond {
		t.Errorf("first value should count, got %v %d", d, k)
	}
}

func FuzzParsePushback(f *testing.F) {
	for _, s := range []string{"0", "100", "-1", "abc", "", "-", "99999999999999999999", "1 2"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, k := parsePushbackValue(s)
		if d < 0 {
			t.Fatalf("negative delay %v for %q", d, s)
		}
		if k != pushbackDelay && d != 0 {
			t.Fatalf("delay %v with kind %d for %q", d, k, s)
		}
		// The classifier must turn any value into a verdict without
		// panicking, and never retry on a value that is not a delay.
		out := NewClassifier(ClassifierOptions{MaxPushback: -1}).classify("/s/m", metadata.Pairs(PushbackKey, s), false, status.Error(codes.Unavailable, "x"))
		if (k == pushbackStop || k == pushbackMalformed) && out.Kind != classify.OutcomeNonRetryable {
			t.Fatalf("pushback %q retried: %+v", s, out)
		}
		if k == pushbackDelay && out.Kind != classify.OutcomeRetryable {
			t.Fatalf("pushback %q not retried: %+v", s, out)
		}
	})
}

func TestClassifier(t *testing.T) {
	unavailable := status.Error(codes.Unavailable, "x")
	pb := func(v string) metadata.MD { return metadata.Pairs(PushbackKey, v) }
	for _, tc := range []struct {
		name     string
		opts     ClassifierOptions
		trailer  metadata.MD
		own      bool
		err      error
		kind     classify.OutcomeKind
		reason   string
		override time.Duration
	}{
		{"success", ClassifierOptions{}, nil, false, nil, classify.OutcomeSuccess, "", 0},
		{"unavailable", ClassifierOptions{}, nil, false, unavailable, classify.OutcomeRetryable, "grpc_unavailable", 0},
		{"invalid argument", ClassifierOptions{}, nil, false, status.Error(codes.InvalidArgument, "x"), classify.OutcomeNonRetryable, "grpc_invalid_argument", 0},
		{"not a status", ClassifierOptions{}, nil, false, errString("boom"), classify.OutcomeNonRetryable, "grpc_unknown", 0},
		{"exhausted", ClassifierOptions{}, nil, false, status.Error(codes.ResourceExhausted, "x"), classify.OutcomeNonRetryable, "grpc_resource_exhausted", 0},
		{"exhausted with pushback", ClassifierOptions{}, pb("30"), false, status.Error(codes.ResourceExhausted, "x"), classify.OutcomeRetryable, "pushback", 30 * time.Millisecond},
		{"pushback zero", ClassifierOptions{}, pb("0"), false, unavailable, classify.OutcomeRetryable, "pushback", time.Nanosecond},
		{"pushback stop", ClassifierOptions{}, pb("-5"), false, unavailable, classify.OutcomeNonRetryable, "pushback_stop", 0},
		{"pushback malformed", ClassifierOptions{}, pb("x"), false, unavailable, classify.OutcomeNonRetryable, "pushback_malformed", 0},
		{"pushback too long", ClassifierOptions{MaxPushback: time.Second}, pb("1001"), false, unavailable, classify.OutcomeNonRetryable, "pushback_too_long", 0},
		{"pushback on terminal code", ClassifierOptions{}, pb("10"), false, status.Error(codes.NotFound, "x"), classify.OutcomeNonRetryable, "grpc_not_found", 0},
		{"own deadline", ClassifierOptions{}, nil, true, status.Error(codes.DeadlineExceeded, "x"), classify.OutcomeRetryable, "attempt_timeout", 0},
		{"own deadline off", ClassifierOptions{NoAttemptTimeoutRetry: true}, nil, true, status.Error(codes.DeadlineExceeded, "x"), classify.OutcomeNonRetryable, "grpc_deadline_exceeded", 0},
		{"server deadline", ClassifierOptions{}, nil, false, status.Error(codes.DeadlineExceeded, "x"), classify.OutcomeNonRetryable, "grpc_deadline_exceeded", 0},
		{"empty retryable set", ClassifierOptions{RetryableCodes: []codes.Code{}}, nil, false, unavailable, classify.OutcomeNonRetryable, "grpc_unavailable", 0},
		{"configured set", ClassifierOptions{RetryableCodes: []codes.Code{codes.Aborted, codes.OK, 99}}, nil, false, status.Error(codes.Aborted, "x"), classify.OutcomeRetryable, "grpc_aborted", 0},
		{"marked permanent", ClassifierOptions{}, nil, false, classify.Permanent(unavailable), classify.OutcomeRetryable, "grpc_unavailable", 0},
		{"marked retry after", ClassifierOptions{}, nil, false, classify.RetryAfter(unavailable, time.Second), classify.OutcomeRetryable, "pushback", time.Second},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out := NewClassifier(tc.opts).classify("/s/m", tc.trailer, tc.own, tc.err)
			if out.Kind != tc.kind || out.Reason != tc.reason || out.BackoffOverride != tc.override {
				t.Fatalf("got %v %q %v, want %v %q %v", out.Kind, out.Reason, out.BackoffOverride, tc.kind, tc.reason, tc.override)
			}
			if tc.err != nil && (out.Attributes[AttrCode] != status.Code(tc.err).String() || out.Attributes[AttrMethod] != "/s/m") {
				t.Fatalf("attributes %v", out.Attributes)
			}
		})
	}
}

type errString string

func (e errString) Error() string { return string(e) }

func TestClassifyValueFacts(t *testing.T) {
	c := NewClassifier(ClassifierOptions{})
	a := &unaryAttempt{call: &unaryCall{method: "/s/m"}, trailer: metadata.Pairs(PushbackKey, "-1")}
	if out := c.Classify(a, status.Error(codes.Unavailable, "x")); out.Reason != "pushback_stop" {
		t.Fatalf("outcome %+v, want the trailer read from the attempt", out)
	}
	if out := c.Classify("not an attempt", status.Error(codes.Unavailable, "x")); out.Kind != classify.OutcomeRetryable {
		t.Fatalf("outcome %+v", out)
	}
}

func TestCodeReasons(t *testing.T) {
	want := map[codes.Code]string{
		codes.OK: "grpc_ok", codes.Unavailable: "grpc_unavailable", codes.DeadlineExceeded: "grpc_deadline_exceeded",
		codes.ResourceExhausted: "grpc_resource_exhausted", codes.Code(42): "grpc_code_42",
	}
	for code, r := range want {
		if got := codeReason(code); got != r {
			t.Errorf("codeReason(%v) = %q, want %q", code, got, r)
		}
	}
}

func TestMethodKeys(t *testing.T) {
	for _, tc := range []struct {
		in                         string
		method, svcMethodNS, svcNm string
	}{
		{"/grpc.testing.TestService/UnaryCall", "grpc.testing.TestService.UnaryCall", "grpc.testing.TestService", "UnaryCall"},
		{"/Greeter/SayHello", "Greeter.SayHello", "Greeter", "SayHello"},
		{"bogus", "bogus", "", "bogus"},
		{"/only", "/only", "", "only"},
		{"/svc/", "/svc/", "", "svc/"},
		{"", "", "", ""},
	} {
		if got := MethodKey(tc.in); got.String() != tc.method {
			t.Errorf("MethodKey(%q) = %v, want %q", tc.in, got, tc.method)
		}
		got := ServiceMethodKey(tc.in)
		if got.Namespace != tc.svcMethodNS || got.Name != tc.svcNm {
			t.Errorf("ServiceMethodKey(%q) = %+v", tc.in, got)
		}
	}
}

// FuzzMethodKey checks that every default key survives its own string
// form, which is how policy documents name keys.
func FuzzMethodKey(f *testing.F) {
	for _, s := range []string{"/a.B/C", "/x/y/z", "", "/", "//", "a/b", "/ a.b /c ", ". \u00a0.a.b"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		k := MethodKey(s)
		if back := policy.ParseKey(k.String()); back != k {
			t.Fatalf("MethodKey(%q) = %+v, but its string %q parses as %+v", s, k, k.String(), back)
		}
		_ = ServiceMethodKey(s)
	})
}

func TestClassifyNilAttempts(t *testing.T) {
	// An attempt that ends before it starts (superseded by a committed
	// stream, or not replayable) has a nil value of its attempt type.
	c := NewClassifier(ClassifierOptions{})
	for _, v := range []any{(*streamAttempt)(nil), (*unaryAttempt)(nil)} {
		if out := c.Classify(v, status.Error(codes.Unavailable, "x")); out.Kind != classify.OutcomeRetryable {
			t.Fatalf("Classify(%T nil) = %+v", v, out)
		}
	}
}

func TestClassifyCommittedAttempt(t *testing.T) {
	c := NewClassifier(ClassifierOptions{})
	a := &unaryAttempt{call: &unaryCall{method: "/s/m"}, committed: true}
	if out := c.Classify(a, status.Error(codes.Unavailable, "x")); out.Kind != classify.OutcomeNonRetryable || out.Reason != ReasonCommitted {
		t.Fatalf("outcome %+v, want non-retryable %q", out, ReasonCommitted)
	}
	if out := c.Classify(a, status.Error(codes.NotFound, "x")); out.Reason != "grpc_not_found" {
		t.Fatalf("outcome %+v: a terminal code keeps its own reason", out)
	}
}
