package groupcommit_test

import (
	"context"
	"fmt"
	"sync"

	"github.com/socialpay/socialpay/internal/groupcommit"
)

// Callers that arrive while a batch is being applied join the next one;
// each gets its own answer. Here a batch doubles its requests, as a store
// would commit them in one transaction.
func ExampleQueue() {
	var life groupcommit.Lifetime
	defer life.Close()
	var mu sync.Mutex
	batches := 0
	q := groupcommit.New(groupcommit.Config[int, int]{
		Life: &life,
		Apply: func(_ context.Context, calls []*groupcommit.Call[int, int]) error {
			mu.Lock()
			batches++
			mu.Unlock()
			for _, c := range calls {
				c.Res = 2 * c.Req
			}
			return nil
		},
	})
	answers := make([]int, 5)
	var wg sync.WaitGroup
	for i := range answers {
		wg.Go(func() { answers[i], _ = q.Do(context.Background(), i+1) })
	}
	wg.Wait()
	mu.Lock()
	fmt.Println(answers, batches >= 1 && batches <= 5)
	mu.Unlock()
	// Output:
	// [2 4 6 8 10] true
}
