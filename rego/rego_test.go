package rego_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/aponysus/rego/clock"
	"github.com/aponysus/rego/rego"
	"github.com/aponysus/rego/retry"
)

// noSleep is a clock whose waits end at once.
type noSleep struct{ clock.Real }

func (noSleep) NewTimer(time.Duration) clock.Timer {
	t := clock.Real{}.NewTimer(0)
	return t
}

func TestDefaultIsLazyAndStable(t *testing.T) {
	a, b := rego.Default(), rego.Default()
	if a == nil || a != b {
		t.Fatal("Default not stable")
	}
}

func TestInitConcurrentWithCalls(t *testing.T) {
	defer rego.Init(nil)
	var wg sync.WaitGroup
	for i := 0; i < 8; i++ {
		wg.Add(2)
		go func() {
			defer wg.Done()
			rego.Init(retry.NewExecutor(retry.ExecutorOptions{}))
		}()
		go func() {
			defer wg.Done()
			if err := rego.Do(context.Background(), "svc.M", func(context.Context) error { return nil }); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	mine := retry.NewExecutor(retry.ExecutorOptions{})
	rego.Init(mine)
	if rego.Default() != mine {
		t.Fatal("Init did not replace the default executor")
	}
}

func TestFacadeParsesKeys(t *testing.T) {
	tl, err := rego.DoWithTimeline(context.Background(), " payments.Charge ", func(context.Context) error { return nil })
	if err != nil || tl.Key != rego.ParseKey("payments.Charge") || tl.Key.Name != "Charge" {
		t.Fatalf("%+v %v", tl.Key, err)
	}
}
