package redpacket_test

import (
	"errors"
	"fmt"
	"math/rand/v2"

	"github.com/socialpay/socialpay/redpacket"
)

// A lucky packet of 100.00 CNY for 10 members of a 12-person group. A fixed
// seed makes the split reproducible; production code passes nil for
// crypto/rand.
func Example() {
	rules := redpacket.DefaultRules()
	total, err := rules.Check(redpacket.Lucky, 10000, 10, 12) // amounts in fen
	if err != nil {
		fmt.Println(err)
		return
	}
	seed := rand.NewChaCha8([32]byte([]byte("socialpay example seed, 32 bytes")))
	shares, err := rules.Shares(redpacket.Lucky, total, 10, seed)
	if err != nil {
		fmt.Println(err)
		return
	}
	var sum int64
	for i, s := range shares {
		fmt.Printf("claim %2d: %3d.%02d\n", i+1, s/100, s%100)
		sum += s
	}
	best, _ := redpacket.BestLuck(shares)
	fmt.Printf("sum %d.%02d, best luck: claim %d\n", sum/100, sum%100, best+1)
	// Output:
	// claim  1:  15.83
	// claim  2:   2.40
	// claim  3:   7.50
	// claim  4:   8.15
	// claim  5:   0.55
	// claim  6:  12.03
	// claim  7:  22.61
	// claim  8:   7.22
	// claim  9:  14.27
	// claim 10:   9.44
	// sum 100.00, best luck: claim 7
}

// The same packet split by line segments (stars and bars).
func ExampleLineSegment() {
	rules := redpacket.DefaultRules()
	rules.Splitter = redpacket.LineSegment{}
	seed := rand.NewChaCha8([32]byte([]byte("socialpay example seed, 32 bytes")))
	shares, err := rules.Shares(redpacket.Lucky, 10000, 10, seed)
	fmt.Println(shares, err)
	// Output:
	// [1241 239 1124 860 121 623 714 2383 2274 421] <nil>
}

// The creation check reports the first rule broken, as a sentinel error.
func ExampleRules_Check() {
	rules := redpacket.DefaultRules()
	_, err := rules.Check(redpacket.Lucky, 10, 15, 20) // 0.10 into 15 shares
	fmt.Println(errors.Is(err, redpacket.ErrShareTooSmall), err)
	_, err = rules.Check(redpacket.Lucky, 10000, 10, 8) // 10 shares, 8 members
	fmt.Println(errors.Is(err, redpacket.ErrCountExceedsGroup), err)
	total, err := rules.Check(redpacket.Normal, 520, 5, 8) // 5.20 each
	fmt.Println(total, err)
	// Output:
	// true redpacket: share below the minimum: total 10 minor units is less than 15 shares × 1 minor unit
	// true redpacket: more shares than possible claimers: 10 shares, 8 possible claimers
	// 2600 <nil>
}

func ExamplePasswordMatches() {
	phrase, _ := redpacket.NormalizePassword(" 恭喜发财，大吉大利 ")
	fmt.Printf("%q\n", phrase)
	fmt.Println(redpacket.PasswordMatches(phrase, "恭喜发财,大吉大利"))
	fmt.Println(redpacket.PasswordMatches(phrase, "恭喜发财"))
	// Output:
	// "恭喜发财,大吉大利"
	// true
	// false
}

func ExampleBestLuck() {
	claims := []int64{1250, 3300, 880, 3300, 1270} // in claim order
	i, _ := redpacket.BestLuck(claims)
	fmt.Println("best luck: claim", i+1)
	// Output:
	// best luck: claim 2
}
