package campaign_test

import "github.com/socialpay/socialpay/campaign"

// sched returns the schedule of (prize, count) pairs.
func sched(pairs ...int64) campaign.Schedule {
	var s campaign.Schedule
	for i := 0; i+1 < len(pairs); i += 2 {
		s = append(s, campaign.Tier{Prize: pairs[i], Count: int(pairs[i+1])})
	}
	return s
}
