// Command etcd pushes a policy change through etcd and shows calls
// following it.
//
//	go run ./examples/etcd
//
// It starts an embedded etcd server on loopback ports with its data in a
// temporary directory, writes a policy document under a key, and runs an
// executor whose provider watches that key. A call to a failing dependency
// makes as many attempts as the policy allows; then a new document is put
// to etcd, and the next call follows it, pushed to the process by the
// watch, without a restart or a poll.
package main

import (
	"context"
	"errors"
	"fmt"
	"log"
	"net"
	"net/url"
	"os"
	"time"

	"github.com/aponysus/rego/controlplane"
	regoetcd "github.com/aponysus/rego/integrations/etcd"
	"github.com/aponysus/rego/observe"
	"github.com/aponysus/rego/policy"
	"github.com/aponysus/rego/retry"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.etcd.io/etcd/server/v3/embed"
	"go.uber.org/zap"
)

func main() {
	if err := demo(); err != nil {
		log.Fatal(err)
	}
}

const key = "/rego/policies/payments"

// document is a policy document whose payments.Charge makes attempts
// attempts.
func document(version string, attempts int) string {
	return fmt.Sprintf(`{"version": %q, "policies": {"payments.Charge": {"retry": {"max_attempts": %d, "initial_backoff": "1ms", "jitter": "none"}}}}`, version, attempts)
}

// reloads signals each document the provider puts in force.
type reloads chan string

func (r reloads) OnEvent(_ context.Context, ev observe.Event) {
	if ev.Kind == observe.EventPolicyReload {
		select {
		case r <- ev.Version:
		default:
		}
	}
}

func demo() error {
	dir, err := os.MkdirTemp("", "rego-etcd")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	etcd, endpoint, err := startEtcd(dir)
	if err != nil {
		return err
	}
	defer etcd.Close()

	cli, err := clientv3.New(clientv3.Config{Endpoints: []string{endpoint}, DialTimeout: 5 * time.Second, Logger: zap.NewNop()})
	if err != nil {
		return err
	}
	defer cli.Close()
	ctx := context.Background()
	if _, err := cli.Put(ctx, key, document("v1", 2)); err != nil {
		return err
	}

	seen := make(reloads, 8)
	provider, err := regoetcd.NewProvider(regoetcd.Options{Client: cli, Key: key}, controlplane.SourceOptions{Observer: seen})
	if err != nil {
		return err
	}
	defer provider.Close() // before the client: deferred calls run last first
	if err := await(seen, "v1"); err != nil {
		return err
	}

	exec := retry.NewExecutor(retry.ExecutorOptions{Provider: provider})
	charge := policy.ParseKey("payments.Charge")
	call := func() {
		tl, _ := exec.DoWithTimeline(ctx, charge, func(context.Context) error {
			return errors.New("card processor unavailable")
		})
		fmt.Printf("policy %s: %d attempts\n", tl.Attributes[observe.AttrPolicyVersion], len(tl.Attempts))
	}
	call()

	fmt.Println("put v2 (max_attempts 4) to etcd")
	if _, err := cli.Put(ctx, key, document("v2", 4)); err != nil {
		return err
	}
	if err := await(seen, "v2"); err != nil {
		return err
	}
	call()
	return nil
}

// await waits for the provider to put version in force.
func await(seen reloads, version string) error {
	timeout := time.After(30 * time.Second)
	for {
		select {
		case v := <-seen:
			if v == version {
				return nil
			}
		case <-timeout:
			return fmt.Errorf("policy %s did not arrive", version)
		}
	}
}

// startEtcd starts a one-member etcd on free loopback ports, quietly.
func startEtcd(dir string) (*embed.Etcd, string, error) {
	var urls [2]url.URL
	for i := range urls {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, "", err
		}
		urls[i] = url.URL{Scheme: "http", Host: l.Addr().String()}
		l.Close()
	}
	cfg := embed.NewConfig()
	cfg.Dir = dir
	cfg.ListenClientUrls, cfg.AdvertiseClientUrls = urls[:1], urls[:1]
	cfg.ListenPeerUrls, cfg.AdvertisePeerUrls = urls[1:], urls[1:]
	cfg.InitialCluster = cfg.InitialClusterFromName(cfg.Name)
	cfg.ZapLoggerBuilder = embed.NewZapLoggerBuilder(zap.NewNop())
	e, err := embed.StartEtcd(cfg)
	if err != nil {
		return nil, "", err
	}
	select {
	case <-e.Server.ReadyNotify():
		return e, urls[0].String(), nil
	case <-time.After(30 * time.Second):
		e.Close()
		return nil, "", errors.New("etcd did not start")
	}
}
