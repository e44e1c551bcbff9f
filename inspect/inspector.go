package inspect

import (
	"context"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aponysus/rego/budget"
	"github.com/aponysus/rego/circuit"
	"github.com/aponysus/rego/clock"
	"github.com/aponysus/rego/controlplane"
	"github.com/aponysus/rego/hedge"
	"github.com/aponysus/rego/observe"
	"github.com/aponysus/rego/policy"
)

// Defaults for the zero Options.
const (
	DefaultMaxKeys   = 256
	DefaultTimelines = 8
	DefaultDenials   = 16
	DefaultSamples   = 256
	DefaultEvents    = 64
)

// maxOverflowListed bounds the keys and registries named in the overflow
// section, so that the overflow report cannot grow either.
const maxOverflowListed = 32

// Options configures an Inspector. The zero value keeps DefaultMaxKeys keys
// with the default history sizes and has no references: the page then
// shows what the Inspector heard as an observer.
type Options struct {
	// MaxKeys bounds the keys tracked; calls of later keys are only
	// counted (Overflow.UntrackedCalls). Zero or negative means
	// DefaultMaxKeys.
	MaxKeys int
	// Timelines is how many recent timelines each key keeps. Zero or
	// negative means DefaultTimelines.
	Timelines int
	// Denials is how many recent denied attempts each key keeps. Zero or
	// negative means DefaultDenials.
	Denials int
	// Samples is how many recent attempt durations each key keeps for its
	// latency quantiles. Zero or negative means DefaultSamples.
	Samples int
	// Events is how many recent lifecycle events are kept. Zero or
	// negative means DefaultEvents.
	Events int

	// Provider is asked, when the page is rendered, for the policy each
	// key gets now; its Version and LastError (when it has them) are shown
	// too. If nil, each key shows the policy of its last call.
	Provider controlplane.PolicyProvider
	// Breakers is the executor's circuit.Registry (ExecutorOptions.Breakers):
	// each key whose policy enables a breaker shows its live state. If
	// nil, the state comes from the last breaker event heard.
	Breakers *circuit.Registry
	// Latencies is the executor's hedge.Latencies: each hedged key shows
	// its hedge trigger's quantiles. If nil, they are not shown.
	Latencies *hedge.Latencies
	// Budgets is the executor's budget registry: the budgets the policies
	// name show their levels. If nil, only their names are shown.
	Budgets *budget.Registry
	// Clock reads "now" for breaker states and budget levels; it must be
	// the clock the executor and the budgets run on. If nil, clock.Real.
	Clock clock.Clock
}

// Inspector observes an executor and serves what it saw. It implements
// observe.Observer, observe.EventObserver and http.Handler, and is safe for
// concurrent use. Its callbacks take one short lock of the key's state.
type Inspector struct {
	opts Options
	clk  clock.Clock

	mu   sync.RWMutex
	keys map[policy.PolicyKey]*keyState
	// order lists the keys in the order they were first seen.
	order []policy.PolicyKey

	untracked     atomic.Uint64
	untrackedMu   sync.Mutex
	untrackedKeys []string

	evMu        sync.Mutex
	events      ring[observe.Event]
	eventCounts map[observe.EventKind]uint64
	overflowed  map[string]uint64 // EventKeyOverflow by Detail
}

var (
	_ observe.Observer      = (*Inspector)(nil)
	_ observe.EventObserver = (*Inspector)(nil)
)

// keyState is what the Inspector keeps about one key.
type keyState struct {
	mu        sync.Mutex
	policy    policy.EffectivePolicy
	hasPolicy bool
	counts    Counts
	stops     map[string]uint64
	latencies ring[time.Duration]
	denials   ring[Denial]
	timelines ring[observe.Timeline]
	breaker   *BreakerState
}

// New returns an Inspector configured by opts.
func New(opts Options) *Inspector {
	def := func(v *int, d int) {
		if *v <= 0 {
			*v = d
		}
	}
	def(&opts.MaxKeys, DefaultMaxKeys)
	def(&opts.Timelines, DefaultTimelines)
	def(&opts.Denials, DefaultDenials)
	def(&opts.Samples, DefaultSamples)
	def(&opts.Events, DefaultEvents)
	in := &Inspector{
		opts:        opts,
		clk:         opts.Clock,
		keys:        make(map[policy.PolicyKey]*keyState),
		events:      newRing[observe.Event](opts.Events),
		eventCounts: make(map[observe.EventKind]uint64),
		overflowed:  make(map[string]uint64),
	}
	if in.clk == nil {
		in.clk = clock.Real{}
	}
	return in
}

// state returns key's state, creating it while there is room; nil (and the
// call counted as untracked) when MaxKeys keys are tracked already.
func (in *Inspector) state(key policy.PolicyKey) *keyState {
	in.mu.RLock()
	st := in.keys[key]
	in.mu.RUnlock()
	if st != nil {
		return st
	}
	in.mu.Lock()
	defer in.mu.Unlock()
	if st = in.keys[key]; st != nil {
		return st
	}
	if len(in.keys) >= in.opts.MaxKeys {
		return nil
	}
	st = &keyState{
		stops:     make(map[string]uint64),
		latencies: newRing[time.Duration](in.opts.Samples),
		denials:   newRing[Denial](in.opts.Denials),
		timelines: newRing[observe.Timeline](in.opts.Timelines),
	}
	in.keys[key] = st
	in.order = append(in.order, key)
	return st
}

