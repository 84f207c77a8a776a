package main

import (
	"context"
	"crypto/sha256"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/socialpay/socialpay/errcode"
	"github.com/socialpay/socialpay/ledger"
	"github.com/socialpay/socialpay/maintain"

	"go.yaml.in/yaml/v4"
)

//go:embed openapi.yaml
var openapiYAML []byte

// Principal is the authenticated caller: a user of the bank.
type Principal struct {
	User   uuid.UUID // the user's ID, which the features know them by
	Handle string    // the user's name in the demo's token configuration
}

// Authenticator is bankd's authentication integration point: a bank puts
// its own here (OAuth 2.0 token introspection, mTLS from its gateway, a
// session service). It answers who calls, or errUnauthenticated. Every
// /v1 request goes through it; the features trust what it says (the payer
// of a phone payment, the merchant of a charge).
type Authenticator interface {
	Authenticate(r *http.Request) (Principal, error)
}

// BearerTokens is the demo Authenticator: static bearer tokens from the
// configuration, kept as SHA-256 digests.
type BearerTokens map[[sha256.Size]byte]Principal

// NewBearerTokens returns the Authenticator of tokens (token → handle).
func NewBearerTokens(tokens map[string]string) BearerTokens {
	b := BearerTokens{}
	for token, handle := range tokens {
		b[sha256.Sum256([]byte(token))] = Principal{User: userID(handle), Handle: handle}
	}
	return b
}

// Authenticate implements Authenticator.
func (b BearerTokens) Authenticate(r *http.Request) (Principal, error) {
	scheme, token, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") || token == "" {
		return Principal{}, errUnauthenticated
	}
	p, ok := b[sha256.Sum256([]byte(token))]
	if !ok {
		return Principal{}, errUnauthenticated
	}
	return p, nil
}

// Server is bankd's HTTP side.
type Server struct {
	app     *App
	auth    Authenticator
	log     *slog.Logger
	mux     *http.ServeMux
	reg     *prometheus.Registry
	metrics *metrics
	runner  *maintain.Runner // the periodic work (maintain.go)
	// stopping is set when shutdown begins: /readyz answers 503 so that
	// the load balancer stops sending new requests.
	stopping atomic.Bool
	openapi  []byte // the document as JSON
}

type metrics struct {
	requests    *prometheus.CounterVec
	duration    *prometheus.HistogramVec
	maintenance *prometheus.CounterVec
	maintained  *prometheus.CounterVec
}

func newServer(app *App, auth Authenticator, log *slog.Logger) (*Server, error) {
	doc, err := yamlToJSON(openapiYAML)
	if err != nil {
		return nil, fmt.Errorf("openapi.yaml: %w", err)
	}
	s := &Server{app: app, auth: auth, log: log, mux: http.NewServeMux(), reg: app.reg, openapi: doc}
	s.metrics = &metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "bankd_http_requests_total",
			Help: "HTTP requests by route and status code."}, []string{"method", "route", "code"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "bankd_http_request_duration_seconds",
			Help: "HTTP request latency by route.", Buckets: prometheus.ExponentialBuckets(0.0005, 2, 16)}, []string{"method", "route"}),
		maintenance: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "bankd_maintenance_runs_total",
			Help: "Runs of each periodic task, by result."}, []string{"task", "result"}),
		maintained: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "bankd_maintenance_items_total",
			Help: "What each periodic task did, by the field of its report (refunded, released, reconcile_settled, …)."},
			[]string{"task", "item"}),
	}
	s.reg.MustRegister(s.metrics.requests, s.metrics.duration, s.metrics.maintenance, s.metrics.maintained,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	if s.runner, err = s.newRunner(); err != nil {
		return nil, err
	}
	s.routes()
	return s, nil
}

// handler is an authenticated API handler; an error it returns is
// answered as a problem.
type handler func(w http.ResponseWriter, r *http.Request, p Principal) error

