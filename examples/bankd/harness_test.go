package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	legacyrouter "github.com/getkin/kin-openapi/routers/legacy"
)

func init() {
	openapi3filter.RegisterBodyDecoder("image/png", openapi3filter.FileBodyDecoder)
}

// loadDoc loads and validates the embedded OpenAPI document.
func loadDoc(t testing.TB) *openapi3.T {
	t.Helper()
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromData(openapiYAML)
	if err != nil {
		t.Fatalf("loading openapi.yaml: %v", err)
	}
	if !doc.IsOpenAPI31OrLater() {
		t.Fatalf("openapi.yaml is OpenAPI %s, want 3.1", doc.OpenAPI)
	}
	if err := doc.Validate(context.Background()); err != nil {
		t.Fatalf("openapi.yaml does not validate: %v", err)
	}
	doc.Servers = nil // route on paths alone, whatever the test server's address
	return doc
}

// apiTest is a bankd in this process behind an httptest server, with a
// client that checks every exchange against the OpenAPI document and
// remembers which operations answered with success and with a problem.
type apiTest struct {
	t      testing.TB
	s      *Server
	app    *App
	srv    *httptest.Server
	doc    *openapi3.T
	router routers.Router

	mu   sync.Mutex
	seen map[string]map[string]bool // operation ID → "success" / "problem"
}

func newAPITest(t testing.TB, cfg Config) *apiTest {
	t.Helper()
	if cfg.Tokens == nil {
		cfg.Tokens = demoTokens
	}
	if cfg.Secret == nil {
		cfg.Secret = bytes.Repeat([]byte{7}, 32)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	app, err := newApp(context.Background(), cfg, log)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(app.Close)
	s, err := newServer(app, NewBearerTokens(cfg.Tokens), log)
	if err != nil {
		t.Fatal(err)
	}
	a := &apiTest{t: t, s: s, app: app, srv: httptest.NewServer(s), doc: loadDoc(t), seen: map[string]map[string]bool{}}
	t.Cleanup(a.srv.Close)
	if a.router, err = legacyrouter.NewRouter(a.doc); err != nil {
		t.Fatal(err)
	}
	return a
}

// call is one request: token names the caller ("" for none), key the
// Idempotency-Key ("" for none), body is JSON-encoded unless it is a
// string or nil.
type call struct {
	method, path, token, key string
	body                     any
	header                   map[string]string
	// invalid: the request breaks the document on purpose (a problem
	// test); only the response is checked.
	invalid bool
}

type response struct {
	status int
	header http.Header
	body   []byte
}

func (r response) decode(t testing.TB, v any) {
	t.Helper()
	if err := json.Unmarshal(r.body, v); err != nil {
		t.Fatalf("decoding %s: %v", r.body, err)
	}
}

// problem returns the response's problem code ("" if it is none).
func (r response) problem() string {
	if !strings.HasPrefix(r.header.Get("Content-Type"), "application/problem+json") {
		return ""
	}
	var p Problem
	json.Unmarshal(r.body, &p)
	return p.Code
}

func (a *apiTest) do(c call) response {
	t := a.t
	t.Helper()
	var body []byte
	switch b := c.body.(type) {
	case nil:
	case string:
		body = []byte(b)
	default:
		var err error
		if body, err = json.Marshal(b); err != nil {
			t.Fatal(err)
		}
	}
	req, err := http.NewRequest(c.method, a.srv.URL+c.path, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	if c.key != "" {
		req.Header.Set("Idempotency-Key", c.key)
	}
	for k, v := range c.header {
		req.Header.Set(k, v)
	}
	res, err := a.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	out := response{status: res.StatusCode, header: res.Header}
	out.body, err = io.ReadAll(res.Body)
	res.Body.Close()
	if err != nil {
		t.Fatal(err)
	}
	a.check(c, req, body, out)
	return out
}

// check validates an exchange against the document and records it.
func (a *apiTest) check(c call, req *http.Request, body []byte, res response) {
	t := a.t
	t.Helper()
	ctx := context.Background()
	vreq := req.Clone(ctx)
	vreq.Body = io.NopCloser(bytes.NewReader(body))
	route, params, err := a.router.FindRoute(vreq)
	if err != nil {
		if res.status == http.StatusNotFound && res.problem() == "not_found" {
			return // a path the document does not have, answered as such
		}
		if res.status == http.StatusMethodNotAllowed && res.problem() == "method_not_allowed" && res.header.Get("Allow") != "" {
			return // a method the path does not take, answered as such
		}
		t.Errorf("%s %s: no operation in the document: %v", c.method, c.path, err)
		return
	}
	in := &openapi3filter.RequestValidationInput{Request: vreq, PathParams: params, Route: route,
		Options: &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc, MultiError: true}}
	if !c.invalid {
		if err := openapi3filter.ValidateRequest(ctx, in); err != nil {
			t.Errorf("%s %s: request breaks the document: %v", c.method, c.path, err)
		}
	}
	if err := openapi3filter.ValidateResponse(ctx, &openapi3filter.ResponseValidationInput{RequestValidationInput: in,
		Status: res.status, Header: res.header, Body: io.NopCloser(bytes.NewReader(res.body)),
		Options: &openapi3filter.Options{IncludeResponseStatus: true, MultiError: true}}); err != nil {
		t.Errorf("%s %s → %d: response breaks the document: %v\n%s", c.method, c.path, res.status, err, res.body)
	}
	kind := "success"
	if res.status >= 400 {
		kind = "problem"
		var p Problem
		if err := json.Unmarshal(res.body, &p); err != nil || p.Status != res.status || p.Type != ProblemTypePrefix+p.Code ||
			res.header.Get("Content-Type") != "application/problem+json" {
			t.Errorf("%s %s → %d: not an RFC 9457 problem of bankd: %s", c.method, c.path, res.status, res.body)
		}
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.seen[route.Operation.OperationID] == nil {
		a.seen[route.Operation.OperationID] = map[string]bool{}
	}
	a.seen[route.Operation.OperationID][kind] = true
}

// coverage fails for every operation of the document not seen answering
// with success, and, if it documents problems, with a problem.
func (a *apiTest) coverage() {
	t := a.t
	t.Helper()
	var missing []string
	for path, item := range a.doc.Paths.Map() {
		for method, op := range item.Operations() {
			seen := a.seen[op.OperationID]
			if !seen["success"] {
				missing = append(missing, method+" "+path+" (success)")
			}
			if op.Responses.Default() != nil && !seen["problem"] {
				missing = append(missing, method+" "+path+" (problem)")
			}
		}
	}
	sort.Strings(missing)
	if len(missing) > 0 {
		t.Errorf("operations not exercised:\n  %s", strings.Join(missing, "\n  "))
	}
}
