package regohttp_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/aponysus/rego/gate"
	"github.com/aponysus/rego/integrations/regohttp"
)

// The wire names are a contract with other processes (and docs/overload.md).
func TestCriticalityWireNames(t *testing.T) {
	if regohttp.CriticalityHeader != "Rego-Criticality" {
		t.Fatal(regohttp.CriticalityHeader)
	}
	var names []string
	for _, c := range []gate.Criticality{gate.CriticalityCriticalPlus, gate.CriticalityCritical, gate.CriticalitySheddablePlus, gate.CriticalitySheddable} {
		names = append(names, c.String())
	}
	if got := strings.Join(names, " "); got != "critical_plus critical sheddable_plus sheddable" {
		t.Fatal(got)
	}
}

func TestCriticalityFromHeader(t *testing.T) {
	for _, tc := range []struct {
		values []string
		want   gate.Criticality
		ok     bool
	}{
		{nil, gate.CriticalityDefault, false},
		{[]string{"sheddable"}, gate.CriticalitySheddable, true},
		{[]string{" Critical_Plus "}, gate.CriticalityCriticalPlus, true},
		{[]string{"sheddable_plus", "critical"}, gate.CriticalitySheddablePlus, true},
		{[]string{"urgent"}, gate.CriticalityDefault, false},
		{[]string{""}, gate.CriticalityDefault, false},
	} {
		h := http.Header{}
		for _, v := range tc.values {
			h.Add(regohttp.CriticalityHeader, v)
		}
		got, ok := regohttp.CriticalityFromHeader(h)
		if got != tc.want || ok != tc.ok {
			t.Errorf("%q: %v %v, want %v %v", tc.values, got, ok, tc.want, tc.ok)
		}
	}
}

// recordingTransport keeps the header of the last request.
type recordingTransport struct{ header http.Header }

func (r *recordingTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	r.header = req.Header
	return &http.Response{StatusCode: 200, Body: http.NoBody, Request: req}, nil
}

func TestCriticalityTransport(t *testing.T) {
	rec := &recordingTransport{}
	tr := &regohttp.CriticalityTransport{Base: rec}
	for _, tc := range []struct {
		ctx    gate.Criticality
		preset string
		want   string
	}{
		{gate.CriticalityDefault, "", ""}, // nothing to say: no header
		{gate.CriticalitySheddable, "", "sheddable"},
		{gate.CriticalityCriticalPlus, "", "critical_plus"},
		{gate.CriticalitySheddable, "critical", "critical"}, // a header set by the caller wins
	} {
		req, _ := http.NewRequestWithContext(gate.WithCriticality(context.Background(), tc.ctx), "GET", "http://example.invalid/", nil)
		if tc.preset != "" {
			req.Header.Set(regohttp.CriticalityHeader, tc.preset)
		}
		resp, err := tr.RoundTrip(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if got := rec.header.Get(regohttp.CriticalityHeader); got != tc.want {
			t.Errorf("%v: header %q, want %q", tc.ctx, got, tc.want)
		}
		if tc.preset == "" && req.Header.Get(regohttp.CriticalityHeader) != "" {
			t.Error("the caller's request was modified")
		}
	}
}

// FuzzCriticalityHeader: any header value parses without panicking; a
// value that parses names a criticality whose wire name parses back to it.
func FuzzCriticalityHeader(f *testing.F) {
	for _, s := range []string{"critical", "sheddable_plus", " SHEDDABLE ", "critical_plus\t", "", "x", "critical\x00"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		h := http.Header{}
		h.Set(regohttp.CriticalityHeader, v)
		c, ok := regohttp.CriticalityFromHeader(h)
		if !ok {
			if c != gate.CriticalityDefault {
				t.Fatalf("%q: unknown value gave %v", v, c)
			}
			return
		}
		if !strings.EqualFold(strings.TrimSpace(v), c.String()) {
			t.Fatalf("%q parsed as %v", v, c)
		}
		back, ok := gate.ParseCriticality(c.String())
		if !ok || back != c {
			t.Fatalf("%v does not round-trip", c)
		}
	})
}