func (s *Server) routes() {
	s.mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	s.mux.HandleFunc("GET /readyz", s.readyz)
	s.mux.Handle("GET /metrics", promhttp.HandlerFor(s.reg, promhttp.HandlerOpts{}))
	s.mux.HandleFunc("GET /openapi.json", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Write(s.openapi)
	})
	s.mux.HandleFunc("GET /openapi.yaml", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/yaml")
		w.Write(openapiYAML)
	})
	api := map[string]handler{
		"GET /v1/me":                      s.me,
		"PUT /v1/wallet":                  s.openWallet,
		"GET /v1/wallet":                  s.wallet,
		"POST /v1/wallet/deposits":        s.deposit,
		"GET /v1/wallet/statement":        s.statement,
		"POST /v1/groups":                 s.createGroup,
		"GET /v1/groups/{id}":             s.group,
		"POST /v1/groups/{id}/members":    s.addMember,
		"POST /v1/redpackets":             s.sendPacket,
		"GET /v1/redpackets/{id}":         s.packet,
		"POST /v1/redpackets/{id}/claims": s.claim,
		"PUT /v1/phone":                   s.bindPhone,
		"POST /v1/phone/resolve":          s.resolve,
		"POST /v1/transfers":              s.sendTransfer,
		"POST /v1/chat/transfers":         s.sendChat,
		"GET /v1/transfers/{id}":          s.getTransfer,
		"POST /v1/transfers/{id}/cancel":  s.cancelTransfer,
		"POST /v1/transfers/{id}/accept":  s.acceptTransfer,
		"POST /v1/transfers/{id}/decline": s.declineTransfer,
		"POST /v1/receive-codes":          s.issueCode,
		"POST /v1/qr/preview":             s.preview,
		"POST /v1/qr/payments":            s.pay,
		"POST /v1/devices":                s.registerDevice,
		"GET /v1/devices/{id}":            s.device,
		"POST /v1/payment-codes":          s.paymentCode,
		"POST /v1/qr/charges":             s.charge,
	}
	s.demoRoutes(api) // -demo only: the page and its endpoints (demo.go)
	for pattern, h := range api {
		s.mux.HandleFunc(pattern, s.authenticated(h))
	}
	// Unknown paths and methods are problems too.
	s.mux.HandleFunc("/", s.unrouted)
}

// methods are the methods bankd's routes may take, in the order an Allow
// header names them.
var methods = []string{"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"}

// unrouted answers a request no route took: 405 with an Allow header if
// its path takes other methods, else 404.
func (s *Server) unrouted(w http.ResponseWriter, r *http.Request) {
	var allow []string
	for _, m := range methods {
		probe := r.Clone(r.Context())
		probe.Method = m
		// A catch-all ("/", "GET /") says nothing about this path.
		if _, pattern := s.mux.Handler(probe); pattern != "" && pattern != "/" && !strings.HasSuffix(pattern, " /") {
			allow = append(allow, m)
		}
	}
	if len(allow) == 0 {
		writeProblem(w, r, errNotFound)
		return
	}
	w.Header().Set("Allow", strings.Join(allow, ", "))
	writeProblem(w, r, fmt.Errorf("%w: %s takes %s", errMethod, r.URL.Path, strings.Join(allow, ", ")))
}

func (s *Server) authenticated(h handler) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		p, err := s.auth.Authenticate(r)
		if err == nil {
			if lr, ok := w.(*logRecorder); ok {
				lr.user = p.Handle
			}
			err = h(w, r, p)
		}
		if err != nil {
			writeProblem(w, r, err)
		}
	}
}

