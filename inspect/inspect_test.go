package inspect_test

import (
	"context"
	"encoding/json"
	"errors"
	"expvar"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/aponysus/rego/inspect"
	"github.com/aponysus/rego/observe"
	"github.com/aponysus/rego/policy"
)

func find(t *testing.T, s inspect.Snapshot, key string) inspect.KeySnapshot {
	t.Helper()
	for _, k := range s.Keys {
		if k.Key == key {
			return k
		}
	}
	t.Fatalf("key %s not in snapshot (%d keys)", key, len(s.Keys))
	return inspect.KeySnapshot{}
}

func TestSnapshotOfARunningExecutor(t *testing.T) {
	f := newFixture(t)
	s := f.insp.Snapshot(context.Background())
	if len(s.Keys) != 3 {
		t.Fatalf("%d keys, want 3", len(s.Keys))
	}

	charge := find(t, s, "payments.Charge")
	if charge.Policy == nil || charge.Policy.ID != "charge-v1" || charge.Policy.Source != "static" || charge.Policy.Origin != "provider" {
		t.Errorf("charge policy: %+v", charge.Policy)
	}
	if charge.Counts != (inspect.Counts{Calls: 1, Failed: 1, Attempts: 3, Denied: 1}) {
		t.Errorf("charge counts: %+v", charge.Counts)
	}
	if charge.StopReasons["budget_denied"] != 1 {
		t.Errorf("charge stop reasons: %v", charge.StopReasons)
	}
	if len(charge.Denials) != 1 || charge.Denials[0].Gate != "budget" || charge.Denials[0].Reason != "tokens_exhausted" || charge.Denials[0].Kind != "retry 3" {
		t.Errorf("charge denials: %+v", charge.Denials)
	}
	if len(charge.Timelines) != 1 || !strings.Contains(charge.Timelines[0].Table, "refused by budget: tokens_exhausted") {
		t.Errorf("charge timelines: %+v", charge.Timelines)
	}
	if len(s.Budgets) != 1 || s.Budgets[0].Name != "retries" || s.Budgets[0].Type != "token_bucket" ||
		s.Budgets[0].Level != "0 tokens" || s.Budgets[0].Keys[0] != "payments.Charge" {
		t.Errorf("budgets: %+v", s.Budgets)
	}

	post := find(t, s, "ledger.Post")
	if post.Breaker == nil || post.Breaker.State != "open" || post.Breaker.Origin != "registry" {
		t.Errorf("post breaker: %+v", post.Breaker)
	}
	if post.Counts.Calls != 3 || post.StopReasons["circuit_open"] != 2 || len(post.Timelines) != 3 {
		t.Errorf("post: %+v", post)
	}
	if post.Denials[0].Gate != "circuit" || post.Denials[0].Reason != "open" {
		t.Errorf("post denials: %+v", post.Denials)
	}

	get := find(t, s, "inventory.Get")
	if get.Latency == nil || get.Latency.Samples != 2 || get.Breaker != nil || get.BudgetNames != nil {
		t.Errorf("get: %+v", get)
	}
	if get.StopReasons["none"] != 1 || get.Counts.Succeeded != 1 {
		t.Errorf("get: %+v", get)
	}
	if s.Overflow.Breakers == nil || *s.Overflow.Breakers != 0 || s.Overflow.UntrackedCalls != 0 {
		t.Errorf("overflow: %+v", s.Overflow)
	}
}

func get(t *testing.T, url, accept string) (string, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	if accept != "" {
		req.Header.Set("Accept", accept)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s: %s", url, resp.Status, b)
	}
	return resp.Header.Get("Content-Type"), string(b)
}

