package controlplane

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"time"
)

// cacheEntry is the on-disk copy of the last good document a
// SourceProvider loaded. The body is kept byte for byte (base64 in the
// JSON), whatever the document's format, so that it is decoded by the same
// decoder as a fresh one. (The JSON names date from when only the HTTP
// provider had a cache, so older files still load.)
type cacheEntry struct {
	Source   string    `json:"url"`
	Revision string    `json:"etag,omitempty"`
	SavedAt  time.Time `json:"saved_at"`
	Body     []byte    `json:"body"`
}

// writeCache replaces the cache file atomically: a crash mid-write must
// never leave a torn file that would cost the next start its policies.
func writeCache(path string, e cacheEntry) (err error) {
	b, err := json.Marshal(e)
	if err != nil {
		return fmt.Errorf("controlplane: cache %s: %w", path, err)
	}
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	f, err := os.CreateTemp(dir, "."+base+".tmp-*")
	if err != nil {
		return fmt.Errorf("controlplane: cache: %w", err)
	}
	tmp := f.Name()
	defer func() {
		if err != nil {
			os.Remove(tmp)
		}
	}()
	if _, err = f.Write(b); err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("controlplane: cache: %w", err)
	}
	if err = os.Rename(tmp, path); err != nil {
		return fmt.Errorf("controlplane: cache: %w", err)
	}
	return nil
}

// readCache reads the cache file written for source. A cache written for
// another source is not used: it holds another fleet's policies.
func readCache(path, source string, max int64) (cacheEntry, error) {
	// The entry holds the body in base64 plus a little metadata.
	b, err := readLimited(path, max/3*4+4096)
	if err != nil {
		return cacheEntry{}, err
	}
	return parseCache(b, path, source)
}

// parseCache decodes the content b of the cache file at path, written for
// source.
func parseCache(b []byte, path, source string) (cacheEntry, error) {
	var e cacheEntry
	if err := json.Unmarshal(b, &e); err != nil {
		return cacheEntry{}, fmt.Errorf("controlplane: cache %s: %w", path, err)
	}
	if e.Source != source {
		return cacheEntry{}, fmt.Errorf("controlplane: cache %s was written for %s, not %s", path, e.Source, source)
	}
	return e, nil
}
