package regohttp_test

import (
	"net"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aponysus/rego/classify"
	"github.com/aponysus/rego/controlplane"
	"github.com/aponysus/rego/integrations/regohttp"
	"github.com/aponysus/rego/observe"
	"github.com/aponysus/rego/policy"
	"github.com/aponysus/rego/regotest"
	"github.com/aponysus/rego/retry"
)

// testServer is a loopback server that counts the connections it accepts.
type testServer struct {
	*httptest.Server
	conns atomic.Int64
}

func newServer(t *testing.T, h http.HandlerFunc) *testServer {
	t.Helper()
	s := &testServer{Server: httptest.NewUnstartedServer(h)}
	s.Config.ConnState = func(_ net.Conn, st http.ConnState) {
		if st == http.StateNew {
			s.conns.Add(1)
		}
	}
	s.Start()
	return s
}

// setup is a server, a base transport of its own and an executor.
type setup struct {
	srv   *testServer
	base  *http.Transport
	exec  *retry.Executor
	clk   *regotest.Clock // nil: the real clock
	cls   *regohttp.Classifier
	trans *regohttp.Transport
	// client sends through trans.
	client *http.Client
}

type setupOpts struct {
	policy    policy.EffectivePolicy
	autoClock bool
	transport regohttp.Options // Base, Executor and Classifier are filled in
	cls       regohttp.ClassifierOptions
	observer  observe.Observer
	wrapBase  func(http.RoundTripper) http.RoundTripper
	// register adds classifiers to the executor's registry.
	register map[string]classify.Classifier
	// noRegistry leaves the executor without a classifier registry.
	noRegistry bool
}

// fastPolicy retries quickly and deterministically.
func fastPolicy() policy.EffectivePolicy {
	return policy.EffectivePolicy{Retry: policy.RetryPolicy{
		MaxAttempts:    3,
		InitialBackoff: time.Millisecond,
		MaxBackoff:     time.Millisecond,
		Jitter:         policy.JitterNone,
		ClassifierName: regohttp.ClassifierName,
	}}
}

func newSetup(t *testing.T, h http.HandlerFunc, o setupOpts) *setup {
	t.Helper()
	s := &setup{srv: newServer(t, h), base: &http.Transport{}}
	t.Cleanup(func() {
		s.base.CloseIdleConnections()
		s.srv.Close()
	})
	eo := retry.ExecutorOptions{
		Provider: &controlplane.StaticProvider{Default: o.policy},
		Rand:     regotest.NewRand(1),
		Observer: o.observer,
	}
	if o.autoClock {
		s.clk = regotest.NewAutoClock(time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC))
		eo.Clock = s.clk
		o.cls.Now = s.clk.Now
	}
	cls, err := regohttp.NewClassifier(o.cls)
	if err != nil {
		t.Fatal(err)
	}
	s.cls = cls
	if !o.noRegistry {
		reg := classify.NewRegistry()
		reg.Register(regohttp.ClassifierName, cls)
		for name, c := range o.register {
			reg.Register(name, c)
		}
		eo.Classifiers = reg
	}
	s.exec = retry.NewExecutor(eo)
	to := o.transport
	to.Base = s.base
	if o.wrapBase != nil {
		to.Base = o.wrapBase(s.base)
	}
	to.Executor = s.exec
	to.Classifier = cls
	s.trans = regohttp.NewTransport(to)
	s.client = &http.Client{Transport: s.trans}
	return s
}
