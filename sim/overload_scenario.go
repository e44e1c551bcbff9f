package sim

import (
	"context"
	"fmt"
	"math/rand"
	"sort"
	"time"

	"github.com/aponysus/rego/budget"
	"github.com/aponysus/rego/clock"
	"github.com/aponysus/rego/gate"
	"github.com/aponysus/rego/policy"
	"github.com/aponysus/rego/retry"
)

// OverloadScenario is an open-loop run against a QueueServer: calls arrive
// as a Poisson process whose rate may change over time (a spike), each
// attempt has a client-side timeout, and failed or timed-out attempts are
// retried as the retry policy and an optional client budget allow.
//
// The client side is a model of rego's executor (the loop of Client: a
// budget asked before every attempt, retry.Backoff between attempts,
// MaxAttempts counting the first), not the executor itself; the server
// side runs rego's real overload gates.
type OverloadScenario struct {
	Seed int64
	// Duration is how long calls keep arriving; must be positive.
	Duration time.Duration
	// Rate is the offered load, in calls per second, at each moment of
	// virtual time since the start; must be positive for some moment.
	Rate func(elapsed time.Duration) float64
	// Server is the server; its Gates are used as they are (nil: no
	// gates).
	Server QueueConfig
	// Timeout is each attempt's client-side timeout: a reply that comes
	// later is wasted work. Zero means none.
	Timeout time.Duration
	// Retry is the clients' retry policy (normalised; zero fields are the
	// defaults). MaxAttempts 1 means no retries.
	Retry policy.RetryPolicy
	// Clients is how many clients share the load, round robin, each with
	// its own budget. Zero means 1.
	Clients int
	// Budget makes one client's budget on the simulation's clock. Nil
	// means none.
	Budget func(clk clock.Clock, rnd *rand.Rand) (budget.Budget, error)
	// Criticality draws each call's criticality. Nil means the default.
	Criticality func(r *rand.Rand) gate.Criticality
}

// Second is what one second of an overload run measured.
type Second struct {
	// Offered is the calls that started.
	Offered int64
	// Attempts is the attempts sent to the server (first and retries).
	Attempts int64
	// Goodput is the calls that succeeded within their timeout, by the
	// second they ended.
	Goodput int64
	// Refused is the attempts the server's gates refused.
	Refused int64
	// Served is the requests the server finished, useful or not.
	Served int64
	// Queued is the server's queue at the end of the second.
	Queued int
}

// OverloadReport is what an overload run measured.
type OverloadReport struct {
	Seconds []Second
	// Server is the server, for its sojourn times.
	Server *QueueServer
}

// GoodputBetween is the mean goodput per second over the whole seconds
// [from, to).
func (r OverloadReport) GoodputBetween(from, to time.Duration) float64 {
	var n int64
	a, b := int(from/time.Second), int(to/time.Second)
	for i := a; i < b && i < len(r.Seconds); i++ {
		n += r.Seconds[i].Goodput
	}
	if b <= a {
		return 0
	}
	return float64(n) / float64(b-a)
}

