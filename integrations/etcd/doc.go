// Package regoetcd reads rego policy documents from etcd, pushed by watch.
//
// A Source keeps one document under one etcd key. It is a
// controlplane.Watcher: a controlplane.SourceProvider runs its Watch, which
// reads the key, then watches it from the next revision, so a put reaches
// every process by push, typically within milliseconds. The provider does
// the rest as for any source: decoding, the last-known-good document, the
// disk cache, LastError and reload events. NewProvider puts the two
// together:
//
//	cli, _ := clientv3.New(clientv3.Config{Endpoints: []string{"etcd-1:2379"}})
//	p, err := regoetcd.NewProvider(regoetcd.Options{Client: cli, Key: "/rego/payments"},
//		controlplane.SourceOptions{CacheFile: "/var/cache/rego/payments.json"})
//	if err != nil { ... }
//	defer p.Close()
//	exec := retry.NewExecutor(retry.ExecutorOptions{Provider: p})
//
// Failures keep the document in force. When etcd goes away, the client
// reconnects by itself and the watch resumes where it stopped; the
// provider's periodic read (SourceOptions.Interval, 30s by default) marks
// the document stale meanwhile, so timelines show the outage. When the
// revisions a watch needs have been compacted, Watch reads the key again
// and watches from the new revision. An invalid or oversized value, or a
// deleted key, is reported and the last good document stays. With a
// cache file, a process restarted during an outage starts with its last
// good document.
//
// The Source does not own the client: close it after the provider.
package regoetcd
