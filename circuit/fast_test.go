package circuit_test

import (
	"context"
	"testing"
	"time"

	"github.com/aponysus/rego/circuit"
	"github.com/aponysus/rego/gate"
	"github.com/aponysus/rego/internal/fastgate"
	"github.com/aponysus/rego/policy"
)

// fastConfigs are the rules the executor's closed path must agree with
// the gate API under.
var fastConfigs = []struct {
	name string
	cfg  policy.CircuitPolicy
}{
	{"consecutive", policy.CircuitPolicy{FailureThreshold: 3, Cooldown: time.Second}},
	{"rates", policy.CircuitPolicy{FailureThreshold: 3, Cooldown: time.Second, FailureRateThreshold: 0.5, MinThroughput: 4, Window: 10 * time.Second}},
	{"slow", policy.CircuitPolicy{FailureThreshold: 3, Cooldown: time.Second, SlowCallDuration: time.Millisecond, SlowCallRateThreshold: 0.5, MinThroughput: 4}},
	{"rates, slow calls counted", policy.CircuitPolicy{FailureThreshold: 3, Cooldown: time.Second, FailureRateThreshold: 0.5, MinThroughput: 4, SlowCallDuration: time.Millisecond}},
	{"slow rule, fast calls", policy.CircuitPolicy{FailureThreshold: 3, Cooldown: time.Second, SlowCallDuration: time.Second, SlowCallRateThreshold: 0.5, MinThroughput: 4}},
}

// fastStates bring a breaker into each state the closed path must tell
// apart, at t0+time.Minute.
var fastStates = []struct {
	name string
	set  func(r *rig)
}{
	{"closed", func(r *rig) {}},
	{"closed after failures", func(r *rig) { r.call(0, gate.Failed); r.call(0, gate.Failed) }},
	{"open", func(r *rig) { r.b.Reset(t0.Add(time.Minute)); openRig(r, time.Minute) }},
	{"half-open", func(r *rig) { openRig(r, 0); r.must(time.Minute, circuit.ReasonProbe) }},
	{"forced open", func(r *rig) { r.b.ForceOpen(t0) }},
	{"forced closed", func(r *rig) { r.b.ForceClose(t0) }},
}

// quiet reports whether cfg's rules count no results: no rate rule.
func quiet(cfg policy.CircuitPolicy) bool {
	return cfg.FailureRateThreshold == 0 && (cfg.SlowCallDuration == 0 || cfg.SlowCallRateThreshold == 0)
}

// openRig opens the breaker at t0+at with failures.
func openRig(r *rig, at time.Duration) {
	for r.state(at) == circuit.Closed {
		r.call(at, gate.Failed)
	}
}

// The closed path admits exactly when Admit admits with ReasonClosed, with
// the same token; in every other state it declines and leaves the decision
// to Admit.
func TestFastPathAdmitsAsAdmit(t *testing.T) {
	for _, fc := range fastConfigs {
		for _, st := range fastStates {
			for _, enabled := range []bool{true, false} {
				for _, fixed := range []bool{true, false} {
					var b circuit.Breaker
					r := newRig(t, &b, fc.cfg)
					st.set(r)
					r.pol.Circuit.Enabled = enabled
					f := fastgate.Of(&b)
					if f == nil {
						t.Fatal("fastgate.Of(*circuit.Breaker) = nil")
					}
					tok, ok := f.AdmitClosed(&r.pol.Circuit, fixed)
					at := t0.Add(time.Minute)
					p, err := b.Admit(context.Background(), gate.Attempt{Key: r.pol.Key, Policy: &r.pol}, at)
					admitClosed := err == nil && p.Reason == circuit.ReasonClosed
					if ok != admitClosed || ok && (p.Token != tok || p.Completer != gate.Completer(&b)) {
						t.Errorf("%s/%s/enabled=%v/fixed=%v: closed path %d, %v; Admit %+v, %v", fc.name, st.name, enabled, fixed, tok, ok, p, err)
					}
					// The inline path admits as the closed path did, once
					// a fixed policy of quiet rules was seen; never else.
					qtok, qok := f.Circuit().AdmitQuiet(&r.pol.Circuit)
					if want := ok && fixed && quiet(fc.cfg); qok != want || qok && qtok != tok {
						t.Errorf("%s/%s/enabled=%v/fixed=%v: inline path %d, %v; closed path %d, %v", fc.name, st.name, enabled, fixed, qtok, qok, tok, ok)
					}
					if err == nil {
						p.Done(gate.Result{Verdict: gate.NotRun})
					}
				}
			}
		}
	}
}

