package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/socialpay/socialpay/ledger"
)

// drivesBankd reports whether a scenario drives a running bankd.
func drivesBankd(scenario string) bool { return strings.HasPrefix(scenario, "http-") }

// startBankd builds examples/bankd and runs it on its memory stores with
// the tokens of users u00…, returning its URL.
func startBankd(t *testing.T, users int) string {
	t.Helper()
	if testing.Short() {
		t.Skip("builds and runs bankd")
	}
	bin := filepath.Join(t.TempDir(), "bankd")
	if out, err := exec.Command("go", "build", "-o", bin, "../bankd").CombinedOutput(); err != nil {
		t.Fatalf("go build ../bankd: %v\n%s", err, out)
	}
	var tokens []string
	for i := range users {
		tokens = append(tokens, fmt.Sprintf("u%02d=test-token-%02d", i, i))
	}
	t.Setenv("BANKD_TOKENS", strings.Join(tokens, ","))
	cmd := exec.Command(bin, "-addr", "127.0.0.1:0", "-maintain", "0", "-log-level", "warn")
	dieWithParent(cmd)
	var logs bytes.Buffer
	cmd.Stderr = &logs
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
	})
	line, err := bufio.NewReader(stdout).ReadString('\n')
	m := regexp.MustCompile(`^bankd listening on (http://\S+)`).FindStringSubmatch(line)
	if m == nil {
		cmd.Process.Kill()
		cmd.Wait()
		t.Fatalf("bankd printed %q (%v); logs:\n%s", line, err, &logs)
	}
	return m[1]
}

// http-redpacket makes its claims through bankd, and verifies them there;
// without -http it says what it wants.
func TestHTTPRedPacket(t *testing.T) {
	var out bytes.Buffer
	c := testConfig("http-redpacket", &out)
	err := bench(context.Background(), c, ledger.NewMemoryStore(), nil)
	if err == nil || !strings.Contains(err.Error(), "-http") {
		t.Fatalf("without -http: %v", err)
	}
	c.http = startBankd(t, 40)
	c.ops, c.duration = 500, 100*time.Millisecond
	out.Reset()
	if err := bench(context.Background(), c, ledger.NewMemoryStore(), nil); err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	checkOutput(t, "http-redpacket", out.String())
}
