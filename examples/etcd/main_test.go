package main

import (
	"bytes"
	"io"
	"os"
	"testing"

	"go.uber.org/goleak"
)

// TestDemoRuns runs the example and checks that the second call followed
// the pushed policy.
func TestDemoRuns(t *testing.T) {
	defer goleak.VerifyNone(t)
	out := capture(t, demo)
	want := "policy v1: 2 attempts\nput v2 (max_attempts 4) to etcd\npolicy v2: 4 attempts\n"
	if out != want {
		t.Fatalf("output:\n%s\nwant:\n%s", out, want)
	}
}

// capture returns what fn prints.
func capture(t *testing.T, fn func() error) string {
	t.Helper()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout := os.Stdout
	os.Stdout = w
	done := make(chan []byte)
	go func() {
		var b bytes.Buffer
		_, _ = io.Copy(&b, r)
		done <- b.Bytes()
	}()
	ferr := fn()
	os.Stdout = stdout
	w.Close()
	out := <-done
	r.Close()
	if ferr != nil {
		t.Fatal(ferr)
	}
	return string(out)
}