// untrack counts a call of a key the Inspector has no room for.
func (in *Inspector) untrack(key policy.PolicyKey) {
	in.untracked.Add(1)
	in.untrackedMu.Lock()
	defer in.untrackedMu.Unlock()
	if len(in.untrackedKeys) >= maxOverflowListed {
		return
	}
	s := key.String()
	for _, k := range in.untrackedKeys {
		if k == s {
			return
		}
	}
	in.untrackedKeys = append(in.untrackedKeys, s)
}

// OnStart records the policy the call runs under.
func (in *Inspector) OnStart(_ context.Context, key policy.PolicyKey, p policy.EffectivePolicy) {
	st := in.state(key)
	if st == nil {
		in.untrack(key)
		return
	}
	st.mu.Lock()
	st.policy, st.hasPolicy = p, true
	st.mu.Unlock()
}

// OnAttempt counts the attempt and keeps its duration, or the denial.
func (in *Inspector) OnAttempt(_ context.Context, key policy.PolicyKey, rec observe.AttemptRecord) {
	st := in.known(key)
	if st == nil {
		return
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	switch {
	case !rec.BudgetAllowed:
		st.counts.Denied++
		st.denials.add(denialOf(rec))
	case rec.Cancelled:
		// OnHedgeCancel counts it.
	default:
		st.counts.Attempts++
		if !rec.StartTime.IsZero() && !rec.EndTime.IsZero() {
			st.latencies.add(rec.EndTime.Sub(rec.StartTime))
		}
	}
}

// OnHedgeSpawn counts a hedge.
func (in *Inspector) OnHedgeSpawn(_ context.Context, key policy.PolicyKey, _ observe.AttemptRecord) {
	if st := in.known(key); st != nil {
		st.mu.Lock()
		st.counts.Hedges++
		st.mu.Unlock()
	}
}

// OnHedgeCancel counts an attempt the executor cancelled.
func (in *Inspector) OnHedgeCancel(_ context.Context, key policy.PolicyKey, _ observe.AttemptRecord, _ string) {
	if st := in.known(key); st != nil {
		st.mu.Lock()
		st.counts.Cancelled++
		st.mu.Unlock()
	}
}

// OnSuccess keeps the call's timeline.
func (in *Inspector) OnSuccess(_ context.Context, key policy.PolicyKey, tl observe.Timeline) {
	in.call(key, tl, true)
}

// OnFailure keeps the call's timeline and its stop reason.
func (in *Inspector) OnFailure(_ context.Context, key policy.PolicyKey, tl observe.Timeline) {
	in.call(key, tl, false)
}

func (in *Inspector) call(key policy.PolicyKey, tl observe.Timeline, ok bool) {
	st := in.known(key)
	if st == nil {
		return
	}
	// The executor may still write to the records of attempts it left
	// running; keep a copy.
	tl.Attempts = append([]observe.AttemptRecord(nil), tl.Attempts...)
	if tl.Attributes != nil {
		attrs := make(map[string]string, len(tl.Attributes))
		for k, v := range tl.Attributes {
			attrs[k] = v
		}
		tl.Attributes = attrs
	}
	stop := tl.Attributes[observe.AttrStopReason]
	if stop == "" {
		stop = "none"
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	st.counts.Calls++
	if ok {
		st.counts.Succeeded++
	} else {
		st.counts.Failed++
	}
	// Stop reasons are a closed set of the executor's; the bound only
	// guards against a future executor with many more.
	if _, seen := st.stops[stop]; seen || len(st.stops) < maxOverflowListed {
		st.stops[stop]++
	}
	st.timelines.add(tl)
}

// known returns the state of a key OnStart has seen (nil otherwise), so
// that only OnStart creates state and counts untracked calls.
func (in *Inspector) known(key policy.PolicyKey) *keyState {
	in.mu.RLock()
	st := in.keys[key]
	in.mu.RUnlock()
	return st
}

// OnEvent keeps the event; a breaker event also sets its key's breaker
// state, a key overflow event is counted by registry.
func (in *Inspector) OnEvent(_ context.Context, ev observe.Event) {
	if ev.Time.IsZero() {
		ev.Time = in.clk.Now()
	}
	in.evMu.Lock()
	in.events.add(ev)
	in.eventCounts[ev.Kind]++
	if ev.Kind == observe.EventKeyOverflow {
		d := ev.Detail
		if d == "" {
			d = "unknown"
		}
		if _, seen := in.overflowed[d]; seen || len(in.overflowed) < maxOverflowListed {
			in.overflowed[d]++
		}
	}
	in.evMu.Unlock()
	if ev.Kind == observe.EventBreakerState && !ev.Key.IsZero() {
		if st := in.known(ev.Key); st != nil {
			st.mu.Lock()
			st.breaker = &BreakerState{State: ev.To, From: ev.From, Since: ev.Time, Origin: "event"}
			st.mu.Unlock()
		}
	}
}

func denialOf(rec observe.AttemptRecord) Denial {
	d := Denial{Time: rec.StartTime, Attempt: rec.Attempt, Kind: observe.AttemptKindText(rec), Gate: "budget", Reason: rec.BudgetReason}
	if n := len(rec.Gates); n > 0 {
		d.Gate, d.Reason = rec.Gates[n-1].Gate, rec.Gates[n-1].Reason
	} else if r, ok := strings.CutPrefix(rec.BudgetReason, "circuit_"); ok {
		d.Gate, d.Reason = "circuit", r
	}
	if rec.Err != nil {
		d.Err = rec.Err.Error()
	}
	return d
}
