package main

import (
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"testing"
)

// -pprof serves net/http/pprof on its own listener, and stops.
func TestDebug(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	stop := serveDebug(ln, slog.New(slog.NewTextHandler(io.Discard, nil)))
	res, err := http.Get("http://" + ln.Addr().String() + "/debug/pprof/cmdline")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 200 || !strings.Contains(string(body), "bankd.test") {
		t.Fatalf("/debug/pprof/cmdline: %d %q", res.StatusCode, body)
	}
	stop()
	if _, err := http.Get("http://" + ln.Addr().String() + "/debug/pprof/cmdline"); err == nil {
		t.Fatal("pprof still served after stop")
	}
	if ln, err := listenDebug(Config{}); ln != nil || err != nil {
		t.Fatalf("without -pprof: %v, %v", ln, err)
	}
}
