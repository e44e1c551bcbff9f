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
)

// OverloadScenario is an open-loop run against a QueueServer: calls arrive
// as a Poisson process whose rate may change over time (a spike), each
// attempt has a client-side timeout, and failed or timed-out attempts are
// retried as the retry policy and an optional client budget allow.
//
// The clients are Clients: every call runs through the executor's
// decision core (a budget asked before every attempt, retry.Backoff
// between attempts or a refusal's Retry-After in its place, MaxAttempts
// counting the first); the server side runs rego's real overload gates.
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
	// Timeout is each attempt's client-side timeout (the policy's
	// TimeoutPerAttempt, in place of Retry's): a reply that comes later is
	// wasted work. Zero means none.
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

// ovBackend counts the attempts sent to the server, by the second.
type ovBackend struct {
	srv *QueueServer
	at  func() *Second
}

func (b ovBackend) Serve(ctx context.Context, reply func(Answer)) {
	b.at().Attempts++
	b.srv.Serve(ctx, reply)
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
	p := policy.EffectivePolicy{Retry: sc.Retry}
	p.Retry.TimeoutPerAttempt = sc.Timeout
	if sc.Budget != nil {
		p.Retry.Budget.Name = "sim"
	}
	s := New(sc.Seed)
	srv, err := NewQueueServer(s, sc.Server)
	if err != nil {
		return OverloadReport{}, err
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
	n := sc.Clients
	if n <= 0 {
		n = 1
	}
	clients := make([]*Client, n)
	for i := range clients {
		reg := budget.NewRegistry()
		c, err := NewClient(s, ovBackend{srv: srv, at: at}, ClientConfig{Key: sc.Server.Key, Policy: &p, Budgets: reg})
		if err != nil {
			return OverloadReport{}, fmt.Errorf("%w: %w", ErrInvalidScenario, err)
		}
		// The budget's stream is drawn whether or not there is a budget,
		// so that runs differing only in their budget see the same
		// arrivals and service times.
		brnd := s.NewRand()
		if sc.Budget != nil {
			b, err := sc.Budget(s.Clock(), brnd)
			if err != nil {
				return OverloadReport{}, fmt.Errorf("%w: Budget: %w", ErrInvalidScenario, err)
			}
			reg.Register("sim", b)
		}
		clients[i] = c
	}
	critRng := s.NewRand()
	onDone := func(r Result) {
		if r.Err == nil {
			at().Goodput++
		}
	}

	arrivals := s.NewRand()
	next := 0
	var arrive func()
	arrive = func() {
		at().Offered++
		ctx := context.Background()
		if sc.Criticality != nil {
			ctx = gate.WithCriticality(ctx, sc.Criticality(critRng))
		}
		clients[next%n].CallContext(ctx, onDone)
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
