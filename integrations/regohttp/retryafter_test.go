package regohttp_test

import (
	"errors"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aponysus/rego/integrations/regohttp"
)

var now = time.Date(2015, 10, 21, 7, 28, 0, 0, time.UTC)

func TestParseRetryAfter(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want time.Duration
		bad  bool
	}{
		{in: "0", want: 0},
		{in: "120", want: 2 * time.Minute},
		{in: " 3\t", want: 3 * time.Second},
		{in: "007", want: 7 * time.Second},
		{in: "Wed, 21 Oct 2015 07:28:30 GMT", want: 30 * time.Second}, // IMF-fixdate
		{in: "Wednesday, 21-Oct-15 07:29:00 GMT", want: time.Minute},  // RFC 850
		{in: "Wed Oct 21 07:28:05 2015", want: 5 * time.Second},       // asctime
		{in: "Wed, 21 Oct 2015 07:27:00 GMT", want: -time.Minute},     // in the past
		{in: "9223372036", want: 9223372036 * time.Second},            // the largest that fits
		{in: "", bad: true},
		{in: "   ", bad: true},
		{in: "-1", bad: true},
		{in: "+1", bad: true},
		{in: "1.5", bad: true},
		{in: "1 2", bad: true},
		{in: "1e3", bad: true},
		{in: "9223372037", bad: true}, // overflows time.Duration
		{in: "99999999999999999999999", bad: true},
		{in: "tomorrow", bad: true},
		{in: "Wed, 21 Oct 2015 07:28:30", bad: true},
	} {
		got, err := regohttp.ParseRetryAfter(tc.in, now)
		if tc.bad {
			if !errors.Is(err, regohttp.ErrRetryAfterSyntax) {
				t.Errorf("%q: got %v, %v; want ErrRetryAfterSyntax", tc.in, got, err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("%q: got %v, %v; want %v", tc.in, got, err, tc.want)
		}
	}
}

func TestParseRetryAfterClipsHugeValues(t *testing.T) {
	_, err := regohttp.ParseRetryAfter(strings.Repeat("x", 1<<16), now)
	if err == nil || len(err.Error()) > 200 {
		t.Fatalf("error of %d bytes for a 64 KiB header", len(err.Error()))
	}
}

func FuzzParseRetryAfter(f *testing.F) {
	for _, s := range []string{"0", "120", " 3 ", "Wed, 21 Oct 2015 07:28:30 GMT", "Wednesday, 21-Oct-15 07:29:00 GMT",
		"Wed Oct 21 07:28:05 2015", "-1", "9223372036", "9223372037", "", "soon"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, err := regohttp.ParseRetryAfter(s, now)
		if err != nil {
			if !errors.Is(err, regohttp.ErrRetryAfterSyntax) {
				t.Fatalf("%q: error %v does not match ErrRetryAfterSyntax", s, err)
			}
			if d != 0 {
				t.Fatalf("%q: %v with an error", s, d)
			}
			return
		}
		v := strings.Trim(s, " \t")
		if n, perr := strconv.ParseUint(v, 10, 64); perr == nil && !strings.HasPrefix(v, "+") {
			// delta-seconds: exact, and never negative.
			if d != time.Duration(n)*time.Second {
				t.Fatalf("%q: %v, want %ds", s, d, n)
			}
			return
		}
		// An HTTP-date: the same instant as http.ParseTime says.
		tm, perr := http.ParseTime(v)
		if perr != nil {
			t.Fatalf("%q accepted as %v, but it is neither delta-seconds nor an HTTP-date", s, d)
		}
		if want := tm.Sub(now); d != want {
			t.Fatalf("%q: %v, want %v", s, d, want)
		}
	})
}

// Formatting a wait as either form and parsing it back gives the wait.
func TestParseRetryAfterRoundTrip(t *testing.T) {
	for _, secs := range []int64{0, 1, 59, 3600, 86400 * 365} {
		d := time.Duration(secs) * time.Second
		if got, err := regohttp.ParseRetryAfter(strconv.FormatInt(secs, 10), now); err != nil || got != d {
			t.Errorf("%ds as seconds: %v, %v", secs, got, err)
		}
		if got, err := regohttp.ParseRetryAfter(now.Add(d).Format(http.TimeFormat), now); err != nil || got != d {
			t.Errorf("%ds as a date: %v, %v", secs, got, err)
		}
	}
}
