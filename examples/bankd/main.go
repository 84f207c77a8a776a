// Command bankd is the reference service a bank copies: an HTTP JSON API
// over socialpay for wallets, chat groups, red packets, phone payments,
// chat transfers, receive codes, payment codes, QR payments and
// statements.
//
//	go run ./examples/bankd                      # memory stores, one process, demo tokens
//	go run ./examples/bankd -dsn postgres://…    # PostgreSQL: run as many instances as you like
//
// Its contract is the OpenAPI 3.1 document it serves at /openapi.yaml and
// /openapi.json (openapi.yaml beside this file), which its tests check
// every handler against. Errors are RFC 9457 problem details
// (application/problem+json) whose type names a stable code: the
// library's (errcode.Of, its class giving the status; docs/errors.md) or
// bankd's own (problem.go). Creating
// requests carry an Idempotency-Key header: the IDs of what they create
// are derived from the key and the caller, so a retry, on this instance or
// another, gets the original's answer and moves money once.
//
// Authentication is one interface (Authenticator); the demo reads bearer
// tokens from BANKD_TOKENS ("alice=secret1,bob=secret2"), and without
// -dsn falls back to the tokens alice-token, bob-token and carol-token.
// With -dsn every shared secret (lookup tokens, QR signing, password
// packets, ledger seals, device secrets, payment codes) is derived from
// BANKD_SECRET (64 hex digits), which every instance must share; bankd
// refuses to start on PostgreSQL without it rather than make up keys of
// its own.
//
// Operations: /healthz (the process runs), /readyz (it serves: the
// database answers and it is not shutting down), /metrics (Prometheus:
// bankd's metrics and the library's, which every Config meters through an
// OpenTelemetry MeterProvider exporting to the same registry), access logs
// with request IDs through log/slog on stderr (the library logs there
// too), and a graceful shutdown on SIGTERM or SIGINT. Every instance runs
// the periodic work, each feature's Maintain on a maintain.Runner
// (refunds of expired packets, delayed transfers landing, chats expiring,
// reconciliation), safe on many instances at once; on PostgreSQL a lease
// per task spares them repeating each other.
//
// TestChaos runs three instances on one schema under a mixed load and
// SIGKILLs one mid-run: every acknowledged operation is kept, none is
// applied twice, and every check of the library passes after
// (scripts/bankd-chaos.sh runs it long).
//
// Flags: -addr (127.0.0.1:8080; port 0 picks a free one), -dsn, -schema,
// -maintain (the period of the periodic work), -shutdown (the grace of
// requests in flight), -log-level, -demo (a page at /demo/ to try the
// product in a browser, with a clock it moves forward and a view of every
// account; memory stores and demo tokens only, see demo.go), -pprof (an
// address for net/http/pprof, apart from the API). The first line bankd
// prints on stdout is "bankd listening on http://ADDR".
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "bankd:", err)
		os.Exit(1)
	}
}

// run parses args, starts bankd and serves until ctx ends, then shuts down
// gracefully. getenv reads the environment.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	cfg, err := parseConfig(args, getenv, stderr)
	if err != nil {
		return err
	}
	return serve(ctx, cfg, stdout)
}
