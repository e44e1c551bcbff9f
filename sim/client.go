package sim

import (
	"context"
	"errors"
	"math/rand"
	"time"

	"github.com/aponysus/rego/budget"
	"github.com/aponysus/rego/policy"
	"github.com/aponysus/rego/retry"
)

// Errors a simulated call can end with, besides *budget.DeniedError.
var (
	ErrRetryable    = errors.New("sim: retryable failure")
	ErrNonRetryable = errors.New("sim: non-retryable failure")
	ErrTimeout      = errors.New("sim: attempt timed out")
	ErrDeadline     = errors.New("sim: call deadline exceeded")
)

// ClientConfig describes a simulated client.
type ClientConfig struct {
	// Key is passed to the budget. The zero key is fine.
	Key policy.PolicyKey
	// Retry is the client's retry policy; NewClient normalises it, so its
	// zero fields mean the policy defaults (3 attempts, full jitter, 100ms
	// to 10s). Retry.Budget.Cost is passed to the budget; Retry.Budget.Name
	// names it in denial errors.
	Retry policy.RetryPolicy
	// Budget gates every attempt, as the executor's registry would for a
	// policy naming it. Nil means no budget: every attempt is allowed.
	Budget budget.Budget
}

// Client makes calls to a Server the way rego's executor makes them.
type Client struct {
	s    *Sim
	srv  *Server
	key  policy.PolicyKey
	rp   policy.RetryPolicy
	b    budget.Budget
	rec  budget.OutcomeRecorder
	rng  *rand.Rand
	ctx  context.Context
	st   Stats
	name string
}

// Result is the outcome of one simulated call.
type Result struct {
	Start, End time.Time
	// Attempts is how many attempts were sent to the server.
	Attempts int
	// Waited is the sum of the backoff waits between attempts.
	Waited time.Duration
	// Denied reports that a budget denied the call's last attempt.
	Denied bool
	// Err is nil on success; otherwise the last attempt's error
	// (ErrRetryable, ErrNonRetryable, ErrTimeout), ErrDeadline, or a
	// *budget.DeniedError when the budget denied the first attempt.
	Err error
}

// Stats sums a client's calls.
type Stats struct {
	Calls     int64 // calls started
	Done      int64 // calls ended
	Succeeded int64
	Failed    int64 // ended with an operation error or ErrDeadline
	Denied    int64 // ended by a budget with nothing sent (*budget.DeniedError)
	Attempts  int64 // attempts sent to the server
	Retries   int64 // attempts sent after the first of their call
	// Rejections counts attempts a budget denied (first or not).
	Rejections int64
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
		Retries: st.Retries + o.Retries, Rejections: st.Rejections + o.Rejections,
	}
}

// NewClient returns a client of srv in s with its own random stream for
// jitter. The error comes from normalising cfg.Retry.
func NewClient(s *Sim, srv *Server, cfg ClientConfig) (*Client, error) {
	p, err := policy.EffectivePolicy{Key: cfg.Key, Retry: cfg.Retry}.Normalize()
	if err != nil {
		return nil, err
	}
	c := &Client{s: s, srv: srv, key: cfg.Key, rp: p.Retry, b: cfg.Budget, rng: s.NewRand(), ctx: context.Background()}
	if r, ok := cfg.Budget.(budget.OutcomeRecorder); ok {
		c.rec = r
	}
	return c, nil
}

// Policy returns the client's normalised retry policy.
func (c *Client) Policy() policy.RetryPolicy { return c.rp }

// Stats returns the client's counters so far.
func (c *Client) Stats() Stats { return c.st }

// call is the state of one call in flight.
type call struct {
	c        *Client
	res      Result
	launched int
	step     int
	prevWait time.Duration
	deadline time.Time
	lastErr  error
	done     func(Result)
}

