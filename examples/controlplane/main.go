// Command controlplane is a small policy control plane and a client of it.
//
// With -dir it serves the policy documents of a directory over HTTP until
// interrupted:
//
//	go run ./examples/controlplane -dir ./policies -addr 127.0.0.1:8080
//	curl -i http://127.0.0.1:8080/payments     # serves ./policies/payments.json
//
// Without -dir it runs a self-contained demonstration on loopback: a server,
// a RemoteProvider following it, a policy change picked up by the
// background refresh, and a server outage during which the last-known-good
// document stays in force.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"sync/atomic"
	"time"

	"github.com/aponysus/rego/controlplane"
	"github.com/aponysus/rego/policy"
)

func main() {
	dir := flag.String("dir", "", "serve the documents of this directory (GET /name serves name.json)")
	addr := flag.String("addr", "127.0.0.1:8080", "listen address with -dir")
	flag.Parse()
	if *dir != "" {
		serve(*dir, *addr)
		return
	}
	if err := demo(); err != nil {
		log.Fatal(err)
	}
}

func serve(dir, addr string) {
	srv := &http.Server{Addr: addr, Handler: controlplane.NewHandler(controlplane.HandlerOptions{Dir: dir}), ReadHeaderTimeout: 5 * time.Second}
	go func() {
		stop := make(chan os.Signal, 1)
		signal.Notify(stop, os.Interrupt)
		<-stop
		srv.Close()
	}()
	log.Printf("serving policy documents from %s on http://%s/", dir, addr)
	if err := srv.ListenAndServe(); !errors.Is(err, http.ErrServerClosed) {
		log.Fatal(err)
	}
}

func demo() error {
	dir, err := os.MkdirTemp("", "rego-controlplane")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	write := func(version string, attempts int) error {
		doc := fmt.Sprintf(`{"version": %q, "policies": {"payments.Charge": {"retry": {"max_attempts": %d, "initial_backoff": "50ms"}}}}`, version, attempts)
		tmp := filepath.Join(dir, ".payments.json.tmp")
		if err := os.WriteFile(tmp, []byte(doc), 0o644); err != nil {
			return err
		}
		return os.Rename(tmp, filepath.Join(dir, "payments.json"))
	}
	if err := write("v1", 3); err != nil {
		return err
	}

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	handler := controlplane.NewHandler(controlplane.HandlerOptions{Dir: dir})
	var down atomic.Bool // flipped to simulate an outage
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if down.Load() {
			http.Error(w, "control plane down for maintenance", http.StatusServiceUnavailable)
			return
		}
		handler.ServeHTTP(w, r)
	}), ReadHeaderTimeout: 5 * time.Second}
	go srv.Serve(ln)
	defer srv.Close()

	rp, err := controlplane.NewRemoteProvider(controlplane.RemoteOptions{
		URL:       "http://" + ln.Addr().String() + "/payments",
		Interval:  200 * time.Millisecond,
		CacheFile: filepath.Join(dir, "client-cache.json"),
	})
	if err != nil {
		return err
	}
	defer rp.Close()

	ctx := context.Background()
	key := policy.ParseKey("payments.Charge")
	show := func(when string) {
		p, err := rp.GetEffectivePolicy(ctx, key)
		fmt.Printf("%-22s version=%s source=%s max_attempts=%d", when, p.Meta.Version, p.Meta.Source, p.Retry.MaxAttempts)
		if err != nil {
			fmt.Printf(" error=%q", err)
		}
		fmt.Println()
	}
	waitFor := func(cond func() bool) {
		deadline := time.Now().Add(5 * time.Second)
		for !cond() && time.Now().Before(deadline) {
			time.Sleep(20 * time.Millisecond)
		}
	}

	show("first lookup:")
	if err := write("v2", 5); err != nil {
		return err
	}
	waitFor(func() bool { return rp.Version() == "v2" })
	show("after the edit:")

	down.Store(true)
	waitFor(func() bool { return rp.LastError() != nil })
	show("control plane down:")

	down.Store(false)
	waitFor(func() bool { return rp.LastError() == nil })
	show("control plane back:")
	return nil
}
