package sim

import (
	"errors"
	"fmt"
	"math"
	"math/rand"
	"time"

	"github.com/aponysus/rego/budget"
	"github.com/aponysus/rego/clock"
	"github.com/aponysus/rego/policy"
)

// ErrInvalidScenario is wrapped by every error Run returns for a bad
// Scenario.
var ErrInvalidScenario = errors.New("sim: invalid scenario")

// Scenario is an open-loop run: calls arrive at a fixed offered rate for a
// while, spread over clients that share one server; then the run drains
// until every call has ended.
type Scenario struct {
	// Seed makes the run reproducible.
	Seed int64
	// Duration is how long calls keep arriving; must be positive.
	Duration time.Duration
	// Rate is the offered load in calls per second over all clients; must
	// be positive.
	Rate float64
	// Poisson spaces arrivals exponentially (a Poisson process). False
	// spaces them evenly.
	Poisson bool
	// Clients is how many clients share the load, round robin, each with
	// its own budget (as separate processes would). Zero means 1.
	Clients int
	// Server describes the server.
	Server ServerConfig
	// Retry is every client's retry policy when Policy is nil
	// (normalised; zero fields are the defaults).
	Retry policy.RetryPolicy
	// Policy, when not nil, is every client's whole policy (Retry is then
	// ignored): its hedging, circuit breaker, budgets, overload gates and
	// classifier run as in the executor (see ClientConfig.Policy).
	Policy *policy.EffectivePolicy
	// Budget makes one client's budget, on the simulation's clock; rnd is
	// a random stream of the simulation for budgets that draw (such as
	// budget.Throttle). Each client gets one under each budget name its
	// policy gives (the retry budget's and the hedge budget's; "sim" for
	// retries when the policy names none). Nil means no budget: a budget
	// the policy names is then missing, and the executor admits the
	// attempts it would gate (recorded as budget_not_found).
	Budget func(clk clock.Clock, rnd *rand.Rand) (budget.Budget, error)
}

// Report is what a Scenario run measured.
type Report struct {
	// Stats sums every client's calls, after the drain.
	Stats Stats
	// Offered is the number of calls made (all in [0, Duration)).
	Offered int64
	// Received is the number of attempts the server received in
	// [0, Duration).
	Received int64
	// Load is Received / Offered: the load amplification. 1 means every
	// call reached the server once.
	Load float64
	// SuccessRate is the fraction of calls that succeeded.
	SuccessRate float64
	// Shed is how many attempts the server turned away for lack of
	// capacity, over the whole run.
	Shed int64
	// End is the virtual time at which the last call ended.
	End time.Duration
	// Events is how many simulation events ran.
	Events int64
}

// clientConfig makes one client's configuration: its policy and its
// budgets, one from mk under each budget name the policy gives ("sim" for
// retries when it names none, which names it in the client's policy).
func clientConfig(s *Sim, sc *Scenario) (ClientConfig, error) {
	cfg := ClientConfig{Retry: sc.Retry, Policy: sc.Policy}
	if sc.Budget == nil {
		return cfg, nil
	}
	if sc.Policy == nil {
		b, err := sc.Budget(s.Clock(), s.NewRand())
		cfg.Budget = b
		return cfg, err
	}
	p := *sc.Policy
	if p.Retry.Budget.Name == "" {
		p.Retry.Budget.Name = "sim"
	}
	cfg.Policy, cfg.Budgets = &p, budget.NewRegistry()
	for _, name := range []string{p.Retry.Budget.Name, p.Hedge.Budget.Name} {
		if _, made := cfg.Budgets.Get(name); name == "" || made {
			continue
		}
		b, err := sc.Budget(s.Clock(), s.NewRand())
		if err != nil {
			return cfg, err
		}
		cfg.Budgets.Register(name, b)
	}
	return cfg, nil
}

// Run runs sc and reports what it measured.
func Run(sc Scenario) (Report, error) {
	if sc.Duration <= 0 {
		return Report{}, fmt.Errorf("%w: Duration must be positive, got %v", ErrInvalidScenario, sc.Duration)
	}
	if !(sc.Rate > 0) || math.IsInf(sc.Rate, 1) {
		return Report{}, fmt.Errorf("%w: Rate must be positive and finite, got %v", ErrInvalidScenario, sc.Rate)
	}
	if sc.Clients < 0 {
		return Report{}, fmt.Errorf("%w: Clients must not be negative, got %d", ErrInvalidScenario, sc.Clients)
	}
	n := sc.Clients
	if n == 0 {
		n = 1
	}
	s := New(sc.Seed)
	srv := NewServer(s, sc.Server)
	arrivals := s.NewRand()
	clients := make([]*Client, n)
	for i := range clients {
		cfg, err := clientConfig(s, &sc)
		if err != nil {
			return Report{}, fmt.Errorf("%w: Budget: %w", ErrInvalidScenario, err)
		}
		c, err := NewClient(s, srv, cfg)
		if err != nil {
			return Report{}, fmt.Errorf("%w: %w", ErrInvalidScenario, err)
		}
		clients[i] = c
	}

	var rep Report
	// Scheduled before any arrival, so it runs first among the events due
	// at Duration: it sees exactly the attempts received before it.
	s.After(sc.Duration, func() { rep.Received = srv.Received() })

	var last time.Time
	onDone := func(r Result) {
		if r.End.After(last) {
			last = r.End
		}
	}
	mean := float64(time.Second) / sc.Rate
	next := 0
	var arrive func()
	arrive = func() {
		clients[next%n].Call(onDone)
		next++
		gap := time.Duration(mean)
		if sc.Poisson {
			gap = time.Duration(arrivals.ExpFloat64() * mean)
		} else {
			// Even spacing without drift: the k-th call comes at k*mean.
			gap = time.Duration(float64(next)*mean) - s.Elapsed()
		}
		if s.Elapsed()+gap < sc.Duration {
			s.After(gap, arrive)
		}
	}
	s.After(0, arrive)
	s.Run()

	for _, c := range clients {
		rep.Stats = rep.Stats.Add(c.Stats())
	}
	rep.Offered = rep.Stats.Calls
	if rep.Offered > 0 {
		rep.Load = float64(rep.Received) / float64(rep.Offered)
	}
	rep.SuccessRate = rep.Stats.SuccessRate()
	rep.Shed = srv.Shed()
	if !last.IsZero() {
		rep.End = last.Sub(Epoch)
	}
	rep.Events = s.Events()
	return rep, nil
}
