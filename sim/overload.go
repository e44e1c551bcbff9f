package sim

import (
	"context"
	"fmt"
	"math/rand"
	"time"

	"github.com/aponysus/rego/admission"
	"github.com/aponysus/rego/gate"
	"github.com/aponysus/rego/policy"
)

// QueueConfig describes a server with a fixed number of workers and an
// unbounded first-in, first-out queue in front of them, as a thread-pool
// server is: what it admits it serves, however late, even when the client
// has long given up. Its admission may go through rego's overload gates.
type QueueConfig struct {
	// Workers is how many requests are served at once; must be positive.
	Workers int
	// Service is each request's service time once a worker takes it. Nil
	// means zero.
	Service Latency
	// Gates, when not nil, admit or refuse each arriving request under
	// Policy, on the simulation's virtual time: the real registries of
	// packages shed, ratelimit, bulkhead and adaptive. The policy's wait
	// fields (MaxWait) must be zero: a simulation event cannot block.
	Gates *admission.Gates
	// Policy is the server's policy for Key; its Shed, RateLimit,
	// Bulkhead and Concurrency sections configure the Gates.
	Policy policy.EffectivePolicy
	// Key is the route key the gates keep their state under.
	Key policy.PolicyKey
	// RejectLatency is how long a refusal takes to reach the client.
	RejectLatency time.Duration
}

// QueueServer is a simulated server described by a QueueConfig. Its
// counters are bucketed by the second of virtual time.
type QueueServer struct {
	s     *Sim
	cfg   QueueConfig
	rng   *rand.Rand
	busy  int
	queue []*queued
	head  int

	Received  []int64 // requests that arrived, per second
	Refused   []int64 // requests the gates refused, per second
	Completed []int64 // requests served, per second of their end
	// sojourn holds, per second of their end, the time each served request
	// spent in the server (queue and service).
	sojourn [][]time.Duration
}

type queued struct {
	arrive time.Time
	ticket admission.Ticket
	reply  func(Reply, time.Duration)
}

// NewQueueServer returns a queueing server in s.
func NewQueueServer(s *Sim, cfg QueueConfig) (*QueueServer, error) {
	if cfg.Workers <= 0 {
		return nil, fmt.Errorf("%w: QueueConfig.Workers must be positive, got %d", ErrInvalidScenario, cfg.Workers)
	}
	return &QueueServer{s: s, cfg: cfg, rng: s.NewRand()}, nil
}

func bump(v *[]int64, sec int) {
	for len(*v) <= sec {
		*v = append(*v, 0)
	}
	(*v)[sec]++
}

// Handle receives a request of criticality crit now; reply receives
// ReplyOK once it is served, or ReplyRetryable with the refusal's
// RetryAfter when the gates refuse it.
func (q *QueueServer) Handle(crit gate.Criticality, reply func(Reply, time.Duration)) {
	now := q.s.Now()
	sec := int(q.s.Elapsed() / time.Second)
	bump(&q.Received, sec)
	var t admission.Ticket
	if q.cfg.Gates != nil {
		var err error
		t, err = q.cfg.Gates.Admit(context.Background(), gate.Attempt{Key: q.cfg.Key, Policy: &q.cfg.Policy, Criticality: crit}, now)
		if err != nil {
			bump(&q.Refused, sec)
			after := admission.RetryAfter(err, 0)
			q.s.After(q.cfg.RejectLatency, func() { reply(ReplyRetryable, after) })
			return
		}
	}
	q.queue = append(q.queue, &queued{arrive: now, ticket: t, reply: reply})
	q.dispatch()
}

// dispatch hands queued requests to idle workers.
func (q *QueueServer) dispatch() {
	for q.busy < q.cfg.Workers && q.head < len(q.queue) {
		j := q.queue[q.head]
		q.queue[q.head] = nil
		q.head++
		q.busy++
		var d time.Duration
		if q.cfg.Service != nil {
			d = q.cfg.Service.Sample(q.rng)
		}
		q.s.After(d, func() { q.finish(j) })
	}
	if q.head > 1024 && q.head*2 > len(q.queue) {
		q.queue = append(q.queue[:0:0], q.queue[q.head:]...)
		q.head = 0
	}
}

func (q *QueueServer) finish(j *queued) {
	q.busy--
	end := q.s.Now()
	sec := int(q.s.Elapsed() / time.Second)
	bump(&q.Completed, sec)
	for len(q.sojourn) <= sec {
		q.sojourn = append(q.sojourn, nil)
	}
	q.sojourn[sec] = append(q.sojourn[sec], end.Sub(j.arrive))
	j.ticket.Done(gate.Result{Verdict: gate.Answered, Latency: end.Sub(j.arrive), End: end})
	j.reply(ReplyOK, 0)
	q.dispatch()
}

// Serve receives an attempt now, with the gate.Criticality of ctx, and
// calls reply with the answer: ReplyOK once it is served, or
// ReplyRetryable with the refusal's RetryAfter when the gates refuse it.
// It implements Backend.
func (q *QueueServer) Serve(ctx context.Context, reply func(Answer)) {
	q.Handle(gate.CriticalityFrom(ctx), func(r Reply, after time.Duration) { reply(Answer{Reply: r, RetryAfter: after}) })
}

// Queued returns how many admitted requests wait for a worker.
func (q *QueueServer) Queued() int { return len(q.queue) - q.head }

// Sojourns returns the time in the server of the requests served in the
// whole seconds [from, to) of virtual time.
func (q *QueueServer) Sojourns(from, to time.Duration) []time.Duration {
	var out []time.Duration
	for i := int(from / time.Second); i < int(to/time.Second) && i < len(q.sojourn); i++ {
		out = append(out, q.sojourn[i]...)
	}
	return out
}