func TestHandlerNegotiatesHTMLAndJSON(t *testing.T) {
	f := newFixture(t)
	mux := http.NewServeMux()
	mux.Handle("/debug/rego", f.insp)
	srv := httptest.NewServer(mux)
	defer srv.Close()

	for _, c := range []struct{ query, accept string }{{"?format=json", ""}, {"", "application/json"}} {
		ct, body := get(t, srv.URL+"/debug/rego"+c.query, c.accept)
		if ct != "application/json" {
			t.Fatalf("%+v: content type %q", c, ct)
		}
		var s inspect.Snapshot
		if err := json.Unmarshal([]byte(body), &s); err != nil {
			t.Fatalf("%+v: %v", c, err)
		}
		if len(s.Keys) != 3 {
			t.Fatalf("%+v: %d keys", c, len(s.Keys))
		}
		if !strings.Contains(body, `"max_attempts": 5`) {
			t.Errorf("the retry policy is not in its document form:\n%s", body)
		}
	}
	ct, body := get(t, srv.URL+"/debug/rego", "text/html,application/json")
	if !strings.HasPrefix(ct, "text/html") {
		t.Fatalf("content type %q", ct)
	}
	for _, want := range []string{"payments.Charge", "charge-v1", `class="breaker state-open"`, "tokens_exhausted", "0 tokens",
		"refused by breaker: open", "no budget configured"} {
		if !strings.Contains(body, want) {
			t.Errorf("page lacks %q", want)
		}
	}

	resp, err := http.Post(srv.URL+"/debug/rego", "text/plain", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Fatalf("POST: %s", resp.Status)
	}
}

func TestMaxKeysAndOverflowEvents(t *testing.T) {
	insp := inspect.New(inspect.Options{MaxKeys: 1, Timelines: 2})
	ctx := context.Background()
	a, b := policy.ParseKey("a.A"), policy.ParseKey("b.B")
	for i := 0; i < 3; i++ {
		for _, k := range []policy.PolicyKey{a, b} {
			insp.OnStart(ctx, k, policy.DefaultPolicyFor(k))
			insp.OnAttempt(ctx, k, observe.AttemptRecord{BudgetAllowed: true})
			insp.OnSuccess(ctx, k, observe.Timeline{Key: k})
		}
	}
	insp.OnEvent(ctx, observe.Event{Kind: observe.EventKeyOverflow, Detail: "circuit"})
	insp.OnEvent(ctx, observe.Event{Kind: observe.EventKeyOverflow, Detail: "circuit"})
	insp.OnEvent(ctx, observe.Event{Kind: observe.EventPolicyReloadFailed, Err: errors.New("bad document")})
	insp.OnEvent(ctx, observe.Event{Kind: observe.EventBreakerState, Key: a, From: "closed", To: "open"})
	s := insp.Snapshot(ctx)
	if len(s.Keys) != 1 || s.Keys[0].Key != "a.A" {
		t.Fatalf("keys: %+v", s.Keys)
	}
	if len(s.Keys[0].Timelines) != 2 || s.Keys[0].Counts.Calls != 3 {
		t.Errorf("history not bounded: %+v", s.Keys[0])
	}
	if s.Overflow.UntrackedCalls != 3 || len(s.Overflow.UntrackedKeys) != 1 || s.Overflow.UntrackedKeys[0] != "b.B" {
		t.Errorf("overflow: %+v", s.Overflow)
	}
	if s.Overflow.Events["circuit"] != 2 || s.EventCounts["key_overflow"] != 2 {
		t.Errorf("overflow events: %+v %+v", s.Overflow, s.EventCounts)
	}
	if len(s.Events) != 4 || s.Events[0].Kind != "breaker_state" || s.Events[1].Err != "bad document" {
		t.Errorf("events, newest first: %+v", s.Events)
	}
	if br := s.Keys[0].Breaker; br == nil || br.State != "open" || br.From != "closed" || br.Origin != "event" {
		t.Errorf("breaker from event: %+v", br)
	}
}

func TestPublishExpvar(t *testing.T) {
	f := newFixture(t)
	f.insp.PublishExpvar("rego_inspect_test")
	v := expvar.Get("rego_inspect_test")
	if v == nil {
		t.Fatal("not published")
	}
	var s inspect.Snapshot
	if err := json.Unmarshal([]byte(v.String()), &s); err != nil {
		t.Fatal(err)
	}
	if len(s.Keys) != 3 {
		t.Fatalf("%d keys", len(s.Keys))
	}
}