// Answered changes a breaker exactly as Complete does with an Answered
// result, where it accepts the permit, and declines probes and slow calls
// the slow-call rule counts. Two breakers driven through the same calls,
// one completing answers by the closed path, must agree throughout.
func TestFastPathAnsweredAsComplete(t *testing.T) {
	verdicts := []gate.Verdict{gate.Failed, gate.Answered, gate.Failed, gate.Failed, gate.Answered,
		gate.Failed, gate.Failed, gate.Failed, gate.Answered, gate.Answered, gate.Failed, gate.Answered}
	for _, fc := range fastConfigs {
		var slow, fast circuit.Breaker
		rs, rf := newRig(t, &slow, fc.cfg), newRig(t, &fast, fc.cfg)
		f := fastgate.Of(&fast)
		took := 0
		for i, v := range verdicts {
			at := time.Duration(i) * 400 * time.Millisecond
			ps, oks := rs.admit(at)
			pf, okf := rf.admit(at)
			if oks != okf || ps.Reason != pf.Reason || ps.Token != pf.Token {
				t.Fatalf("%s: call %d admitted differently: %+v / %+v", fc.name, i, ps, pf)
			}
			if !oks {
				continue
			}
			end(ps, v, at, 2*time.Millisecond)
			lat, endAt := 2*time.Millisecond, t0.Add(at)
			if v == gate.Answered && f.Answered(ps.Completer, ps.Token, lat, endAt) {
				t.Fatalf("%s: call %d: the closed path completed another breaker's permit", fc.name, i)
			}
			if v == gate.Answered && f.Answered(pf.Completer, pf.Token, lat, endAt) {
				took++
				if pf.Reason != circuit.ReasonClosed || fc.cfg.SlowCallRateThreshold > 0 && lat > fc.cfg.SlowCallDuration {
					t.Errorf("%s: call %d: the closed path completed a %q permit of a slow call", fc.name, i, pf.Reason)
				}
			} else {
				end(pf, v, at, 2*time.Millisecond)
			}
			if s1, s2 := slow.Snapshot(t0.Add(at), rs.pol.Circuit), fast.Snapshot(t0.Add(at), rf.pol.Circuit); s1 != s2 {
				t.Fatalf("%s: after call %d (%v): %+v, closed path %+v", fc.name, i, v, s1, s2)
			}
		}
		if allSlow := fc.cfg.SlowCallRateThreshold > 0 && 2*time.Millisecond > fc.cfg.SlowCallDuration; allSlow != (took == 0) {
			t.Errorf("%s: the closed path completed %d answers", fc.name, took)
		}
	}
}

// A breaker driven as the executor drives it (the inline paths first,
// then the closed path, then Admit and Complete) changes exactly as one
// driven through the gate API, and takes the inline paths exactly under
// quiet rules.
func TestQuietPathAsComplete(t *testing.T) {
	verdicts := []gate.Verdict{gate.Answered, gate.Failed, gate.Answered, gate.Failed, gate.Failed, gate.Cancelled,
		gate.Failed, gate.Answered, gate.Failed, gate.Failed, gate.Failed, gate.Answered, gate.Answered, gate.Failed, gate.Answered}
	for _, fc := range fastConfigs {
		var gateAPI, exec circuit.Breaker
		rs, rf := newRig(t, &gateAPI, fc.cfg), newRig(t, &exec, fc.cfg)
		f := fastgate.Of(&exec)
		c := f.Circuit()
		cfg := &rf.pol.Circuit
		admits, answers := 0, 0
		for i, v := range verdicts {
			at := time.Duration(i) * 900 * time.Millisecond
			ps, oks := rs.admit(at)
			pf := gate.Permit{Reason: circuit.ReasonClosed, Completer: &exec}
			var okf bool
			if pf.Token, okf = c.AdmitQuiet(cfg); okf {
				admits++
			} else if pf.Token, okf = f.AdmitClosed(cfg, true); !okf {
				pf, okf = rf.admit(at)
			}
			if oks != okf || ps.Reason != pf.Reason || ps.Token != pf.Token {
				t.Fatalf("%s: call %d admitted differently: %+v / %+v", fc.name, i, ps, pf)
			}
			if !oks {
				continue
			}
			lat, endAt := 2*time.Millisecond, t0.Add(at)
			end(ps, v, at, lat)
			switch {
			case v == gate.Answered && c.AnsweredQuiet(pf.Token):
				answers++
			case v == gate.Answered && f.Answered(pf.Completer, pf.Token, lat, endAt):
			default:
				end(pf, v, at, lat)
			}
			if s1, s2 := gateAPI.Snapshot(endAt, rs.pol.Circuit), exec.Snapshot(endAt, rf.pol.Circuit); s1 != s2 {
				t.Fatalf("%s: after call %d (%v): %+v, as the executor drives it %+v", fc.name, i, v, s1, s2)
			}
		}
		if q := quiet(fc.cfg); q != (admits > 0) || q != (answers > 0) {
			t.Errorf("%s: %d admissions and %d answers inline", fc.name, admits, answers)
		}
	}
}

