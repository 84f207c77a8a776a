// Package collect splits a bill (群收款 / AA收款): a requester asks the
// members of a group for their shares of a shared bill, and each member
// pays their share straight into the requester's account, on socialpay's
// ledger.
//
// Shares are an equal split or amounts per member. EqualSplit gives every
// member the same number of minor units, and the remainder to the first
// members in the stated order: 100.00 / 3 = 33.34 + 33.33 + 33.33. The
// requester may take part: their own share is part of the split (and
// takes the remainder first if they are listed first) but is never
// collected.
//
// # The pure core
//
// Rules (DefaultRules: at most 100 members, a share of 0.01–50,000.00, open
// 24 hours) with Rules.Check, and Request with its transitions CheckPay,
// RecordPaid, Decline, Close, Expire, Remind and MarkReconciled: the only
// code that decides what a request may do next. Every Store calls them
// with the request locked.
package collect