func (s *Server) readyz(w http.ResponseWriter, r *http.Request) {
	if s.stopping.Load() {
		writeProblem(w, r, errUnavailable)
		return
	}
	if s.app.db != nil {
		ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
		defer cancel()
		if err := s.app.db.Pool().Ping(ctx); err != nil {
			writeProblem(w, r, fmt.Errorf("%w: database: %v", errUnavailable, err))
			return
		}
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ready"})
}

// ServeHTTP runs the middleware: a request ID (the client's X-Request-Id
// if it is a sane one), panics answered as problems, an access log line
// and the metrics.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	id := r.Header.Get("X-Request-Id")
	if !saneRequestID(id) {
		id = uuid.NewString()
	}
	w.Header().Set("X-Request-Id", id)
	ctx := context.WithValue(r.Context(), requestIDKey{}, id)
	r = r.WithContext(context.WithValue(ctx, loggerKey{}, s.log))
	rec := &logRecorder{ResponseWriter: w, status: http.StatusOK}
	defer func() {
		if v := recover(); v != nil {
			if v == http.ErrAbortHandler {
				panic(v)
			}
			s.log.LogAttrs(r.Context(), slog.LevelError, "panic", slog.String("request_id", id), slog.Any("panic", v))
			if !rec.wrote {
				writeProblem(rec, r, fmt.Errorf("panic: %v", v))
			}
		}
		route := r.Pattern
		if route == "" || route == "/" {
			route = "unmatched"
		}
		route = strings.TrimPrefix(route, r.Method+" ")
		elapsed := time.Since(start)
		s.metrics.requests.WithLabelValues(r.Method, route, strconv.Itoa(rec.status)).Inc()
		s.metrics.duration.WithLabelValues(r.Method, route).Observe(elapsed.Seconds())
		s.log.LogAttrs(r.Context(), slog.LevelInfo, "request", slog.String("request_id", id), slog.String("method", r.Method),
			slog.String("path", r.URL.Path), slog.String("route", route), slog.Int("status", rec.status),
			slog.Duration("duration", elapsed), slog.String("user", rec.user), slog.String("remote", r.RemoteAddr))
	}()
	s.mux.ServeHTTP(rec, r)
}

type requestIDKey struct{}

type loggerKey struct{}

// logger returns the server's logger from a request's context.
func logger(ctx context.Context) *slog.Logger {
	if l, ok := ctx.Value(loggerKey{}).(*slog.Logger); ok {
		return l
	}
	return slog.Default()
}

func requestID(ctx context.Context) string {
	id, _ := ctx.Value(requestIDKey{}).(string)
	return id
}

func saneRequestID(id string) bool {
	if id == "" || len(id) > 128 {
		return false
	}
	for i := 0; i < len(id); i++ {
		if id[i] < 0x21 || id[i] > 0x7e {
			return false
		}
	}
	return true
}

// logRecorder remembers the status and the caller for the access log.
type logRecorder struct {
	http.ResponseWriter
	status int
	wrote  bool
	user   string
}

func (l *logRecorder) WriteHeader(code int) {
	if !l.wrote {
		l.status, l.wrote = code, true
	}
	l.ResponseWriter.WriteHeader(code)
}

func (l *logRecorder) Write(b []byte) (int, error) {
	l.wrote = true
	return l.ResponseWriter.Write(b)
}

// maxBody bounds a request body: every body bankd takes is small.
const maxBody = 64 << 10

// decode reads the JSON body into v: one object, no unknown fields.
func decode(r *http.Request, v any) error {
	dec := json.NewDecoder(io.LimitReader(r.Body, maxBody+1))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		if _, ok := errors.AsType[*errcode.Error](err); ok {
			return fmt.Errorf("body: %w", err) // a value the library refused: an amount, a currency
		}
		return fmt.Errorf("%w: body: %v", errBadRequest, err)
	}
	if dec.More() {
		return fmt.Errorf("%w: body: more than one JSON value", errBadRequest)
	}
	return nil
}

// MaxIdempotencyKey bounds an Idempotency-Key header, in bytes: the
// library's bound on a key.
const MaxIdempotencyKey = ledger.MaxKeyLen

// idempotencyKey returns the request's Idempotency-Key: 1 to
// MaxIdempotencyKey printable ASCII characters (a header's text; the
// library's ledger.CheckKey, which allows any UTF-8 without control
// characters, checks it again). bankd derives the IDs of
// what the request creates from it and the caller, so that the same key
// on any instance names the same operation.
func idempotencyKey(r *http.Request) (string, error) {
	k := r.Header.Get("Idempotency-Key")
	if k == "" {
		return "", errKeyRequired
	}
	if len(k) > MaxIdempotencyKey || !saneRequestID(strings.ReplaceAll(k, " ", "_")) {
		return "", fmt.Errorf("%w: Idempotency-Key must be 1 to %d printable ASCII characters", errBadRequest, MaxIdempotencyKey)
	}
	return k, nil
}

