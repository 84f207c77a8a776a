// Package maintain runs the periodic work of socialpay's features on a
// schedule: expiring holds, refunding expired red packets, landing delayed
// transfers, sweeping campaigns, points and bills, and reconciling what a
// crash left half done.
//
// Every feature service, and the ledger, has one entry point for it,
// Maintain(ctx, now), which does all of that feature's periodic work in a
// documented order, goes on past the items that fail, and returns a report
// that reads as JSON with snake_case names. TaskOf names one as a Task;
// a Runner runs its tasks one after the other, in rounds, every Interval
// (plus a random Jitter, so that instances started together drift apart):
//
//	r, err := maintain.New(maintain.Config{
//		Tasks: []maintain.Task{
//			maintain.TaskOf("ledger", l),
//			maintain.TaskOf("redpacket", packets),
//			maintain.TaskOf("transfer", phones),
//		},
//		Logger: logger,
//	})
//	r.Start(ctx)
//	defer r.Close() // before the DB closes
//
// Last returns the latest result of each task, for a readiness or metrics
// endpoint; RunOnce runs a round now and returns it (tests, tools, a
// command-line sweep).
//
// # Many instances
//
// Run a Runner on every instance: correctness never depends on a single
// one. Each feature's steps are idempotent — a packet is refunded once, a
// hold resolved once, whoever runs first — so racing rounds do each item
// once between them and their counts add up. A Lease only saves the
// duplicate work: with postgres.TaskLease an instance skips a task while
// another one runs it (a PostgreSQL advisory lock per task and schema);
// without a Lease, as in memory, every instance runs every task.
//
// # River
//
// A service that already runs River (github.com/riverqueue/river) can
// schedule the same work as periodic jobs instead of a Runner: one job
// kind per task, added with river.NewPeriodicJob(river.PeriodicInterval(
// time.Minute), …) to the client's PeriodicJobs, whose worker's Work calls
// the service's Maintain(ctx, time.Now()) and returns its error (River
// retries it; a retry is safe). River's leader inserts periodic jobs, so
// one instance works each round; the library needs nothing of River.
package maintain
