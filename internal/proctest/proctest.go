// Package proctest runs one test scenario from several OS processes at
// once, for races that only exist across processes: in-process locks,
// caches and group commits hide them within one.
//
// The test binary re-executes itself as the workers. A package registers
// its workers in TestMain:
//
//	func TestMain(m *testing.M) {
//		proctest.Main(map[string]proctest.Worker{"dup": dupWorker})
//		os.Exit(m.Run())
//	}
//
// and a test starts them with Run, one argument each. Every worker sets up
// (connects, builds its service), calls ready once, and waits there until
// all workers are ready; Run then releases them together, so their calls
// meet at the same instant, and returns each worker's result as JSON.
package proctest

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"time"

	"github.com/socialpay/socialpay/errcode"
)

// Worker is what a worker process runs: arg is the JSON its test passed,
// ready blocks until every worker of the run is ready, and the result is
// encoded as JSON for the test.
type Worker func(ctx context.Context, arg json.RawMessage, ready func()) (any, error)

const envWorker = "SOCIALPAY_PROCTEST_WORKER"

// Main runs the named worker and exits when this process was started by
// Run as a worker; otherwise it returns at once. Call it first in TestMain.
func Main(workers map[string]Worker) {
	name := os.Getenv(envWorker)
	if name == "" {
		return
	}
	w, ok := workers[name]
	if !ok {
		fmt.Fprintf(os.Stderr, "proctest: no worker %q\n", name)
		os.Exit(2)
	}
	os.Exit(serve(w, os.Stdin, os.Stdout))
}

// serve runs w on the protocol Run speaks: a line with the argument on
// in, "ready" on out, a line "go" on in, then "result <json>" or
// "error <text>" on out.
func serve(w Worker, in io.Reader, out io.Writer) int {
	r := bufio.NewReader(in)
	arg, err := r.ReadBytes('\n')
	if err != nil {
		fmt.Fprintf(os.Stderr, "proctest: reading argument: %v\n", err)
		return 2
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	released := false
	ready := func() {
		if released {
			return
		}
		released = true
		fmt.Fprintln(out, "ready")
		if line, err := r.ReadString('\n'); err != nil || strings.TrimSpace(line) != "go" {
			fmt.Fprintf(os.Stderr, "proctest: waiting to start: %q %v\n", line, err)
			os.Exit(2)
		}
	}
	res, err := w(ctx, json.RawMessage(arg), ready)
	ready() // a worker that failed before it was ready still releases the others
	if err != nil {
		fmt.Fprintf(out, "error %s\n", strings.ReplaceAll(err.Error(), "\n", " "))
		return 0
	}
	b, err := json.Marshal(res)
	if err != nil {
		fmt.Fprintf(out, "error encoding result: %v\n", err)
		return 0
	}
	fmt.Fprintf(out, "result %s\n", b)
	return 0
}

// ErrWorker is what a Result's Err wraps when its worker returned an
// error.
var ErrWorker = errcode.New("worker_failed", errcode.Internal, "proctest: worker failed")

// Result is one worker's answer: its result as JSON, or its error
// (wrapping ErrWorker).
type Result struct {
	JSON json.RawMessage
	Err  error
}

// Decode decodes the worker's result into v, or returns its error.
func (r Result) Decode(v any) error {
	if r.Err != nil {
		return r.Err
	}
	return json.Unmarshal(r.JSON, v)
}

// Run starts one worker process per argument, each running the worker
// registered as name with its argument (encoded as JSON), releases them
// together once all are ready, and returns their results in argument
// order. Workers' standard error goes to this process's.
//
// Errors: a process that cannot be started, dies, or breaks the protocol;
// the others are killed.
func Run(name string, args ...any) (_ []Result, err error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("proctest: %w", err)
	}
	type proc struct {
		cmd *exec.Cmd
		in  io.WriteCloser
		out *bufio.Reader
	}
	var procs []proc
	defer func() {
		if err != nil {
			for _, p := range procs {
				_ = p.cmd.Process.Kill()
				_ = p.cmd.Wait()
			}
		}
	}()
	for i, a := range args {
		arg, err := json.Marshal(a)
		if err != nil {
			return nil, fmt.Errorf("proctest: argument %d: %w", i, err)
		}
		cmd := exec.Command(exe, "-test.run=^$")
		cmd.Env = append(os.Environ(), envWorker+"="+name)
		cmd.Stderr = os.Stderr
		in, err := cmd.StdinPipe()
		if err != nil {
			return nil, err
		}
		out, err := cmd.StdoutPipe()
		if err != nil {
			return nil, err
		}
		if err := cmd.Start(); err != nil {
			return nil, fmt.Errorf("proctest: starting worker %d: %w", i, err)
		}
		procs = append(procs, proc{cmd: cmd, in: in, out: bufio.NewReader(out)})
		if _, err := fmt.Fprintf(in, "%s\n", arg); err != nil {
			return nil, fmt.Errorf("proctest: worker %d: %w", i, err)
		}
	}
	for i, p := range procs {
		if line, err := p.out.ReadString('\n'); err != nil || line != "ready\n" {
			return nil, fmt.Errorf("proctest: worker %d did not get ready: %q %v", i, line, err)
		}
	}
	for i, p := range procs {
		if _, err := io.WriteString(p.in, "go\n"); err != nil {
			return nil, fmt.Errorf("proctest: releasing worker %d: %w", i, err)
		}
	}
	results := make([]Result, len(procs))
	for i, p := range procs {
		line, err := p.out.ReadString('\n')
		if err != nil {
			return nil, fmt.Errorf("proctest: worker %d ended without a result: %w", i, err)
		}
		line = strings.TrimSuffix(line, "\n")
		switch {
		case strings.HasPrefix(line, "result "):
			results[i].JSON = json.RawMessage(strings.TrimPrefix(line, "result "))
		case strings.HasPrefix(line, "error "):
			results[i].Err = fmt.Errorf("%w: worker %d: %s", ErrWorker, i, strings.TrimPrefix(line, "error "))
		default:
			return nil, fmt.Errorf("proctest: worker %d: unexpected %q", i, line)
		}
	}
	for i, p := range procs {
		_ = p.in.Close()
		if err := p.cmd.Wait(); err != nil {
			return nil, fmt.Errorf("proctest: worker %d: %w", i, err)
		}
	}
	return results, nil
}