func pathID(r *http.Request) (uuid.UUID, error) {
	id, err := uuid.Parse(r.PathValue("id"))
	if err != nil {
		return uuid.Nil, fmt.Errorf("%w: the path's ID is not a UUID", errNotFound)
	}
	return id, nil
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	writeJSONType(w, status, "application/json", v)
}

func writeJSONType(w http.ResponseWriter, status int, contentType string, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		contentType, status = "application/problem+json", http.StatusInternalServerError
		b = []byte(`{"type":"` + ProblemTypePrefix + `internal","title":"Internal Server Error","status":500,"code":"internal"}`)
	}
	w.Header().Set("Content-Type", contentType)
	w.WriteHeader(status)
	w.Write(append(b, '\n'))
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// serve runs bankd until ctx ends: it listens, prints its address,
// serves, runs the periodic work, and shuts down gracefully.
func serve(ctx context.Context, cfg Config, stdout io.Writer) error {
	log := slog.New(slog.NewJSONHandler(stderrOr(cfg), &slog.HandlerOptions{Level: cfg.LogLevel}))
	app, err := newApp(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer app.Close()
	srv, err := newServer(app, NewBearerTokens(cfg.Tokens), log)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return err
	}
	debug, err := listenDebug(cfg)
	if err != nil {
		ln.Close()
		return err
	}
	defer serveDebug(debug, log)()
	mode := "memory stores, single process"
	if cfg.DSN != "" {
		mode = "PostgreSQL schema " + cfg.Schema
	}
	if cfg.Demo {
		mode += "; the demo page is /demo/"
	}
	fmt.Fprintf(stdout, "bankd listening on http://%s (%s)\n", ln.Addr(), mode)
	hs := &http.Server{Handler: srv, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 30 * time.Second,
		WriteTimeout: 30 * time.Second, IdleTimeout: 2 * time.Minute,
		ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelWarn)}

	if cfg.Maintain > 0 {
		srv.runner.Start(context.WithoutCancel(ctx))
	}
	served := make(chan error, 1)
	go func() { served <- hs.Serve(ln) }()

	select {
	case err = <-served:
	case <-ctx.Done():
		log.Info("shutting down", "grace", cfg.Shutdown)
		srv.stopping.Store(true)
		sctx, cancel := context.WithTimeout(context.Background(), cfg.Shutdown)
		err = hs.Shutdown(sctx)
		cancel()
	}
	srv.runner.Close() // before the stores close
	if errors.Is(err, http.ErrServerClosed) {
		err = nil
	}
	log.Info("stopped", "err", err)
	return err
}

// stderrOr is where logs go: os.Stderr, or Config's log writer in tests.
func stderrOr(cfg Config) io.Writer {
	if cfg.LogWriter != nil {
		return cfg.LogWriter
	}
	return osStderr
}

var osStderr io.Writer = os.Stderr

// yamlToJSON converts the OpenAPI document to JSON for /openapi.json.
func yamlToJSON(y []byte) ([]byte, error) {
	var v any
	if err := yaml.Unmarshal(y, &v); err != nil {
		return nil, err
	}
	var conv func(any) (any, error)
	conv = func(v any) (any, error) {
		switch t := v.(type) {
		case map[string]any:
			for k, e := range t {
				c, err := conv(e)
				if err != nil {
					return nil, err
				}
				t[k] = c
			}
			return t, nil
		case map[any]any:
			m := make(map[string]any, len(t))
			for k, e := range t {
				c, err := conv(e)
				if err != nil {
					return nil, err
				}
				m[fmt.Sprint(k)] = c
			}
			return m, nil
		case []any:
			for i, e := range t {
				c, err := conv(e)
				if err != nil {
					return nil, err
				}
				t[i] = c
			}
		}
		return v, nil
	}
	if v, err := conv(v); err != nil {
		return nil, err
	} else {
		return json.Marshal(v)
	}
}
