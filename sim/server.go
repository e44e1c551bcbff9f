package sim

import (
	"context"
	"math/rand"
	"time"
)

// ServerConfig describes a simulated server. The zero value answers every
// attempt at once, successfully, with no capacity limit.
type ServerConfig struct {
	// Latency is the service time of an attempt. Nil means zero.
	Latency Latency
	// Failure decides each attempt's reply. Nil means every attempt
	// succeeds.
	Failure Failure
	// Capacity bounds the attempts in service at once; an attempt that
	// arrives when Capacity are in service is turned away with
	// ReplyRetryable after RejectLatency, as an overloaded server sheds
	// load. Zero means unlimited.
	Capacity int
	// RejectLatency is how long turning an attempt away takes. Zero means
	// at once.
	RejectLatency time.Duration
	// RetryAfter is the hint every ReplyRetryable answer carries, failures
	// and attempts turned away alike, as an overloaded server's 503 with a
	// Retry-After header does (Answer.RetryAfter). Zero means none.
	RetryAfter time.Duration
}

// Server is a simulated backend. It counts every attempt it receives,
// bucketed by the second of virtual time in which it arrived.
type Server struct {
	s        *Sim
	cfg      ServerConfig
	rng      *rand.Rand
	inflight int

	received int64
	shed     int64
	perSec   []int64
}

// NewServer returns a server in s with its own random stream.
func NewServer(s *Sim, cfg ServerConfig) *Server {
	return &Server{s: s, cfg: cfg, rng: s.NewRand()}
}

// Handle receives an attempt now and calls reply with the server's reply
// when it is ready.
func (sv *Server) Handle(reply func(Reply)) {
	sv.Serve(context.Background(), func(a Answer) { reply(a.Reply) })
}

// Serve receives an attempt now and calls reply with the server's answer
// when it is ready; it implements Backend.
func (sv *Server) Serve(_ context.Context, reply func(Answer)) {
	el := sv.s.Elapsed()
	sv.received++
	sec := int(el / time.Second)
	for len(sv.perSec) <= sec {
		sv.perSec = append(sv.perSec, 0)
	}
	sv.perSec[sec]++
	if sv.cfg.Capacity > 0 && sv.inflight >= sv.cfg.Capacity {
		sv.shed++
		sv.s.After(sv.cfg.RejectLatency, func() { reply(Answer{Reply: ReplyRetryable, RetryAfter: sv.cfg.RetryAfter}) })
		return
	}
	rep := ReplyOK
	if sv.cfg.Failure != nil {
		rep = sv.cfg.Failure.Reply(el, sv.rng)
	}
	var lat time.Duration
	if sv.cfg.Latency != nil {
		lat = sv.cfg.Latency.Sample(sv.rng)
	}
	ans := Answer{Reply: rep}
	if rep == ReplyRetryable {
		ans.RetryAfter = sv.cfg.RetryAfter
	}
	sv.inflight++
	sv.s.After(lat, func() {
		sv.inflight--
		reply(ans)
	})
}

// Received returns how many attempts the server has received.
func (sv *Server) Received() int64 { return sv.received }

// Shed returns how many attempts the server turned away for lack of
// capacity.
func (sv *Server) Shed() int64 { return sv.shed }

// ReceivedBetween returns the attempts received in the whole seconds
// [from, to) of virtual time since Epoch.
func (sv *Server) ReceivedBetween(from, to time.Duration) int64 {
	var n int64
	for i := int(from / time.Second); i < int(to/time.Second) && i < len(sv.perSec); i++ {
		if i >= 0 {
			n += sv.perSec[i]
		}
	}
	return n
}

// PerSecond returns a copy of the attempts received in each second of
// virtual time.
func (sv *Server) PerSecond() []int64 { return append([]int64(nil), sv.perSec...) }
