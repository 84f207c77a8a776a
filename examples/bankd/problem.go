package main

import (
	"errors"
	"log/slog"
	"math"
	"net/http"

	"github.com/socialpay/socialpay/errcode"
	"github.com/socialpay/socialpay/transfer"
)

// Problem is an RFC 9457 problem detail, served as
// application/problem+json. Type is ProblemTypePrefix + Code: a client
// switches on Code (or Type), never on Detail. The codes are the
// library's (errcode, listed in docs/errors.md) and bankd's own below.
type Problem struct {
	Type      string `json:"type"`
	Title     string `json:"title"`
	Status    int    `json:"status"`
	Detail    string `json:"detail,omitempty"`
	Instance  string `json:"instance,omitempty"`
	Code      string `json:"code"`
	RequestID string `json:"request_id,omitempty"`
	// RetryAfter is in seconds, for rate_limited (also the Retry-After
	// header).
	RetryAfter int64 `json:"retry_after,omitempty"`
}

// ProblemTypePrefix begins every problem type URI.
const ProblemTypePrefix = "urn:socialpay:problem:"

// bankd's own errors, with codes and classes as the library's have.
var (
	errUnauthenticated = errcode.New("unauthenticated", errcode.Forbidden, "bankd: missing or unknown bearer token")
	errBadRequest      = errcode.New("invalid_request", errcode.Invalid, "bankd: malformed request")
	errKeyRequired     = errcode.New("idempotency_key_required", errcode.Invalid, "bankd: Idempotency-Key header required")
	errNotFound        = errcode.New("not_found", errcode.NotFound, "bankd: no such resource")
	errMethod          = errcode.New("method_not_allowed", errcode.Invalid, "bankd: method not allowed on this resource")
	errUnavailable     = errcode.New("unavailable", errcode.Unavailable, "bankd: shutting down")
)

// statuses are the HTTP statuses of bankd's errors that HTTP says more
// precisely than their class: 401 asks for credentials (a class says
// whose fault an error is, and an unknown caller may not do anything),
// 405 names a method the path does not take.
var statuses = map[error]int{
	errUnauthenticated: http.StatusUnauthorized,
	errMethod:          http.StatusMethodNotAllowed,
}

// classify returns err's code and HTTP status: the library's errcode.Of
// and its class's status, but for bankd's statuses above. An error
// without a code is internal (500).
func classify(err error) (code string, status int) {
	code, class := errcode.Of(err)
	if e, ok := errors.AsType[*errcode.Error](err); ok {
		if s, ok := statuses[e]; ok {
			return code, s
		}
	}
	return code, class.HTTPStatus()
}

// writeProblem answers err as a problem detail. Internal errors are
// logged with the request and shown as "internal" alone.
func writeProblem(w http.ResponseWriter, r *http.Request, err error) {
	code, status := classify(err)
	p := Problem{Type: ProblemTypePrefix + code, Title: http.StatusText(status), Status: status, Code: code,
		Detail: err.Error(), Instance: r.URL.Path, RequestID: requestID(r.Context())}
	if status == http.StatusInternalServerError {
		p.Detail = "internal error; the request ID names it in the logs"
		logger(r.Context()).LogAttrs(r.Context(), slog.LevelError, "internal error", slog.String("request_id", p.RequestID),
			slog.String("path", r.URL.Path), slog.Any("err", err))
	}
	if rl, ok := errors.AsType[*transfer.RateLimitError](err); ok {
		p.RetryAfter = int64(math.Ceil(rl.RetryAfter.Seconds()))
		w.Header().Set("Retry-After", itoa(p.RetryAfter))
	}
	if status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Bearer realm="bankd"`)
	}
	writeJSONType(w, status, "application/problem+json", p)
}
