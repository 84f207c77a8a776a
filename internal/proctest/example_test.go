package proctest_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"testing"

	"github.com/socialpay/socialpay/internal/proctest"
)

func TestMain(m *testing.M) {
	proctest.Main(map[string]proctest.Worker{
		"square": func(_ context.Context, arg json.RawMessage, ready func()) (any, error) {
			var n int
			if err := json.Unmarshal(arg, &n); err != nil {
				return nil, err
			}
			ready() // every worker is set up: go together
			if n < 0 {
				return nil, fmt.Errorf("negative %d", n)
			}
			return n * n, nil
		},
		"pid": func(_ context.Context, _ json.RawMessage, ready func()) (any, error) {
			ready()
			return os.Getpid(), nil
		},
	})
	os.Exit(m.Run())
}

func ExampleRun() {
	results, err := proctest.Run("square", 3, 4, -1)
	if err != nil {
		panic(err)
	}
	for _, r := range results {
		var square int
		if err := r.Decode(&square); err != nil {
			fmt.Println(err)
			continue
		}
		fmt.Println(square)
	}
	// Output:
	// 9
	// 16
	// proctest: worker failed: worker 2: negative -1
}

// Workers are processes of their own, one per argument.
func TestRunSeparateProcesses(t *testing.T) {
	results, err := proctest.Run("pid", nil, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[int]bool{os.Getpid(): true}
	for i, r := range results {
		var pid int
		if err := r.Decode(&pid); err != nil {
			t.Fatal(err)
		}
		if seen[pid] {
			t.Fatalf("worker %d ran in process %d, already seen", i, pid)
		}
		seen[pid] = true
	}
}

func TestRunUnknownWorker(t *testing.T) {
	if _, err := proctest.Run("nobody", 1); err == nil {
		t.Fatal("a worker nobody registered ran")
	}
}