// Call starts a call now; done, if not nil, receives its result when it
// ends.
func (c *Client) Call(done func(Result)) {
	c.st.Calls++
	k := &call{c: c, done: done}
	k.res.Start = c.s.Now()
	if d := c.rp.OverallTimeout; d > 0 {
		k.deadline = k.res.Start.Add(d)
	}
	if dec, ok := k.gate(); ok {
		k.attempt(0, dec)
	}
}

// gate asks the budget about the next attempt, as the executor does:
// before the wait, so that a denied retry costs no waiting. A denial ends
// the call.
func (k *call) gate() (budget.Decision, bool) {
	c := k.c
	dec := budget.Decision{Allowed: true}
	if c.b != nil {
		dec = c.b.AllowAttempt(c.ctx, c.key, k.launched, budget.KindRetry, c.rp.Budget)
	}
	if !dec.Allowed {
		if dec.Release != nil {
			dec.Release()
		}
		c.st.Rejections++
		k.res.Denied = true
		err := k.lastErr
		if err == nil {
			err = &budget.DeniedError{Budget: c.budgetName(), Kind: budget.KindRetry, Reason: dec.Reason}
		}
		k.finish(err)
		return dec, false
	}
	return dec, true
}

// attempt launches the attempt the budget allowed, after the wait it
// waited.
func (k *call) attempt(wait time.Duration, dec budget.Decision) {
	c := k.c
	k.res.Waited += wait
	if k.launched > 0 {
		c.st.Retries++
	}
	k.launched++
	k.res.Attempts++
	c.st.Attempts++

	// The attempt ends at the first of the server's reply, the per-attempt
	// timeout and the call's deadline.
	ended := false
	var timer *Event
	end := func(rep Reply, err error) {
		if ended {
			return
		}
		ended = true
		if timer != nil {
			timer.Cancel()
		}
		if dec.Release != nil {
			dec.Release()
		}
		if c.rec != nil {
			c.rec.RecordOutcome(c.key, budget.KindRetry, rep == ReplyOK || rep == ReplyNonRetryable)
		}
		k.after(rep, err)
	}
	limit := c.rp.TimeoutPerAttempt
	var limitErr error = ErrTimeout
	if !k.deadline.IsZero() {
		if left := k.deadline.Sub(c.s.Now()); limit <= 0 || left < limit {
			limit, limitErr = left, ErrDeadline
		}
	}
	if limit > 0 {
		timer = c.s.After(limit, func() { end(ReplyRetryable, limitErr) })
	}
	c.srv.Handle(func(rep Reply) { end(rep, nil) })
}

// after decides what follows an attempt's end.
func (k *call) after(rep Reply, err error) {
	c := k.c
	switch {
	case err == ErrDeadline:
		k.finish(err)
		return
	case rep == ReplyOK:
		k.finish(nil)
		return
	case rep == ReplyNonRetryable:
		k.finish(ErrNonRetryable)
		return
	}
	if err == nil {
		err = ErrRetryable
	}
	k.lastErr = err
	if k.launched >= c.rp.MaxAttempts {
		k.finish(err)
		return
	}
	k.step++
	wait := retry.Backoff(c.rp, k.step, k.prevWait, c.rng.Float64())
	k.prevWait = wait
	if !k.deadline.IsZero() && !c.s.Now().Add(wait).Before(k.deadline) {
		k.finish(err)
		return
	}
	dec, ok := k.gate()
	if !ok {
		return
	}
	c.s.After(wait, func() { k.attempt(wait, dec) })
}

func (k *call) finish(err error) {
	c := k.c
	k.res.End = c.s.Now()
	k.res.Err = err
	c.st.Done++
	var de *budget.DeniedError
	switch {
	case err == nil:
		c.st.Succeeded++
	case errors.As(err, &de):
		c.st.Denied++
	default:
		c.st.Failed++
	}
	if k.done != nil {
		k.done(k.res)
	}
}

func (c *Client) budgetName() string {
	if c.name == "" {
		c.name = c.rp.Budget.Name
		if c.name == "" {
			c.name = "sim"
		}
	}
	return c.name
}