// Quantile returns the q-quantile (0 < q <= 1) of ds, zero when empty.
func Quantile(ds []time.Duration, q float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := append([]time.Duration(nil), ds...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	i := int(q*float64(len(s))+0.5) - 1
	if i < 0 {
		i = 0
	}
	if i >= len(s) {
		i = len(s) - 1
	}
	return s[i]
}

// ovClient is one simulated client of an overload run.
type ovClient struct {
	b   budget.Budget
	rec budget.OutcomeRecorder
	rng *rand.Rand
}

// RunOverload runs sc and reports what it measured, second by second,
// until every call has ended.
func RunOverload(sc OverloadScenario) (OverloadReport, error) {
	if sc.Duration <= 0 {
		return OverloadReport{}, fmt.Errorf("%w: Duration must be positive, got %v", ErrInvalidScenario, sc.Duration)
	}
	if sc.Rate == nil {
		return OverloadReport{}, fmt.Errorf("%w: Rate is nil", ErrInvalidScenario)
	}
	p, err := policy.EffectivePolicy{Retry: sc.Retry}.Normalize()
	if err != nil {
		return OverloadReport{}, fmt.Errorf("%w: Retry: %w", ErrInvalidScenario, err)
	}
	rp := p.Retry
	s := New(sc.Seed)
	srv, err := NewQueueServer(s, sc.Server)
	if err != nil {
		return OverloadReport{}, err
	}
	n := sc.Clients
	if n <= 0 {
		n = 1
	}
	clients := make([]*ovClient, n)
	for i := range clients {
		// The budget's stream is drawn whether or not there is a budget,
		// so that runs differing only in their budget see the same
		// arrivals and service times.
		c := &ovClient{rng: s.NewRand()}
		brnd := s.NewRand()
		if sc.Budget != nil {
			if c.b, err = sc.Budget(s.Clock(), brnd); err != nil {
				return OverloadReport{}, fmt.Errorf("%w: Budget: %w", ErrInvalidScenario, err)
			}
			c.rec, _ = c.b.(budget.OutcomeRecorder)
		}
		clients[i] = c
	}
	var rep OverloadReport
	rep.Server = srv
	at := func() *Second {
		sec := int(s.Elapsed() / time.Second)
		for len(rep.Seconds) <= sec {
			rep.Seconds = append(rep.Seconds, Second{})
		}
		return &rep.Seconds[sec]
	}
	critRng := s.NewRand()
	ctx := context.Background()
	key := sc.Server.Key

	// call runs one call of client c: attempt after attempt.
	var attempt func(c *ovClient, crit gate.Criticality, launched int, prevWait time.Duration)
	attempt = func(c *ovClient, crit gate.Criticality, launched int, prevWait time.Duration) {
		var dec budget.Decision
		if c.b != nil {
			dec = c.b.AllowAttempt(ctx, key, launched, budget.KindRetry, rp.Budget)
			if !dec.Allowed {
				if dec.Release != nil {
					dec.Release()
				}
				return // the call ends with its last error
			}
		}
		at().Attempts++
		ended := false
		var timer *Event
		end := func(ok bool, answered bool, retryAfter time.Duration) {
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
				c.rec.RecordOutcome(key, budget.KindRetry, answered)
			}
			if ok {
				at().Goodput++
				return
			}
			if launched+1 >= rp.MaxAttempts {
				return
			}
			wait := retry.Backoff(rp, launched+1, prevWait, c.rng.Float64())
			if retryAfter > wait {
				wait = retryAfter
			}
			s.After(wait, func() { attempt(c, crit, launched+1, wait) })
		}
		if sc.Timeout > 0 {
			timer = s.After(sc.Timeout, func() { end(false, false, 0) })
		}
		srv.Handle(crit, func(r Reply, retryAfter time.Duration) {
			if r == ReplyOK {
				end(true, true, 0)
				return
			}
			end(false, false, retryAfter)
		})
	}

	arrivals := s.NewRand()
	next := 0
	var arrive func()
	arrive = func() {
		at().Offered++
		crit := gate.CriticalityDefault
		if sc.Criticality != nil {
			crit = sc.Criticality(critRng)
		}
		attempt(clients[next%n], crit, 0, 0)
		next++
		// Thinning would be exact for a changing rate; the rate here moves
		// in steps of seconds, so the rate at the arrival is close enough.
		r := sc.Rate(s.Elapsed())
		if r <= 0 {
			r = 1e-9
		}
		gap := time.Duration(arrivals.ExpFloat64() * float64(time.Second) / r)
		if s.Elapsed()+gap < sc.Duration {
			s.After(gap, arrive)
		}
	}
	// Sample the queue at the end of every second.
	var tick func()
	tick = func() {
		if s.Elapsed() > 0 {
			sec := int(s.Elapsed()/time.Second) - 1
			for len(rep.Seconds) <= sec {
				rep.Seconds = append(rep.Seconds, Second{})
			}
			rep.Seconds[sec].Queued = srv.Queued()
		}
		if s.Elapsed() < sc.Duration {
			s.After(time.Second, tick)
		}
	}
	s.After(0, tick)
	s.After(0, arrive)
	s.RunUntil(Epoch.Add(sc.Duration))
	// Drain: no new calls; let what is under way end, but not forever (a
	// server without a limit may hold minutes of queue).
	s.RunUntil(Epoch.Add(sc.Duration + 10*time.Second))
	if len(rep.Seconds) > int(sc.Duration/time.Second) {
		rep.Seconds = rep.Seconds[:int(sc.Duration/time.Second)]
	}
	for i := range rep.Seconds {
		if i < len(srv.Refused) {
			rep.Seconds[i].Refused = srv.Refused[i]
		}
		if i < len(srv.Completed) {
			rep.Seconds[i].Served = srv.Completed[i]
		}
	}
	return rep, nil
}
