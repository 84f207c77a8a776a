package main

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// TestREADME runs the README's newcomer path as written: bankd built as
// go run builds it, started without a database, and the README's curl
// block run by bash against it (only the port differs: the test's bankd
// listens on a free one). Every curl must succeed (curl -f) and the
// answers must tell the story: the claim paid, the phone payment settled.
// It needs bash, curl and jq, which CI has; elsewhere it skips without them.
func TestREADME(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs bankd")
	}
	for _, tool := range []string{"bash", "curl", "jq"} {
		if _, err := exec.LookPath(tool); err != nil {
			if os.Getenv("CI") != "" {
				t.Fatalf("CI is set and %s is missing", tool)
			}
			t.Skipf("the README's block needs %s", tool)
		}
	}
	block := readmeBlock(t, "API=http://127.0.0.1:8080")
	p := startBankd(t, []string{"BANKD_TOKENS=", "BANKD_SECRET="}, "-maintain", "0")
	script := strings.ReplaceAll(block, "http://127.0.0.1:8080", "http://"+p.addr)

	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "bash", "-euo", "pipefail", "-c", script)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	if err := cmd.Run(); err != nil {
		t.Fatalf("the README's block failed: %v\nstdout:\n%s\nstderr:\n%s\nbankd's logs:\n%s", err, &out, &errOut, p.logs)
	}
	for _, want := range []string{`"paid":true`, `"masked_name":"**明"`, `"state":"settled"`, `{"kind":"posted","posted":"10.00",`} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("the README's block printed no %s:\n%s", want, &out)
		}
	}
	p.stop(t)
}

// readmeBlock returns the fenced block of the repository's README that
// contains marker.
func readmeBlock(t *testing.T, marker string) string {
	t.Helper()
	b, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	parts := strings.Split(string(b), "```")
	for i := 1; i < len(parts); i += 2 {
		if strings.Contains(parts[i], marker) {
			_, body, _ := strings.Cut(parts[i], "\n") // the info string
			return body
		}
	}
	t.Fatalf("README.md has no fenced block with %q", marker)
	return ""
}
