package sim

import (
	"context"
	"fmt"
	"time"

	"github.com/aponysus/rego/budget"
	"github.com/aponysus/rego/classify"
	"github.com/aponysus/rego/controlplane"
	"github.com/aponysus/rego/gate"
	"github.com/aponysus/rego/observe"
	"github.com/aponysus/rego/policy"
	"github.com/aponysus/rego/retry"
)

// ClientConfig describes a simulated client.
type ClientConfig struct {
	// Key is the key of the client's calls. The zero key is fine.
	Key policy.PolicyKey
	// Retry is the client's retry policy when Policy is nil; NewClient
	// normalises it, so its zero fields mean the policy defaults (3
	// attempts, full jitter, 100ms to 10s).
	Retry policy.RetryPolicy
	// Policy, when not nil, is the client's whole policy (Retry is then
	// ignored): hedging, the circuit breaker, the budgets it names, the
	// overload gates and the user gates it names all act as they do in
	// the executor, which runs them. Gates that would wait (a MaxWait) are
	// refused: an attempt cannot block the event loop.
	Policy *policy.EffectivePolicy
	// Budget gates every attempt, as the executor's registry would for a
	// policy naming it: it is registered under the name of the policy's
	// retry budget ("sim" when the policy names none). Nil means no
	// budget: every attempt is allowed.
	Budget budget.Budget
	// Budgets holds the budgets the policy names, on the simulation's
	// clock. Nil means none but Budget. Set Budget or Budgets, not both.
	Budgets *budget.Registry
	// Gates holds the user gates the policy names. Nil means none.
	Gates *gate.Registry
	// Classifier judges attempts when the policy names no classifier. Nil
	// means Classifier (the package variable).
	Classifier classify.Classifier
	// Executor, when not nil, runs the client's calls: clients of one
	// simulated process share one executor, and with it its breakers,
	// budgets, overload gates and latency trackers. Its Clock must be the
	// Sim's Clock, its provider serves the policy of Key, and its
	// RecoverPanics decides what a panic in user code does. Policy, Retry,
	// Budget, Budgets and Gates must then be left zero. Nil means NewClient
	// builds an executor of the client's own from them, drawing its jitter
	// from the client's random stream.
	Executor *retry.Executor
}

// Client makes calls to a Backend through rego's executor: every call is
// a retry.Call driven by the simulation's event queue.
type Client struct {
	s    *Sim
	srv  Backend
	key  policy.PolicyKey
	exec *retry.Executor
	pol  policy.EffectivePolicy
	own  bool // exec is the client's own; pol is its policy
	opts retry.CallOptions[Answer]
	st   Stats
}

// Result is the outcome of one simulated call.
type Result struct {
	Start, End time.Time
	// Attempts is how many attempts were sent to the server, hedges
	// included.
	Attempts int
	// Hedges is how many of them were hedges.
	Hedges int
	// Waited is the sum of the backoff waits between attempts.
	Waited time.Duration
	// Denied reports that a gate (a budget, the circuit breaker, another
	// gate) refused the attempt that would have come next, which ended
	// the call.
	Denied bool
	// Value is what the executor returned with Err: the winner's Answer,
	// or on failure the last answer an attempt got. An attempt that its
	// context ended has the zero Answer (whose Reply reads ReplyOK), as
	// has a call that ran nothing.
	Value Answer
	// Err is what the executor returned: nil on success; otherwise, as
	// for any call of the executor, the last attempt's error (ErrRetryable,
	// ErrNonRetryable, an error matching ErrTimeout), a *retry.StopError
	// wrapping it when the call stopped although it was worth retrying
	// (errors.Is finds retry.ErrAttemptsExhausted, retry.ErrDeadline,
	// budget.ErrDenied, circuit.ErrOpen, gate.ErrRefused), or the refusal
	// itself when nothing ran (a *budget.DeniedError, a
	// *circuit.OpenError, ...).
	Err error
	// Timeline is the call's timeline, as DoValueWithTimeline returns it.
	Timeline observe.Timeline
}

// Stats sums a client's calls.
type Stats struct {
	Calls     int64 // calls started
	Done      int64 // calls ended
	Succeeded int64
	Failed    int64 // ended with an error after sending an attempt
	Denied    int64 // ended by a gate with nothing sent
	Attempts  int64 // attempts sent to the server, hedges included
	Retries   int64 // attempts sent after the first of their call, hedges excluded
	Hedges    int64 // hedges sent to the server
	// Rejections counts attempts a gate refused (first, retry or hedge);
	// BudgetRefusals and CircuitRefusals count those a budget and the
	// circuit breaker refused.
	Rejections, BudgetRefusals, CircuitRefusals int64
}

// SuccessRate returns Succeeded / Done (1 when no call has ended).
func (st Stats) SuccessRate() float64 {
	if st.Done == 0 {
		return 1
	}
	return float64(st.Succeeded) / float64(st.Done)
}

// Add returns the sum of st and o.
func (st Stats) Add(o Stats) Stats {
	return Stats{
		Calls: st.Calls + o.Calls, Done: st.Done + o.Done, Succeeded: st.Succeeded + o.Succeeded,
		Failed: st.Failed + o.Failed, Denied: st.Denied + o.Denied, Attempts: st.Attempts + o.Attempts,
		Retries: st.Retries + o.Retries, Hedges: st.Hedges + o.Hedges, Rejections: st.Rejections + o.Rejections,
		BudgetRefusals: st.BudgetRefusals + o.BudgetRefusals, CircuitRefusals: st.CircuitRefusals + o.CircuitRefusals,
	}
}