// The inline paths stop when the breaker's settings change to rules that
// count results, or to a policy not promised fixed, and resume when a
// fixed policy of quiet rules is seen again.
func TestQuietPathFollowsSettings(t *testing.T) {
	var b circuit.Breaker
	f := fastgate.Of(&b)
	c := f.Circuit()
	q := &policy.CircuitPolicy{Enabled: true, FailureThreshold: 3}
	rates := &policy.CircuitPolicy{Enabled: true, FailureThreshold: 3, FailureRateThreshold: 0.5}
	check := func(step string, cfg *policy.CircuitPolicy, want bool) {
		t.Helper()
		tok, ok := c.AdmitQuiet(cfg)
		if ok != want {
			t.Errorf("%s: AdmitQuiet = %v, want %v", step, ok, want)
		}
		if ok && !c.AnsweredQuiet(tok) {
			t.Errorf("%s: AnsweredQuiet declined an admitted permit", step)
		}
		if !ok && c.AnsweredQuiet(0) != (c.Quiet.Load() != nil) {
			t.Errorf("%s: AnsweredQuiet disagrees with Quiet", step)
		}
	}
	check("a new breaker", q, false)
	f.AdmitClosed(q, true)
	check("a fixed quiet policy", q, true)
	check("another policy", rates, false)
	f.AdmitClosed(rates, true)
	check("rates after quiet", q, false)
	check("rates", rates, false)
	if c.AnsweredQuiet(0) {
		t.Error("AnsweredQuiet under rules that count results")
	}
	f.AdmitClosed(q, true)
	check("quiet again", q, true)
	cp := *q
	cp.FailureThreshold = 4
	f.AdmitClosed(&cp, false)
	check("a policy not promised fixed", &cp, false)
	check("the old fixed policy", q, false)
	if c.AnsweredQuiet(0) {
		t.Error("AnsweredQuiet under settings of a policy not promised fixed")
	}
	f.AdmitClosed(q, true)
	check("a probe's token", q, true)
	if c.AnsweredQuiet(1) {
		t.Error("AnsweredQuiet took a probe's permit")
	}
}

// The closed path follows the policy it is asked under: a policy not
// promised fixed is compared field by field on every admission, so that
// changing it in place changes the breaker's rules; a fixed one is
// recognised by its address, and a different one, at another address,
// is compared and adopted.
func TestFastPathFollowsThePolicy(t *testing.T) {
	failTo := func(b *circuit.Breaker, cfg *policy.CircuitPolicy, fixed bool) int {
		t.Helper()
		f := fastgate.Of(b)
		for n := 1; n <= 10; n++ {
			tok, ok := f.AdmitClosed(cfg, fixed)
			if !ok {
				t.Fatalf("failure %d: the closed path declined a closed breaker", n)
			}
			b.Complete(gate.Permit{Reason: circuit.ReasonClosed, Completer: b, Token: tok}, gate.Result{Verdict: gate.Failed, End: t0})
			if !b.Closed() {
				return n
			}
		}
		return 0
	}
	// Changed in place, not promised fixed: the new threshold counts.
	var b1 circuit.Breaker
	mut := policy.CircuitPolicy{Enabled: true, FailureThreshold: 2}
	if _, ok := fastgate.Of(&b1).AdmitClosed(&mut, false); !ok {
		t.Fatal("the closed path declined a new breaker")
	}
	mut.FailureThreshold = 4
	if n := failTo(&b1, &mut, false); n != 4 {
		t.Errorf("a policy changed in place: opened after %d failures, want 4", n)
	}
	// Two fixed policies in turn: each admission's rules are its own.
	var b2 circuit.Breaker
	p3 := &policy.CircuitPolicy{Enabled: true, FailureThreshold: 3}
	p5 := &policy.CircuitPolicy{Enabled: true, FailureThreshold: 5}
	failTo(&b2, p3, true) // opens at 3
	b2.Reset(t0)
	if _, ok := fastgate.Of(&b2).AdmitClosed(p3, true); !ok {
		t.Fatal("the closed path declined a reset breaker")
	}
	if n := failTo(&b2, p5, true); n != 5 {
		t.Errorf("after a fixed policy of threshold 3, one of 5: opened after %d failures, want 5", n)
	}
	// A fixed policy already seen costs no allocation.
	var b3 circuit.Breaker
	f := fastgate.Of(&b3)
	f.AdmitClosed(p3, true)
	if n := testing.AllocsPerRun(100, func() { f.AdmitClosed(p3, true) }); n != 0 {
		t.Errorf("AdmitClosed under a fixed policy seen before: %v allocations", n)
	}
}

// fastgate.Of finds the closed path of breakers only.
func TestFastPathOnlyForBreakers(t *testing.T) {
	if f := fastgate.Of(gate.Func(func(context.Context, gate.Attempt, time.Time) (gate.Permit, error) {
		return gate.Permit{}, nil
	})); f != nil {
		t.Errorf("fastgate.Of(gate.Func) = %v", f)
	}
	if f := fastgate.Of(circuit.NewRegistry()); f != nil {
		t.Errorf("fastgate.Of(*circuit.Registry) = %v", f)
	}
}
