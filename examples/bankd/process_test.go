package main

import (
	"bufio"
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sync"
	"syscall"
	"testing"
	"time"
)

var built struct {
	once sync.Once
	bin  string
	err  error
	out  []byte
}

// bankdBinary builds this command once per test binary, as go run would.
func bankdBinary(t testing.TB) string {
	t.Helper()
	built.once.Do(func() {
		dir, err := os.MkdirTemp("", "bankd-test-")
		if err != nil {
			built.err = err
			return
		}
		built.bin = filepath.Join(dir, "bankd")
		built.out, built.err = exec.Command("go", "build", "-o", built.bin, ".").CombinedOutput()
	})
	if built.err != nil {
		t.Fatalf("go build: %v\n%s", built.err, built.out)
	}
	return built.bin
}

// process is a bankd started as a subprocess.
type process struct {
	cmd  *exec.Cmd
	addr string // host:port it listens on
	logs *bytes.Buffer
	done chan error
}

var listening = regexp.MustCompile(`^bankd listening on http://(\S+)`)

// startBankd starts bankd on a free port with args and env and waits
// for it to print its address.
func startBankd(t testing.TB, env []string, args ...string) *process {
	t.Helper()
	cmd := exec.Command(bankdBinary(t), append([]string{"-addr", "127.0.0.1:0"}, args...)...)
	cmd.Env = append(os.Environ(), env...)
	dieWithParent(cmd)
	p := &process{cmd: cmd, logs: &bytes.Buffer{}, done: make(chan error, 1)}
	cmd.Stderr = &lockedWriter{w: p.logs}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	lines := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		if sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
		for sc.Scan() {
		}
		p.done <- cmd.Wait()
	}()
	select {
	case line := <-lines:
		m := listening.FindStringSubmatch(line)
		if m == nil {
			cmd.Process.Kill()
			<-p.done // its logs are all written
			t.Fatalf("bankd printed %q first; logs:\n%s", line, p.logs)
		}
		p.addr = m[1]
	case <-time.After(60 * time.Second):
		cmd.Process.Kill()
		<-p.done
		t.Fatalf("bankd did not start; logs:\n%s", p.logs)
	}
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			cmd.Process.Kill()
			<-p.done
		}
	})
	return p
}

// stop sends SIGTERM and waits for a graceful exit (status 0).
func (p *process) stop(t testing.TB) {
	t.Helper()
	p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-p.done:
		if err != nil {
			t.Fatalf("bankd exited with %v after SIGTERM; logs:\n%s", err, p.logs)
		}
	case <-time.After(30 * time.Second):
		p.cmd.Process.Kill()
		t.Fatalf("bankd did not stop within 30 s of SIGTERM")
	}
}

// kill sends SIGKILL and waits for the process to exit.
func (p *process) kill() {
	p.cmd.Process.Signal(syscall.SIGKILL)
	<-p.done
}

type lockedWriter struct {
	mu sync.Mutex
	w  *bytes.Buffer
}

func (l *lockedWriter) Write(b []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(b)
}
