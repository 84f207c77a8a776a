package main

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"time"
)

// Config is what bankd starts with: flags and the environment.
type Config struct {
	Addr     string        // -addr
	DSN      string        // -dsn; empty: memory stores, one process
	Schema   string        // -schema
	Maintain time.Duration // -maintain: period of the periodic work; 0 turns it off
	// Shutdown bounds the graceful shutdown: requests in flight get this
	// long to finish.
	Shutdown time.Duration
	// Tokens maps bearer tokens to user handles (BANKD_TOKENS).
	Tokens map[string]string
	// Secret is the shared secret every key is derived from
	// (BANKD_SECRET); with DSN it is required, else random.
	Secret   []byte
	LogLevel slog.Level
	// PProf is where net/http/pprof is served (-pprof); empty: nowhere.
	PProf string
	// Now is the clock; nil means time.Now (tests move it).
	Now func() time.Time
	// LogWriter receives the logs; nil means stderr.
	LogWriter io.Writer
	// Demo serves the demo page at /demo/ with its movable clock and its
	// view of the whole ledger (-demo; memory stores only, see demo.go).
	Demo bool
}

// demoTokens are the bearer tokens of a bankd without BANKD_TOKENS and
// without a database: the README's newcomer path uses them.
var demoTokens = map[string]string{"alice-token": "alice", "bob-token": "bob", "carol-token": "carol"}

// errConfig: bankd cannot start with the configuration it was given.
var errConfig = errors.New("bankd: invalid configuration")

func parseConfig(args []string, getenv func(string) string, stderr io.Writer) (Config, error) {
	fs := flag.NewFlagSet("bankd", flag.ContinueOnError)
	fs.SetOutput(stderr)
	c := Config{}
	fs.StringVar(&c.Addr, "addr", "127.0.0.1:8080", "address to listen on (port 0: a free port)")
	fs.StringVar(&c.DSN, "dsn", "", "PostgreSQL connection string; empty: memory stores in this process alone")
	fs.StringVar(&c.Schema, "schema", "socialpay", "PostgreSQL schema of the stores and of bankd's own tables")
	fs.DurationVar(&c.Maintain, "maintain", 5*time.Second, "period of the periodic work (refunds, releases, reconciliation); 0: none")
	fs.DurationVar(&c.Shutdown, "shutdown", 10*time.Second, "how long requests in flight get to finish on SIGTERM")
	level := fs.String("log-level", "info", "log level: debug, info, warn, error")
	fs.BoolVar(&c.Demo, "demo", false, "serve the demo page at /demo/, with a clock it can move and a view of every account; memory stores and demo tokens only")
	fs.StringVar(&c.PProf, "pprof", "", "serve net/http/pprof on this address, apart from the API (keep it private); empty: none")
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	if fs.NArg() > 0 {
		return c, fmt.Errorf("%w: unexpected arguments %q", errConfig, fs.Args())
	}
	if err := c.LogLevel.UnmarshalText([]byte(*level)); err != nil {
		return c, fmt.Errorf("%w: -log-level: %v", errConfig, err)
	}
	var err error
	if c.Tokens, err = parseTokens(getenv("BANKD_TOKENS")); err != nil {
		return c, err
	}
	if err := c.checkDemo(); err != nil {
		return c, err
	}
	if c.Demo && c.Tokens != nil {
		return c, fmt.Errorf("%w: -demo: the page acts as the demo users; leave BANKD_TOKENS unset", errConfig)
	}
	if c.Tokens == nil {
		if c.DSN != "" {
			return c, fmt.Errorf("%w: BANKD_TOKENS is required with -dsn (demo tokens serve a single process only)", errConfig)
		}
		c.Tokens = demoTokens
		if c.Demo {
			c.Tokens = demoPageTokens
		}
	}
	switch s := getenv("BANKD_SECRET"); {
	case s != "":
		if c.Secret, err = hex.DecodeString(s); err != nil || len(c.Secret) < 32 {
			return c, fmt.Errorf("%w: BANKD_SECRET must be at least 64 hex digits (32 bytes)", errConfig)
		}
	case c.DSN != "":
		return c, fmt.Errorf("%w: BANKD_SECRET is required with -dsn: every instance must share the keys it derives", errConfig)
	default:
		c.Secret = make([]byte, 32)
		rand.Read(c.Secret)
	}
	return c, nil
}

// parseTokens reads "handle=token,handle=token"; empty means none given.
func parseTokens(s string) (map[string]string, error) {
	if strings.TrimSpace(s) == "" {
		return nil, nil
	}
	tokens := map[string]string{}
	for _, pair := range strings.Split(s, ",") {
		handle, token, ok := strings.Cut(strings.TrimSpace(pair), "=")
		if !ok || !validHandle(handle) || len(token) < 8 {
			return nil, fmt.Errorf("%w: BANKD_TOKENS wants handle=token pairs (handles of a-z 0-9 _ -, tokens of 8 bytes or more)", errConfig)
		}
		tokens[token] = handle
	}
	return tokens, nil
}

func validHandle(h string) bool {
	if h == "" || len(h) > 64 {
		return false
	}
	for _, c := range h {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

// key derives the key for purpose from the shared secret: HMAC-SHA256 of
// the purpose under the secret. A bank replaces this with its KMS: each
// key unwrapped at start-up, the same in every instance.
func (c Config) key(purpose string) []byte {
	m := hmac.New(sha256.New, c.Secret)
	m.Write([]byte("bankd/" + purpose))
	return m.Sum(nil)
}