// NewClient returns a client of srv in s. It splits a random stream of
// its own off s (the jitter of the executor it builds). The error wraps
// ErrInvalidClient and names the field at fault.
func NewClient(s *Sim, srv Backend, cfg ClientConfig) (*Client, error) {
	rng := s.NewRand()
	c := &Client{s: s, srv: srv, key: cfg.Key}
	c.opts.Classifier = cfg.Classifier
	if c.opts.Classifier == nil {
		c.opts.Classifier = Classifier
	}
	if cfg.Executor != nil {
		switch {
		case cfg.Policy != nil:
			return nil, fmt.Errorf("%w: ClientConfig.Policy is set with Executor: the executor's provider serves the policy", ErrInvalidClient)
		case cfg.Retry != policy.RetryPolicy{}:
			return nil, fmt.Errorf("%w: ClientConfig.Retry is set with Executor: the executor's provider serves the policy", ErrInvalidClient)
		case cfg.Budget != nil || cfg.Budgets != nil:
			return nil, fmt.Errorf("%w: ClientConfig.Budget or Budgets is set with Executor: register budgets in the executor's registry", ErrInvalidClient)
		case cfg.Gates != nil:
			return nil, fmt.Errorf("%w: ClientConfig.Gates is set with Executor: register gates in the executor's registry", ErrInvalidClient)
		}
		c.exec = cfg.Executor
		return c, nil
	}
	p := policy.EffectivePolicy{Retry: cfg.Retry}
	if cfg.Policy != nil {
		p = *cfg.Policy
	}
	p.Key = cfg.Key
	p, err := p.Normalize()
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidClient, err)
	}
	if err := checkNoWait(&p); err != nil {
		return nil, err
	}
	reg := cfg.Budgets
	if cfg.Budget != nil {
		if reg != nil {
			return nil, fmt.Errorf("%w: ClientConfig.Budget and Budgets are both set: register the budget in Budgets", ErrInvalidClient)
		}
		if p.Retry.Budget.Name == "" {
			p.Retry.Budget.Name = "sim"
		}
		reg = budget.NewRegistry()
		reg.Register(p.Retry.Budget.Name, cfg.Budget)
	}
	c.pol, c.own = p, true
	c.exec = retry.NewExecutor(retry.ExecutorOptions{
		Clock: s.Clock(), Rand: rng, Budgets: reg, Gates: cfg.Gates,
		Provider: &controlplane.StaticProvider{Policies: map[policy.PolicyKey]policy.EffectivePolicy{cfg.Key: p}},
	})
	return c, nil
}

// checkNoWait refuses gates that would wait: on the event loop an
// attempt cannot block.
func checkNoWait(p *policy.EffectivePolicy) error {
	if w := GateWaits(p); len(w) > 0 {
		return fmt.Errorf("%w: ClientConfig.Policy.%s.MaxWait is %v: a simulated attempt cannot wait for a gate (set it to zero)", ErrInvalidClient, w[0].Field, w[0].Wait)
	}
	return nil
}

// GateWait is a gate of a policy that lets attempts wait for it.
type GateWait struct {
	// Field names the policy's section: "Bulkhead", "RateLimit" or
	// "Concurrency".
	Field string
	// Name is the gate in words: "bulkhead", "rate limit", "adaptive
	// concurrency limit".
	Name string
	// Wait is its MaxWait.
	Wait time.Duration
}

// GateWaits lists the enabled gates of p whose MaxWait is positive, in
// the order of gate.Order. NewClient refuses a policy with any: an
// attempt cannot wait on the event loop.
func GateWaits(p *policy.EffectivePolicy) []GateWait {
	var out []GateWait
	add := func(on bool, field, name string, wait time.Duration) {
		if on && wait > 0 {
			out = append(out, GateWait{Field: field, Name: name, Wait: wait})
		}
	}
	add(p.RateLimit.Enabled, "RateLimit", "rate limit", p.RateLimit.MaxWait)
	add(p.Bulkhead.Enabled, "Bulkhead", "bulkhead", p.Bulkhead.MaxWait)
	add(p.Concurrency.Enabled, "Concurrency", "adaptive concurrency limit", p.Concurrency.MaxWait)
	return out
}

// Policy returns the client's normalised retry policy (the zero policy
// when the client runs on an executor it was given).
func (c *Client) Policy() policy.RetryPolicy { return c.pol.Retry }

// EffectivePolicy returns the client's normalised policy, and false when
// the client runs on an executor it was given (whose provider decides).
func (c *Client) EffectivePolicy() (policy.EffectivePolicy, bool) { return c.pol, c.own }

// Executor returns the executor the client's calls run on.
func (c *Client) Executor() *retry.Executor { return c.exec }

// Stats returns the client's counters so far.
func (c *Client) Stats() Stats { return c.st }

// Call starts a call now; done, if not nil, receives its result when it
// ends.
func (c *Client) Call(done func(Result)) { c.CallContext(context.Background(), done) }

// CallContext is Call with ctx as the call's context: its values (a
// gate.Criticality, say) reach the gates and the backend. The simulation
// never ends a call for its context: ctx must have no deadline and must
// not be cancelled.
func (c *Client) CallContext(ctx context.Context, done func(Result)) {
	c.st.Calls++
	k := &call{c: c, done: done}
	k.res.Start = c.s.Now()
	k.k = retry.Begin[Answer](ctx, c.exec, c.key, c.opts)
	k.advance()
}
