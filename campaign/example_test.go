package campaign_test

import (
	"fmt"

	"github.com/socialpay/socialpay/campaign"
)

// The draw is fixed before the first try and anyone can check it: the
// bank publishes the commitment when the campaign opens and the seed after
// it closes.
func ExampleAudit() {
	s := campaign.Schedule{{Prize: 8888, Count: 1}, {Prize: 888, Count: 2}, {Prize: 0, Count: 7}}
	var seed campaign.Seed // the Service reads it from crypto/rand
	copy(seed[:], "a seed of thirty-two bytes......")
	commitment := campaign.Commit(seed) // published at opening

	d, _ := campaign.NewDraw(seed, s)
	var log []campaign.Try // the campaign's tries, slot by slot
	for slot := range d.PrizeEnd() {
		log = append(log, campaign.Try{Slot: slot, Prize: s[d.Tier(slot)].Prize})
	}
	fmt.Println("prizes won by the first", d.PrizeEnd(), "tries")
	fmt.Println("audit:", campaign.Audit(s, commitment, seed, log))
	log[0].Prize++
	fmt.Println("altered:", campaign.Audit(s, commitment, seed, log) != nil)
	// Output:
	// prizes won by the first 9 tries
	// audit: <nil>
	// altered: true
}
