package regohttp_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aponysus/rego/classify"
	"github.com/aponysus/rego/integrations/regohttp"
)

func response(code int, method string, hdr ...string) *http.Response {
	h := http.Header{}
	for i := 0; i+1 < len(hdr); i += 2 {
		h.Set(hdr[i], hdr[i+1])
	}
	return &http.Response{StatusCode: code, Header: h, Request: &http.Request{Method: method}}
}

func TestClassifierResponses(t *testing.T) {
	c, err := regohttp.NewClassifier(regohttp.ClassifierOptions{Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		resp     *http.Response
		kind     classify.OutcomeKind
		reason   string
		override time.Duration
		attrs    map[string]string
	}{
		{response(200, "GET"), classify.OutcomeSuccess, "", 0, map[string]string{"http.status_code": "200", "http.method": "GET"}},
		{response(404, ""), classify.OutcomeSuccess, "", 0, map[string]string{"http.status_code": "404", "http.method": "GET"}},
		{response(501, "PUT"), classify.OutcomeSuccess, "", 0, map[string]string{"http.status_code": "501", "http.method": "PUT"}},
		{response(500, "PUT"), classify.OutcomeRetryable, "status_500", 0, map[string]string{"http.status_code": "500", "http.method": "PUT"}},
		{response(429, "GET", "Retry-After", "12"), classify.OutcomeRetryable, "status_429", 12 * time.Second,
			map[string]string{"http.status_code": "429", "http.method": "GET", "http.retry_after": "12s"}},
		{response(503, "GET", "Retry-After", "Wed, 21 Oct 2015 07:28:09 GMT"), classify.OutcomeRetryable, "status_503", 9 * time.Second,
			map[string]string{"http.status_code": "503", "http.method": "GET", "http.retry_after": "9s"}},
		{response(503, "GET", "Retry-After", "61"), classify.OutcomeRetryable, "status_503", 0,
			map[string]string{"http.status_code": "503", "http.method": "GET", "http.retry_after_ignored": "exceeds_max"}},
		{response(200, "GET", "Retry-After", "5"), classify.OutcomeSuccess, "", 0, map[string]string{"http.status_code": "200", "http.method": "GET"}},
	} {
		name := fmt.Sprintf("%d %s %v", tc.resp.StatusCode, tc.resp.Request.Method, tc.resp.Header)
		out := c.Classify(tc.resp, nil)
		if out.Kind != tc.kind || out.Reason != tc.reason || out.BackoffOverride != tc.override {
			t.Errorf("%s: got %v %q %v; want %v %q %v", name, out.Kind, out.Reason, out.BackoffOverride, tc.kind, tc.reason, tc.override)
		}
		if fmt.Sprint(out.Attributes) != fmt.Sprint(tc.attrs) {
			t.Errorf("%s: attributes %v, want %v", name, out.Attributes, tc.attrs)
		}
	}
}

func TestClassifierErrors(t *testing.T) {
	var c *regohttp.Classifier // nil: the defaults
	for _, tc := range []struct {
		err      error
		kind     classify.OutcomeKind
		reason   string
		override time.Duration
	}{
		{nil, classify.OutcomeSuccess, "", 0},
		{errors.New("connection refused"), classify.OutcomeRetryable, "transport_error", 0},
		{fmt.Errorf("dial: %w", context.DeadlineExceeded), classify.OutcomeRetryable, "timeout", 0},
		{fmt.Errorf("dial: %w", context.Canceled), classify.OutcomeNonRetryable, "canceled", 0},
		{classify.Permanent(errors.New("bad")), classify.OutcomeNonRetryable, "permanent", 0},
		{classify.RetryAfter(errors.New("slow down"), time.Second), classify.OutcomeRetryable, "retry_after", time.Second},
		{fmt.Errorf("x: %w", regohttp.ErrBodyNotReplayable), classify.OutcomeNonRetryable, "body_not_replayable", 0},
	} {
		for _, v := range []any{nil, "not a response", (*http.Response)(nil)} {
			out := c.Classify(v, tc.err)
			if out.Kind != tc.kind || out.Reason != tc.reason || out.BackoffOverride != tc.override {
				t.Errorf("%v with value %#v: got %v %q %v; want %v %q %v", tc.err, v, out.Kind, out.Reason, out.BackoffOverride, tc.kind, tc.reason, tc.override)
			}
		}
	}
	// A response that comes with an error of the operation's own is
	// judged by the error; with a *StatusError, by the response.
	if out := c.Classify(response(200, "GET"), classify.Permanent(errors.New("x"))); out.Kind != classify.OutcomeNonRetryable {
		t.Errorf("response with a permanent error: %v", out.Kind)
	}
	if out := c.Classify(response(503, "GET"), &regohttp.StatusError{StatusCode: 503}); out.Kind != classify.OutcomeRetryable || out.Attributes["http.status_code"] != "503" {
		t.Errorf("response with its StatusError: %+v", out)
	}
}

func TestClassifierOptions(t *testing.T) {
	c, err := regohttp.NewClassifier(regohttp.ClassifierOptions{RetryableStatuses: []int{418}})
	if err != nil {
		t.Fatal(err)
	}
	if !c.IsRetryableStatus(418) || c.IsRetryableStatus(503) || c.IsRetryableStatus(-1) || c.IsRetryableStatus(1000) {
		t.Error("RetryableStatuses not honoured")
	}
	none, _ := regohttp.NewClassifier(regohttp.ClassifierOptions{RetryableStatuses: []int{}})
	if none.IsRetryableStatus(503) {
		t.Error("an empty RetryableStatuses retries 503")
	}
	var def *regohttp.Classifier
	for _, code := range regohttp.DefaultRetryableStatuses {
		if !def.IsRetryableStatus(code) {
			t.Errorf("default does not retry %d", code)
		}
	}
	for _, tc := range []struct {
		opts  regohttp.ClassifierOptions
		field string
	}{
		{regohttp.ClassifierOptions{MaxRetryAfter: -time.Second}, "ClassifierOptions.MaxRetryAfter"},
		{regohttp.ClassifierOptions{RetryableStatuses: []int{503, 99}}, "ClassifierOptions.RetryableStatuses[1]"},
		{regohttp.ClassifierOptions{RetryableStatuses: []int{600}}, "ClassifierOptions.RetryableStatuses[0]"},
	} {
		c, err := regohttp.NewClassifier(tc.opts)
		if c != nil || !errors.Is(err, regohttp.ErrInvalidOptions) || !strings.Contains(err.Error(), tc.field) {
			t.Errorf("%+v: got %v, %v; want an error naming %s", tc.opts, c, err, tc.field)
		}
	}
}

func TestClassifierMaxRetryAfter(t *testing.T) {
	c, _ := regohttp.NewClassifier(regohttp.ClassifierOptions{MaxRetryAfter: 2 * time.Hour})
	if out := c.Classify(response(503, "GET", "Retry-After", "3600"), nil); out.BackoffOverride != time.Hour {
		t.Errorf("override %v, want 1h", out.BackoffOverride)
	}
	if out := c.Classify(response(503, "GET", "Retry-After", "7201"), nil); out.BackoffOverride != 0 || out.Attributes["http.retry_after_ignored"] != "exceeds_max" {
		t.Errorf("beyond the max: %+v", out)
	}
}
