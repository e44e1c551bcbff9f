package controlplane

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io/fs"
	"net/http"
	"path/filepath"
	"strings"
	"sync"

	"github.com/aponysus/rego/policy"
)

// HandlerOptions configures the handler made by NewHandler. Exactly one of
// Dir and File must be set.
type HandlerOptions struct {
	// Dir serves every document in a directory: GET /payments serves
	// Dir/payments.json (the Ext is added when the name lacks it). Names
	// are letters, digits, '.', '_' and '-', not starting with '.'; there
	// are no subdirectories.
	Dir string
	// File serves one document at every path.
	File string
	// Ext is the extension added to names in Dir. Empty means ".json".
	Ext string
	// Decode validates each document before it is served. Nil means
	// policy.DecodeDocument (JSON).
	Decode DecodeFunc
	// ContentType is sent with documents. Empty means
	// "application/json".
	ContentType string
	// MaxBytes bounds a document's size. Zero means DefaultMaxBytes.
	MaxBytes int64
}

// NewHandler returns an http.Handler serving policy documents to
// RemoteProviders: a small control plane.
//
// Files are read on every request, so an edit (or an atomic rename, or a
// ConfigMap symlink swap) is served at once. Each document is validated
// with Decode the first time its content is seen; an invalid document is
// never served (500, with the problems in the body), so a typo on the
// server leaves every client on its last-known-good document instead of
// spreading. Responses carry a strong ETag (a SHA-256 of the content), and
// a request whose If-None-Match names it gets 304 Not Modified. GET and
// HEAD are served; other methods get 405.
//
// NewHandler panics unless exactly one of opts.Dir and opts.File is set.
func NewHandler(opts HandlerOptions) http.Handler {
	if (opts.Dir == "") == (opts.File == "") {
		panic("controlplane: HandlerOptions needs exactly one of Dir and File")
	}
	h := &handler{opts: opts, valid: map[string]validation{}}
	if h.opts.Ext == "" {
		h.opts.Ext = ".json"
	}
	if h.opts.Decode == nil {
		h.opts.Decode = policy.DecodeDocument
	}
	if h.opts.ContentType == "" {
		h.opts.ContentType = "application/json"
	}
	if h.opts.MaxBytes <= 0 {
		h.opts.MaxBytes = DefaultMaxBytes
	}
	return h
}

type handler struct {
	opts HandlerOptions

	// valid remembers the validation of every content seen, by file, so a
	// document is decoded once per change, not once per request.
	mu    sync.Mutex
	valid map[string]validation
}

type validation struct {
	sum [sha256.Size]byte
	err error
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	path := h.opts.File
	if path == "" {
		name, ok := h.name(r.URL.Path)
		if !ok {
			http.NotFound(w, r)
			return
		}
		path = filepath.Join(h.opts.Dir, name)
	}
	body, err := readLimited(path, h.opts.MaxBytes)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			http.NotFound(w, r)
			return
		}
		http.Error(w, "cannot read document", http.StatusInternalServerError)
		return
	}
	sum := sha256.Sum256(body)
	if err := h.validate(path, sum, body); err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	etag := `"` + hex.EncodeToString(sum[:16]) + `"`
	w.Header().Set("ETag", etag)
	w.Header().Set("Cache-Control", "no-cache")
	if etagMatch(r.Header.Get("If-None-Match"), etag) {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	w.Header().Set("Content-Type", h.opts.ContentType)
	w.WriteHeader(http.StatusOK)
	if r.Method == http.MethodGet {
		_, _ = w.Write(body)
	}
}

// name maps a URL path to a file name in Dir.
func (h *handler) name(urlPath string) (string, bool) {
	name := strings.TrimPrefix(urlPath, "/")
	if name == "" || name[0] == '.' {
		return "", false
	}
	for _, c := range name {
		ok := c == '.' || c == '_' || c == '-' || ('a' <= c && c <= 'z') || ('A' <= c && c <= 'Z') || ('0' <= c && c <= '9')
		if !ok {
			return "", false
		}
	}
	if !strings.HasSuffix(name, h.opts.Ext) {
		name += h.opts.Ext
	}
	return name, true
}

func (h *handler) validate(path string, sum [sha256.Size]byte, body []byte) error {
	h.mu.Lock()
	v, ok := h.valid[path]
	h.mu.Unlock()
	if ok && v.sum == sum {
		return v.err
	}
	_, err := h.opts.Decode(body)
	h.mu.Lock()
	h.valid[path] = validation{sum: sum, err: err}
	h.mu.Unlock()
	return err
}

// etagMatch applies If-None-Match's weak comparison (RFC 9110, 13.1.2):
// "*" matches anything; otherwise any listed tag equal to etag, ignoring a
// W/ prefix.
func etagMatch(header, etag string) bool {
	if header == "" {
		return false
	}
	for _, t := range strings.Split(header, ",") {
		t = strings.TrimSpace(t)
		if t == "*" || strings.TrimPrefix(t, "W/") == etag {
			return true
		}
	}
	return false
}
